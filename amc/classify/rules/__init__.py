"""Tier 0, the rules classifier: labels from a librarian's reading of the hit sentences.

It is the offline default and the first stage of the later tiers, so it is
built to be honest about how sure it is: every pair gets a confidence per
label, and the cascade sends the unsure ones to a stronger tier.

Decision, in order:
1. ``NONE`` pairs (tied to no telescope) are all-false.
2. No real hit (only traps, homonyms, grants, shared terms, or nothing): not_telescope.
3. Science counts only the paper's own data use with this telescope
   (``amc.classify.rules.reading``: first-person or uncited data-use sentences,
   programme ids and DOIs nearer this telescope than any other); sentences citing
   others, about another telescope, or forecasting are mention evidence;
   instrument, filter and grating names support a data-use sentence and are no
   evidence alone; being named in the title or abstract helps only a paper that
   says "we"/"our" about its data.
4. Instrumentation needs a paper framed as being about an instrument, its
   software or its data quality (``amc.classify.rules.framing``), and this
   telescope among those it is built for: named up front, or several technical,
   uncited, present-tense sentences. Its cue counts are not capped. A worked
   example in a software paper is not science; a science paper's own data
   reduction is not instrumentation.
5. Neither: a mention.
The features are public (``rule_features``) so the trained tier can learn from
them instead of from these hand-set weights.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from amc.classify.rules.framing import (
    Framing,
    example_sections,
    named_up_front,
    paper_framing,
)
from amc.classify.rules.quotes import evidence_quotes, reason_text
from amc.classify.rules.reading import Context, Reading, read_snippets
from amc.domain.errors import AmcError
from amc.domain.models import (
    NONE_TELESCOPE,
    Classification,
    Label,
    LabelConfidence,
    Pair,
    Snippet,
    TelescopeLabels,
)
from amc.links import pair_links
from amc.registry import Registry, Telescope
from amc.settings import Settings
from amc.snippets import pair_snippets

__all__ = [
    "TIER", "RuleFeatures", "classify_rules", "classify_with_rules", "decide", "probabilities",
    "rule_features",
]  # fmt: skip

log = logging.getLogger(__name__)

TIER = "rules"
#: science threshold for a pair already judged instrumentation
SCIENCE_WITH_INSTRUMENTATION = 0.85
#: technical sentences that show a software paper is built for a telescope it does not
#: name in its title or abstract
BUILT_FOR_SENTENCES = 2


@dataclass(frozen=True)
class RuleFeatures:
    """Counts the rules tier decides from (all zero for a pair with no hits)."""

    real_hits: int = 0
    false_positive_hits: int = 0
    grant_hits: int = 0
    shared_hits: int = 0
    package_hits: int = 0
    instruments_named: int = 0
    title_hit: int = 0
    abstract_hit: int = 0
    acknowledgment_hit: int = 0
    named_up_front: int = 0
    own_use_sentences: int = 0
    own_use_strength: float = 0.0
    first_person_sentences: int = 0
    acknowledged_use: int = 0
    strong_evidence: int = 0
    supporting_names: int = 0
    cited_use_sentences: int = 0
    other_telescope_sentences: int = 0
    future_sentences: int = 0
    example_sentences: int = 0
    package_only_sentences: int = 0
    built_for_sentences: int = 0
    mention_cues: int = 0
    instrumentation_cues: int = 0
    pipeline_cues: int = 0
    instrumentation_patterns: int = 0
    framing_instrumentation: int = 0
    framing_results: int = 0
    software_paper: int = 0
    text_chars: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _read(
    pair: Pair, snippets: Sequence[Snippet], telescope: Telescope, registry: Registry
) -> tuple[RuleFeatures, Reading]:
    framing = paper_framing(pair.paper, registry.cues, telescope)
    software = framing.software_paper
    context = Context(
        telescope=telescope,
        registry=registry,
        software_paper=software,
        example_spans=example_sections(pair.paper, registry.cues) if software else {},
    )
    reading = read_snippets(snippets, context)
    return _features(pair, snippets, reading, framing), reading


def rule_features(
    pair: Pair, snippets: Sequence[Snippet], telescope: Telescope, registry: Registry
) -> RuleFeatures:
    """The features of one pair (also used as inputs by the trained tier)."""
    return _read(pair, snippets, telescope, registry)[0]


def _features(
    pair: Pair, snippets: Sequence[Snippet], r: Reading, framing: Framing
) -> RuleFeatures:
    hits = [h for s in snippets for h in s.hits]
    real = [h for h in hits if h.is_real and not h.shared]
    return RuleFeatures(
        real_hits=len(real),
        false_positive_hits=sum(h.kind == "false_positive" for h in hits),
        grant_hits=sum(h.kind == "grant" for h in hits),
        shared_hits=sum(h.shared for h in hits),
        package_hits=sum(h.package for h in real),
        instruments_named=len({h.term for h in real if h.kind == "instrument"}),
        title_hit=int(any(h.field == "title" for h in real)),
        abstract_hit=int(any(h.field == "abstract" for h in real)),
        acknowledgment_hit=int(any(h.field == "acknowledgments" for h in real)),
        named_up_front=int(named_up_front(pair.paper, list(snippets))),
        own_use_sentences=r.own_use,
        own_use_strength=round(r.strength, 2),
        first_person_sentences=r.first_person,
        acknowledged_use=r.acknowledged,
        strong_evidence=r.strong,
        supporting_names=r.support,
        cited_use_sentences=r.cited_use,
        other_telescope_sentences=r.other_use,
        future_sentences=r.future,
        example_sentences=r.example,
        package_only_sentences=r.package_only,
        built_for_sentences=r.built_for,
        mention_cues=r.mention_cues,
        instrumentation_cues=r.instrumentation_cues,
        pipeline_cues=r.pipeline_cues,
        instrumentation_patterns=r.instrumentation_patterns,
        framing_instrumentation=framing.instrumentation if real else 0,
        framing_results=framing.results if real else 0,
        software_paper=int(framing.software_paper) if real else 0,
        text_chars=pair.paper.char_count,
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _log(n: float) -> float:
    return math.log1p(max(n, 0.0))


def probabilities(f: RuleFeatures) -> LabelConfidence:
    """Hand-set logistic scores; the trained tier replaces them with fitted ones."""
    if f.real_hits == 0:
        p_real = 0.1 if f.false_positive_hits + f.grant_hits else 0.3
        return LabelConfidence(mention=p_real, not_telescope=round(1.0 - p_real, 4))
    p_science = _sigmoid(_science_score(f))
    p_instr = _sigmoid(_instrumentation_score(f))
    p_real = _sigmoid(
        0.4 + 1.2 * min(f.real_hits, 5) - 0.5 * min(f.false_positive_hits + f.grant_hits, 5)
        - 0.8 * (f.package_hits == f.real_hits)
    )  # fmt: skip
    p_mention = p_real * (1.0 - max(p_science, p_instr))
    return LabelConfidence(
        science=round(p_science, 4),
        instrumentation=round(p_instr, 4),
        mention=round(p_mention, 4),
        not_telescope=round(1.0 - p_real, 4),
    )


def _science_score(f: RuleFeatures) -> float:
    """Own data use is the evidence (each sentence weighed by ``sentence_strength``: one
    plain data-use sentence is not enough, a first-person one or one with a programme id
    is); prominence (title/abstract, many hits, instruments) backs it only when the paper
    says "we"/"our" about its data."""
    evidence = 1.6 * _log(f.own_use_strength) + 1.2 * _log(f.acknowledged_use)
    support = 0.0
    if f.first_person_sentences:
        support = (
            0.4 + 0.6 * f.named_up_front + 0.25 * _log(f.real_hits)
            + 0.2 * min(f.instruments_named, 3)
        )  # fmt: skip
    others = (
        0.5 * _log(f.cited_use_sentences)
        + 0.3 * _log(f.other_telescope_sentences)
        + 0.3 * _log(f.future_sentences)
        + 0.15 * _log(f.mention_cues)
    )
    return -1.55 + evidence + support - others


def _instrumentation_score(f: RuleFeatures) -> float:
    """A paper about the instrument, its software or its data quality, built for this
    telescope; counts are log-scaled, never capped, so many cues always tell."""
    if not f.software_paper:
        return -4.0 + 0.2 * _log(f.instrumentation_cues + f.pipeline_cues)
    built_for = f.named_up_front or f.built_for_sentences >= BUILT_FOR_SENTENCES
    technical = f.instrumentation_cues + f.pipeline_cues + f.instrumentation_patterns
    return (
        -3.0
        + 1.2 * _log(f.framing_instrumentation)
        - 0.8 * _log(f.framing_results)
        + 0.6 * _log(technical)
        + 0.5 * _log(f.built_for_sentences + f.example_sentences)
        + (1.5 if built_for else -1.5)
        - 0.3 * _log(f.future_sentences)
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
    features, reading = _read(pair, snippets, telescope, registry)
    conf = probabilities(features)
    labels = decide(features, conf)
    return Classification(
        **base,
        labels=labels,
        confidence=conf,
        evidence=evidence_quotes(snippets, reading.quotes),
        links=pair_links(pair, labels, registry, snippets),
        reason=reason_text(features, labels, [h.text for s in snippets for h in s.real_hits][:6]),
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
