"""Tier 0, the rules classifier: labels from snippets, registry patterns and cue phrases.

It is the offline default and the first stage of the later tiers, so it is
built to be honest about how sure it is: every pair gets a confidence per
label, and the cascade sends the unsure ones to a stronger tier.

Decision, in order:
1. ``NONE`` pairs (tied to no telescope) are all-false.
2. No real hit (only traps, grants, shared terms, or nothing): not_telescope.
3. Otherwise science and instrumentation are scored from cue phrases near
   the hits and the telescope's own patterns (programme ids, DOIs, filter
   names, calibration words); if neither passes, the pair is a mention.
The features are public (``rule_features``) so the trained tier can learn
from them instead of from these hand-set weights.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from amc.domain.errors import AmcError
from amc.domain.models import (
    NONE_TELESCOPE,
    Classification,
    Evidence,
    Label,
    LabelConfidence,
    Pair,
    Snippet,
    TelescopeLabels,
)
from amc.registry import Registry, Telescope
from amc.registry.patterns import PatternUnion
from amc.settings import Settings
from amc.snippets import pair_snippets

log = logging.getLogger(__name__)

TIER = "rules"
#: at most this many characters either side of a hit count as its sentence
NEAR_CHARS = 300
MAX_EVIDENCE = 3
#: science threshold for a pair already judged instrumentation
SCIENCE_WITH_INSTRUMENTATION = 0.85


@dataclass(frozen=True)
class RuleFeatures:
    """Counts the rules tier decides from (all zero for a pair with no hits)."""

    real_hits: int = 0
    false_positive_hits: int = 0
    grant_hits: int = 0
    shared_hits: int = 0
    instruments_named: int = 0
    title_hit: int = 0
    abstract_hit: int = 0
    acknowledgment_hit: int = 0
    science_cues: int = 0
    science_patterns: int = 0
    instrumentation_cues: int = 0
    instrumentation_patterns: int = 0
    instrumentation_title_abstract: int = 0
    mention_cues: int = 0
    best_snippet_science: float = 0.0
    text_chars: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class _SnippetScore:
    snippet: Snippet
    science: float
    science_cues: int
    science_patterns: int
    instrumentation_cues: int
    instrumentation_patterns: int
    mention_cues: int


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _near_count(pattern: PatternUnion | None, snippet: Snippet) -> int:
    """Distinct matches of ``pattern`` inside the sentences that hold a real hit.

    The sentence, not a character distance: "We observed with HST. Future JWST
    spectra will ..." must not lend HST's evidence to JWST.
    """
    if pattern is None:
        return 0
    spans = _hit_sentences(snippet)
    return sum(
        1 for start, _ in pattern.spans(snippet.text) if any(a <= start < b for a, b in spans)
    )


def _count(pattern: PatternUnion | None, snippet: Snippet) -> int:
    return 0 if pattern is None else pattern.count(snippet.text)


def _hit_sentences(snippet: Snippet) -> list[tuple[int, int]]:
    spans = []
    for hit in snippet.real_hits:
        start, end = hit.start - snippet.start, hit.end - snippet.start
        spans.append(_quote_span(snippet, start, end, reach=NEAR_CHARS))
    return spans


def _score_snippet(snippet: Snippet, telescope: Telescope, registry: Registry) -> _SnippetScore:
    cues = registry.cues.compiled
    comp = telescope.compiled
    sci = _near_count(cues["science"], snippet)
    sci_pat = _near_count(comp.science, snippet)
    # what a paper is *about* shows across its windows, not in the hit's sentence alone
    inst = _count(cues["instrumentation"], snippet)
    inst_pat = _count(comp.instrumentation, snippet)
    men = _near_count(cues["mention"], snippet)
    # a long merged window full of citations and future tense is a mention even when a
    # few science phrases occur in it, hence the larger cap on the mention side
    score = 0.9 * min(sci, 4) + 0.6 * min(sci_pat, 4) - 0.35 * min(men, 12)
    return _SnippetScore(snippet, score, sci, sci_pat, inst, inst_pat, men)


def rule_features(
    pair: Pair, snippets: Sequence[Snippet], telescope: Telescope, registry: Registry
) -> RuleFeatures:
    """The features of one pair (also used as inputs by the trained tier)."""
    scored = [_score_snippet(s, telescope, registry) for s in snippets if s.real_hits]
    return _features(pair, snippets, scored, registry)


def _features(
    pair: Pair, snippets: Sequence[Snippet], scored: list[_SnippetScore], registry: Registry
) -> RuleFeatures:
    hits = [h for s in snippets for h in s.hits]
    real = [h for h in hits if h.is_real and not h.shared]
    return RuleFeatures(
        real_hits=len(real),
        false_positive_hits=sum(h.kind == "false_positive" for h in hits),
        grant_hits=sum(h.kind == "grant" for h in hits),
        shared_hits=sum(h.shared for h in hits),
        instruments_named=len({h.term for h in real if h.kind == "instrument"}),
        title_hit=int(any(h.field == "title" for h in real)),
        abstract_hit=int(any(h.field == "abstract" for h in real)),
        acknowledgment_hit=int(any(h.field == "acknowledgments" for h in real)),
        science_cues=sum(s.science_cues for s in scored),
        science_patterns=sum(s.science_patterns for s in scored),
        instrumentation_cues=sum(s.instrumentation_cues for s in scored),
        instrumentation_patterns=sum(s.instrumentation_patterns for s in scored),
        instrumentation_title_abstract=_title_abstract_cues(pair, registry) if real else 0,
        mention_cues=sum(s.mention_cues for s in scored),
        best_snippet_science=max((s.science for s in scored), default=0.0),
        text_chars=pair.paper.char_count,
    )


def _title_abstract_cues(pair: Pair, registry: Registry) -> int:
    pattern = registry.cues.compiled["instrumentation"]
    if pattern is None:
        return 0
    text = f"{pair.paper.title}\n{pair.paper.abstract}"
    return pattern.count(text)


def probabilities(f: RuleFeatures) -> LabelConfidence:
    """Hand-set logistic scores; the trained tier replaces them with fitted ones."""
    named_up_front = f.title_hit or f.abstract_hit
    # prominence (title/abstract, many hits, instruments) supports evidence of data use
    # but is none itself: a paper listing JWST's instruments in its outlook is a mention
    support = 0.5 * named_up_front + 0.3 * math.log1p(f.real_hits)
    support += 0.35 * min(f.instruments_named, 3)
    evidence = f.best_snippet_science
    p_science = _sigmoid(
        -1.0 + evidence + (support if evidence > 0 else 0.0) - 0.1 * min(f.mention_cues, 10)
    )
    p_instr = _sigmoid(
        -4.0
        + 1.1 * min(f.instrumentation_title_abstract, 3) * named_up_front
        + 0.35 * min(f.instrumentation_cues, 6)
        + 0.5 * min(f.instrumentation_patterns, 3)
        + 0.6 * f.title_hit
        - 0.08 * min(f.mention_cues, 10)
    )
    p_real = _sigmoid(
        0.4 + 1.2 * min(f.real_hits, 5) - 0.5 * min(f.false_positive_hits + f.grant_hits, 5)
    )
    if f.real_hits == 0:
        p_real = 0.1 if f.false_positive_hits + f.grant_hits else 0.3
    if f.real_hits == 0:
        p_science = p_instr = 0.0
    p_mention = p_real * (1.0 - max(p_science, p_instr))
    return LabelConfidence(
        science=round(p_science, 4),
        instrumentation=round(p_instr, 4),
        mention=round(p_mention, 4),
        not_telescope=round(1.0 - p_real, 4),
    )


def decide(f: RuleFeatures, conf: LabelConfidence) -> TelescopeLabels:
    if f.real_hits == 0:
        return TelescopeLabels.only(Label.not_telescope)
    instrumentation = conf.instrumentation >= 0.5
    # a paper about the instrument is science too only on clear evidence of new results
    science = conf.science >= (SCIENCE_WITH_INSTRUMENTATION if instrumentation else 0.5)
    if science or instrumentation:
        return TelescopeLabels(science=science, instrumentation=instrumentation)
    return TelescopeLabels.only(Label.mention)


def classify_rules(
    pair: Pair, snippets: Sequence[Snippet], telescope: Telescope | None, registry: Registry
) -> Classification:
    """Classify one pair from its snippets. ``telescope`` is None for ``NONE`` pairs."""
    base = {
        "pair_id": pair.pair_id,
        "bibcode": pair.paper.bibcode,
        "telescope": pair.telescope,
        "tier": TIER,
        "registry_hash": registry.content_hash,
        "n_snippets": len(snippets),
        "gold": pair.gold,
        "source": pair.paper.source,
    }
    if telescope is None or pair.telescope == NONE_TELESCOPE:
        return Classification(
            **base,
            labels=TelescopeLabels(),
            confidence=LabelConfidence(),
            reason="NONE pair: tied to no telescope, all labels false",
        )
    scored = [_score_snippet(s, telescope, registry) for s in snippets if s.real_hits]
    features = _features(pair, snippets, scored, registry)
    conf = probabilities(features)
    labels = decide(features, conf)
    return Classification(
        **base,
        labels=labels,
        confidence=conf,
        evidence=_evidence(snippets, scored),
        reason=_reason(features, labels),
    )


def classify_with_rules(
    pair: Pair,
    registry: Registry,
    settings: Settings,
    snippets: list[Snippet] | None = None,
) -> Classification:
    """Classify one pair with the rules tier (``snippets`` when the caller already has
    them), timed; never raises for a bad pair: it becomes a failed classification."""
    started = time.perf_counter()
    try:
        if snippets is None:
            snippets = pair_snippets(pair, registry, settings)
        telescope = None if pair.telescope == NONE_TELESCOPE else registry.get(pair.telescope)
        result = classify_rules(pair, snippets, telescope, registry)
    except AmcError as exc:
        result = _failed(pair, exc)
    except Exception as exc:  # one broken pair must not stop a batch
        log.exception("unexpected error classifying %s", pair.pair_id)
        result = _failed(pair, exc)
    result.elapsed_s = round(time.perf_counter() - started, 6)
    return result


def _failed(pair: Pair, exc: Exception) -> Classification:
    return Classification.failed(
        pair.pair_id, pair.paper.bibcode, pair.telescope, exc, gold=pair.gold,
        source=pair.paper.source,
    )  # fmt: skip


def _reason(f: RuleFeatures, labels: TelescopeLabels) -> str:
    if f.real_hits == 0:
        if f.false_positive_hits or f.grant_hits:
            return (
                f"no real reference: {f.false_positive_hits} trap hit(s) "
                f"(e.g. a constant or person's name) and {f.grant_hits} grant/fellowship hit(s)"
            )
        if f.shared_hits:
            return "only terms shared with other telescopes were found"
        return "the telescope is not named in the paper's text"
    return (
        f"{labels.primary}: {f.real_hits} real hit(s), {f.instruments_named} instrument(s); "
        f"cues near hits: science {f.science_cues}+{f.science_patterns} patterns, "
        f"instrumentation {f.instrumentation_cues}+{f.instrumentation_patterns}, "
        f"mention {f.mention_cues}; traps {f.false_positive_hits}, grants {f.grant_hits}"
    )


def _evidence(snippets: Sequence[Snippet], scored: list[_SnippetScore]) -> list[Evidence]:
    """Quote the sentence around the first hit of the most telling snippets: real hits
    with the most science evidence first, else the traps and grants."""
    if scored:
        ranked = [s.snippet for s in sorted(scored, key=lambda s: s.science, reverse=True)]
    else:
        ranked = list(snippets)
    out = []
    for snippet in ranked[:MAX_EVIDENCE]:
        hit = (snippet.real_hits or snippet.hits)[0]
        start, end = _quote_span(snippet, hit.start - snippet.start, hit.end - snippet.start)
        out.append(
            Evidence(
                quote=snippet.text[start:end],
                field=snippet.field,
                start=snippet.start + start,
                end=snippet.start + end,
                verified=True,
            )
        )
    return out


_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\s*\n")


def _quote_span(snippet: Snippet, start: int, end: int, reach: int = 220) -> tuple[int, int]:
    """Grow [start, end) to the enclosing sentence, at most ``reach`` characters each way."""
    text = snippet.text
    left = max(0, start - reach)
    ends = [m.end() for m in _SENTENCE_END.finditer(text, left, start)]
    lo = ends[-1] if ends else left
    m = _SENTENCE_END.search(text, end, min(len(text), end + reach))
    hi = m.end() if m else _word_end(text, min(len(text), end + reach))
    if not ends and lo > 0:  # no sentence start in reach: do not begin mid-word either
        lo = _word_start(text, lo, start)
    while lo < start and text[lo].isspace():
        lo += 1
    return lo, max(hi, end)


def _word_end(text: str, pos: int) -> int:
    while pos < len(text) and not text[pos].isspace():
        pos += 1
    return pos


def _word_start(text: str, pos: int, limit: int) -> int:
    while pos < limit and not text[pos - 1].isspace():
        pos += 1
    return pos
