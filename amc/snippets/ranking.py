"""Rank a pair's snippets locally and pick the few that go into the prompt.

The reference tool asked a small LLM about every snippet; here a lexical
score does that job for free: real hits (not traps, not shared terms),
science and instrumentation cues, and the field (title and abstract say what
a paper is about; acknowledgments say whose data it used). Snippets whose
hits are all known false positives or grants go to the end, but one of them
is always kept so the model can see that, say, every "Hubble" is the Hubble
constant or a fellowship.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

from amc.domain.models import Snippet
from amc.registry import Cues, Telescope
from amc.registry.counting import count_each, prepare_counts
from amc.registry.patterns import PatternUnion

FIELD_WEIGHT = {"title": 3.0, "abstract": 2.0, "acknowledgments": 1.5, "body": 1.0, "grants": 0.5}

#: generic evidence words used when the registry has no cues (case-insensitive)
_GENERIC_SCIENCE = re.compile(
    r"\b(?:we\s+(?:observed|obtained|used|analy[sz]ed|reduced)|observations?\s+(?:were|was)"
    r"|archival|exposure|data\s+(?:were|was|from)|proposal|program(?:me)?\s+(?:id|\d)|obsid)\b",
    re.I,
)
_GENERIC_MENTION = re.compile(r"\b(?:will|future|previous(?:ly)?|e\.g\.|could|proposed)\b", re.I)
#: pushes false-positive/grant-only snippets below every snippet with a real hit
_NOT_REAL_PENALTY = 100.0


def rank_snippets(
    snippets: Sequence[Snippet], telescope: Telescope, cues: Cues | None = None
) -> list[Snippet]:
    """The snippets sorted best first, each with its ``score`` set."""
    scored = [s.model_copy(update={"score": _score(s, telescope, cues)}) for s in snippets]
    return sorted(scored, key=lambda s: -s.score)


def _score(snippet: Snippet, telescope: Telescope, cues: Cues | None) -> float:
    real = snippet.real_hits
    score = min(len(real), 3) * 2.0 + sum(1.0 for h in real if h.kind == "alias")
    weights, patterns = zip(*_weighted(telescope, cues), strict=True)
    score += sum(w * n for w, n in zip(weights, _counts(list(patterns), snippet.text),
                                       strict=True))  # fmt: skip
    score *= FIELD_WEIGHT.get(snippet.field, 1.0)
    if not real:
        score -= _NOT_REAL_PENALTY
    return score


def _weighted(
    telescope: Telescope, cues: Cues | None
) -> tuple[tuple[float, PatternUnion | re.Pattern[str] | None], ...]:
    """The cue lists a snippet's score counts, each with its weight."""
    compiled = cues.unions if cues is not None else {}
    return (
        (3.0, telescope.compiled.science),
        (3.0, telescope.compiled.instrumentation),
        (1.5, compiled.get("science") or _GENERIC_SCIENCE),
        (1.5, compiled.get("instrumentation")),
        (0.5, compiled.get("mention") or _GENERIC_MENTION),
    )


def prepare_ranking(telescope: Telescope, cues: Cues | None) -> None:
    """Compile the one scan that counts ``telescope``'s cue lists (``count_each``) now:
    a worker's first papers would pay for it otherwise (~50 ms a telescope)."""
    prepare_counts([p for _, p in _weighted(telescope, cues) if isinstance(p, PatternUnion)])


#: matches counted per list, so one long listing of filter names cannot outweigh the rest
COUNT_CAP = 3


def _counts(patterns: list[PatternUnion | re.Pattern[str] | None], text: str) -> list[int]:
    """Each pattern's matches in ``text``, at most ``COUNT_CAP``; the registry's unions
    counted together (``count_each``: one scan for those that allow it)."""
    unions = [p for p in patterns if isinstance(p, PatternUnion)]
    counted = iter(count_each(unions, text, COUNT_CAP))
    return [
        0 if p is None
        else next(counted) if isinstance(p, PatternUnion)
        else sum(1 for _ in islice(p.finditer(text), COUNT_CAP))
        for p in patterns
    ]  # fmt: skip


def select_snippets(
    ranked: Sequence[Snippet], max_snippets: int, max_chars: int, max_total_chars: int
) -> list[Snippet]:
    """The best ``max_snippets`` (each cut to ``max_chars`` around its hits, all together
    within ``max_total_chars``), keeping one trap/grant-only snippet when there is one."""
    real = [s for s in ranked if s.real_hits]
    other = [s for s in ranked if not s.real_hits]
    chosen = real[: max_snippets - 1] if other else real[:max_snippets]
    chosen += other[: max_snippets - len(chosen)]
    cut = [trim_snippet(s, max_chars) for s in chosen]
    kept: list[Snippet] = []
    total = 0
    for snippet in cut:
        if kept and total + len(snippet.text) > max_total_chars:
            break
        kept.append(snippet)
        total += len(snippet.text)
    return kept


def trim_snippet(snippet: Snippet, max_chars: int) -> Snippet:
    """The snippet cut to at most ``max_chars`` around its first real hit (else its first
    hit), on word boundaries, with offsets still pointing into the original field."""
    if len(snippet.text) <= max_chars:
        return snippet
    anchors = snippet.real_hits or snippet.hits
    anchor = anchors[0].start - snippet.start if anchors else 0
    lo = max(0, min(anchor - max_chars // 3, len(snippet.text) - max_chars))
    hi = lo + max_chars
    text = snippet.text
    # move inwards to whitespace so no word is cut in half
    while lo > 0 and lo < hi and not text[lo - 1].isspace():
        lo += 1
    while hi < len(text) and hi > lo and not text[hi].isspace():
        hi -= 1
    start, end = snippet.start + lo, snippet.start + hi
    hits = [h for h in snippet.hits if start <= h.start and h.end <= end]
    return snippet.model_copy(
        update={"start": start, "end": end, "text": text[lo:hi], "hits": hits}
    )
