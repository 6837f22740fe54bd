"""Reading a pair's hit sentences the way a librarian does: whose data is this?

Every sentence holding a real hit of the telescope is read once and given one
class, in this order:

- *package*: its only hits name software called after the telescope (WebbPSF):
  a real reference, no evidence of data use;
- *example*: in a software or instrument paper, a worked example or tutorial (a
  sentence with a demonstration phrase, or one under an "Example"/"Usage"
  heading), or data used with instrument, pipeline or calibration words (the
  data the paper's method is tested or calibrated on): it shows what the paper
  is built for, not new science;
- *future*: a forecast, plan or simulation: a mention;
- *own use*: a data-use phrase, programme id or DOI about this telescope
  (nearer its name than any other telescope's), in a sentence that cites no one
  or says "we"/"our": the paper's own data use. Filter, grating and instrument
  names add to such a sentence but never make one;
- *acknowledged*: the same in the acknowledgments, or an acknowledgment formula
  anywhere ("This work is based on observations made with ..."): strong, but
  boiler-plate is not enough alone;
- *cited use*: the same in a sentence citing others ("observed by Smith et al.
  with HST", "<cit.> used ...", a ``{key}`` leftover): others' results, a mention;
  first person keeps a sentence ours ("we combine our cubes with archival HST
  imaging <cit.>") unless it says whose data they are ("the HST photometry of
  <cit.>"), where only a re-analysis stays ours ("we re-processed the data
  first presented by <cit.>");
- *other use*: a data-use phrase about another telescope named in the sentence.

Each class is counted; the counts are the rules tier's features.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from amc.classify.rules.sentences import (
    Span,
    attributed,
    clause_of,
    count,
    count_outside,
    has,
    hit_sentences,
    local_span,
    name_groups,
    names_in,
    spans,
)
from amc.domain.models import Hit, Snippet
from amc.registry import Registry, Telescope


@dataclass
class Reading:
    """What a pair's hit sentences say, counted by class (see the module docstring)."""

    own_use: int = 0
    first_person: int = 0
    #: own use stated in the acknowledgments ("based on observations made with ...")
    acknowledged: int = 0
    #: summed ``sentence_strength`` of the own-use sentences
    strength: float = 0.0
    strong: int = 0
    support: int = 0
    cited_use: int = 0
    other_use: int = 0
    future: int = 0
    example: int = 0
    package_only: int = 0
    #: sentences naming the telescope with technical words, neither cited nor future:
    #: in a software paper, what it is built to process
    built_for: int = 0
    mention_cues: int = 0
    instrumentation_cues: int = 0
    pipeline_cues: int = 0
    instrumentation_patterns: int = 0
    #: (weight, snippet, start, end) of own-use sentences, for evidence quotes
    quotes: list[tuple[float, Snippet, int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What the reading needs besides the snippet: patterns and the paper's framing."""

    telescope: Telescope
    registry: Registry
    software_paper: bool
    #: example-section spans per field (offsets into the field)
    example_spans: dict[str, list[Span]]


def read_snippets(snippets: Sequence[Snippet], context: Context) -> Reading:
    """Read the hit sentences of every snippet with real hits."""
    reading = Reading()
    for snippet in snippets:
        if snippet.real_hits:
            _read_snippet(snippet, context, reading)
    return reading


def _read_snippet(snippet: Snippet, ctx: Context, out: Reading) -> None:
    own_spans: list[Span] = []
    for (a, b), hits in hit_sentences(snippet):
        if _read_sentence(snippet, a, b, hits, ctx, out) == "own":
            own_spans.append((a, b))
    if not ctx.software_paper:
        return
    # what a software paper is *about* shows across its windows, not in the hit's sentence
    # alone; a sentence of its own data use ("we reduced the data with calwf3") is not
    cues, text = ctx.registry.cues.compiled, snippet.text
    out.instrumentation_cues += count_outside(cues["instrumentation"], text, own_spans)
    out.pipeline_cues += count_outside(ctx.telescope.context.pipeline, text, own_spans)
    out.instrumentation_patterns += count_outside(
        ctx.telescope.compiled.instrumentation, text, own_spans
    )


def _read_sentence(
    snippet: Snippet, a: int, b: int, hits: list[Hit], ctx: Context, out: Reading
) -> str:
    """Classify one hit sentence ``snippet.text[a:b]``, count it, return its class."""
    text = snippet.text[a:b]
    cues = ctx.registry.cues.compiled
    comp, context = ctx.telescope.compiled, ctx.telescope.context
    citations = count(cues["citation"], text)
    out.mention_cues += count(cues["mention"], text) + citations
    future = has(cues["future"], text)
    if not ctx.software_paper:  # a science paper's sentences of instrumentation words
        out.instrumentation_cues += count(cues["instrumentation"], text)
        out.pipeline_cues += count(context.pipeline, text)
        out.instrumentation_patterns += count(comp.instrumentation, text)
    ours = [local_span(h, snippet, a) for h in hits if not h.package]
    if not ours:
        out.package_only += 1
        out.built_for += ctx.software_paper and not future
        return "package"
    use = _data_use(text, ours, citations, ctx)
    if use is None:
        out.other_use += 1
        return "other"
    own, strong, generic = use
    used = own + strong + generic
    if ctx.software_paper:
        calibration = _calibration_words(text, ctx)
        if not citations and not future and (used or calibration or _names_a_mode(text, hits, ctx)):
            out.built_for += 1
        # a tutorial, or data used to test or calibrate what the paper presents (an instrument
        # named in a data-use sentence is no sign of that: science sentences name them too)
        if _is_example(snippet, a, b, text, ctx) or (used and calibration):
            out.example += 1
            return "example"
    if future:
        out.future += 1
        return "future"
    if not used:
        return "plain"
    # "the HST spectra of Smith et al. (2019)": their data, even if we use them
    if (_by_others(text, ctx) and not has(cues["reprocessing"], text)) or (citations and not own):
        out.cited_use += 1
        return "cited"
    in_acknowledgments = snippet.field in ("acknowledgments", "grants") and not strong
    if in_acknowledgments or has(cues["boilerplate"], text):
        # "This work is based on observations made with ...": strong, but boiler-plate
        # without a word of data use in the paper is not enough on its own (a programme id
        # or a data DOI in the acknowledgments is the paper's own data, though)
        out.acknowledged += 1
        out.quotes.append((1.0, snippet, a, b))
        return "acknowledged"
    support = count(context.support, text) + sum(h.kind == "instrument" for h in hits)
    out.own_use += 1
    out.first_person += own > 0
    out.strong += strong
    out.support += support
    weight = sentence_strength(own > 0, strong, support)
    out.strength += weight
    out.quotes.append((weight, snippet, a, b))
    return "own"


def _data_use(
    text: str, ours: list[Span], citations: int, ctx: Context
) -> tuple[int, int, int] | None:
    """The data-use phrases of a sentence that are about this telescope: (first person
    0/1, programme ids and DOIs, other phrases); None when it has some, all about other
    telescopes."""
    cues, comp = ctx.registry.cues.compiled, ctx.telescope.compiled
    if not (has(cues["own_data"], text) or has(comp.science, text) or has(cues["science"], text)):
        return 0, 0, 0  # says no data were used: whose telescope it is about does not matter
    others = _other_names(text, ctx)
    groups = name_groups(text, ours, others)
    # first person about this telescope, in a clause that names it: "we" nearest its name
    # (in a sentence citing no one), or anywhere in the clause when its name stands by data
    # words ("we combine NIRCam and archival HST photometry": HST's data are used too; not
    # "we observed with Keck, and archival HST images are shown")
    own = 0
    clause = clause_of(text, ours)
    if has(cues["own_data"], clause):
        near = attributed(
            cues["own_data"], clause, name_groups(clause, *names_in(ours, others, text, clause))
        )
        own = int(_data_bound(text, ours, others, ctx) or (near > 0 and not citations))
    strong = attributed(comp.science, text, groups)
    generic = attributed(cues["science"], text, groups)
    return None if not own + strong + generic else (own, strong, generic)


def sentence_strength(first_person: bool, strong: int, support: int) -> float:
    """How much one own-use sentence tells: a data-use phrase 1, said in the first person
    2, plus 1 for a programme id, ObsID, exposure or DOI, plus 0.3 a filter, grating or
    instrument name (at most 0.6)."""
    return (2.0 if first_person else 1.0) + (1.0 if strong else 0.0) + min(0.3 * support, 0.6)


def _calibration_words(text: str, ctx: Context) -> bool:
    """Instrument-study, pipeline or calibration words in a sentence."""
    return (
        has(ctx.registry.cues.compiled["instrumentation"], text)
        or has(ctx.telescope.context.pipeline, text)
        or has(ctx.telescope.compiled.instrumentation, text)
    )


def _names_a_mode(text: str, hits: list[Hit], ctx: Context) -> bool:
    """An instrument, filter, grating or mode named in a sentence."""
    return any(h.kind == "instrument" for h in hits) or has(ctx.telescope.context.support, text)


def _other_names(text: str, ctx: Context) -> list[Span]:
    """Where a sentence names another registry telescope (its real, unshared terms) or an
    observatory of ``other_facilities``."""
    found = spans(ctx.registry.cues.compiled["other_facilities"], text)
    for telescope in ctx.registry:
        if telescope.key == ctx.telescope.key:
            continue
        comp = telescope.compiled
        found += [(s, e) for s, e, i in comp.find_terms(text) if not comp.term_list[i].shared]
    return found


def _is_example(snippet: Snippet, a: int, b: int, text: str, ctx: Context) -> bool:
    if has(ctx.registry.cues.compiled["worked_example"], text):
        return True
    start = snippet.start + a
    return any(lo <= start < hi for lo, hi in ctx.example_spans.get(snippet.field, []))


# --- sentences and attribution -----------------------------------------------------------

#: characters around a hit in which a data word binds it to a first-person sentence
_DATA_REACH = 30
_agent_patterns: dict[str, re.Pattern[str]] = {}


def _by_others(text: str, ctx: Context) -> bool:
    """Whether a sentence says whose the data or results are: "by <citation>", "of
    <citation>" ("observed by Reddy et al.", "the HST photometry of <cit.>")."""
    citation = ctx.registry.cues.compiled["citation"]
    if citation is None:
        return False
    agent = _agent_patterns.get(citation.pattern)
    if agent is None:
        agent = re.compile(rf"\b(?:by|of)[\s~]+(?:{citation.pattern})", re.IGNORECASE)
        _agent_patterns[citation.pattern] = agent
    return agent.search(text) is not None


def _data_bound(text: str, ours: list[Span], others: list[Span], ctx: Context) -> bool:
    """Whether a hit stands by a data word or a filter/mode name ("archival HST imaging",
    "HST/WFC3 F160W") with no other telescope's name in between."""
    patterns = (ctx.registry.cues.compiled["data_words"], ctx.telescope.context.support)
    for start, end in ours:
        lo, hi = max(0, start - _DATA_REACH), min(len(text), end + _DATA_REACH)
        for pattern in patterns:
            if pattern is None:
                continue
            for m in pattern.finditer(text, lo, hi):
                between = (min(m.end(), start), max(m.start(), end))
                if not any(between[0] <= s < between[1] for s, _ in others):
                    return True
    return False
