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
    text = snippet.text
    real = snippet.real_hits
    score = min(len(real), 3) * 2.0 + sum(1.0 for h in real if h.kind == "alias")
    science, instrument = telescope.compiled.science, telescope.compiled.instrumentation
    compiled = cues.unions if cues is not None else {}
    score += 3.0 * _count(science, text) + 3.0 * _count(instrument, text)
    score += 1.5 * _count(compiled.get("science") or _GENERIC_SCIENCE, text)
    score += 1.5 * _count(compiled.get("instrumentation"), text)
    score += 0.5 * _count(compiled.get("mention") or _GENERIC_MENTION, text)
    score *= FIELD_WEIGHT.get(snippet.field, 1.0)
    if not real:
        score -= _NOT_REAL_PENALTY
    return score


def _count(pattern: PatternUnion | re.Pattern[str] | None, text: str) -> int:
    # capped so one long listing of filter names cannot outweigh everything else
    if pattern is None:
        return 0
    if isinstance(pattern, PatternUnion):
        return pattern.count(text, cap=3)
    return sum(1 for _ in islice(pattern.finditer(text), 3))


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
