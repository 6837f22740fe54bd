"""Hits: where a paper names a telescope, by the registry's terms and their rules.

Hits come from the registry's terms with their case and word-boundary
rules, so "cos" in cosine, "acs" in words, "Ramachandran" and ``webb94`` do
not match at all. A term inside a known trap ("Hubble constant", also with a few
words in between: "Hubble recession velocity"), or with a homonym's context words
next to it (NVIDIA's Kepler GPUs), is kept as a ``false_positive`` hit and one
inside a grant/fellowship pattern as a ``grant`` hit: later tiers see them and
can tell that every HST hit of a paper is the Hubble constant. A term inside a
software name (WebbPSF) is a real hit marked ``package``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from amc.domain.models import TEXT_FIELDS, Hit, HitKind, Paper, TextField
from amc.registry import Registry, Telescope
from amc.registry.patterns import PatternUnion, match_spans
from amc.snippets.sentences import Span, regions


def search_fields(include_references: bool = False) -> tuple[str, ...]:
    return (*TEXT_FIELDS, "references") if include_references else TEXT_FIELDS


def find_hits(paper: Paper, telescope: Telescope, fields: Sequence[str] = TEXT_FIELDS) -> list[Hit]:
    """Every hit of ``telescope`` in ``paper``, in field order then text order."""
    hits: list[Hit] = []
    for field in fields:
        text = str(getattr(paper, field))
        if text:
            hits.extend(_field_hits(text, field, telescope))  # type: ignore[arg-type]
    return hits


#: fields scanned in full for award numbers that name no telescope ("GO1-12345X")
GRANT_FIELDS = ("acknowledgments", "grants")
#: characters around a term hit in which trap and grant patterns are looked for
PATTERN_REACH = 200


def _field_hits(text: str, field: TextField, telescope: Telescope) -> list[Hit]:
    comp = telescope.compiled
    terms = comp.find_terms(text)
    if not terms and field not in GRANT_FIELDS:
        return []
    # trap/grant patterns only matter where they overlap a term, so they are run in
    # small windows around the terms: case-insensitive patterns cost ~10 ns a character
    windows = regions((s for s, _, _ in terms), PATTERN_REACH, len(text))
    if field in GRANT_FIELDS:
        grant_spans = _spans(comp.grants, text, [(0, len(text))])
    else:
        grant_spans = _spans(comp.grants, text, windows)
    if not terms and not grant_spans:
        return []
    fp_spans = _spans(comp.false_positives, text, windows)
    context = telescope.context
    package_spans = _spans(context.packages, text, windows)
    hits: list[Hit] = []
    covered: list[Span] = []
    for start, end, index in terms:
        term = comp.term_list[index]
        kind: HitKind = "alias" if comp.kinds[index] == "alias" else "instrument"
        if _overlaps(start, end, fp_spans):
            kind = "false_positive"
        elif _overlaps(start, end, grant_spans):
            kind = "grant"
        elif context.homonyms and context.is_homonym(text, start, end):
            kind = "false_positive"
        package = kind in ("alias", "instrument") and _overlaps(start, end, package_spans)
        covered.append((start, end))
        hit = _hit(telescope, field, text, start, end, term.term, kind, term.shared)
        hits.append(hit.model_copy(update={"package": True}) if package else hit)
    # an award number names no telescope but is still a (grant) hit of it
    for start, end in grant_spans:
        if not _overlaps(start, end, covered):
            hits.append(_hit(telescope, field, text, start, end, "(grant pattern)", "grant"))
    hits.sort(key=lambda h: h.start)
    return hits


def _hit(
    telescope: Telescope,
    field: TextField,
    text: str,
    start: int,
    end: int,
    term: str,
    kind: HitKind,
    shared: bool = False,
) -> Hit:
    return Hit(
        telescope=telescope.key, field=field, start=start, end=end, text=text[start:end],
        term=term, kind=kind, shared=shared,
    )  # fmt: skip


def _spans(
    pattern: re.Pattern[str] | PatternUnion | None, text: str, windows: Sequence[Span]
) -> list[Span]:
    return [(s, e) for a, b in windows for s, e in match_spans(pattern, text, a, b) if e > s]


def _overlaps(start: int, end: int, spans: Sequence[Span]) -> bool:
    return any(s < end and start < e for s, e in spans)


def candidate_telescopes(
    paper: Paper, registry: Registry, include_references: bool = False
) -> list[str]:
    """Registry telescopes with at least one hit in the paper that is not only a shared
    term (traps and grants count: a librarian wants to see "Hubble constant" flagged)."""
    fields = search_fields(include_references)
    keys = []
    for telescope in registry:
        hits = find_hits(paper, telescope, fields)
        if any(not h.shared for h in hits):
            keys.append(telescope.key)
    return keys
