"""Find where a paper names a telescope, and cut sentence windows around the hits.

Hits come from the registry's terms with their case and word-boundary
rules, so "cos" in cosine, "acs" in words, "Ramachandran" and ``webb94`` do
not match at all. A term inside a known trap ("Hubble constant") is kept as
a ``false_positive`` hit and one inside a grant/fellowship pattern as a
``grant`` hit: later tiers see them and can tell that every HST hit of a
paper is the Hubble constant. Sentence splitting only runs around hits, so
cost follows the number of hits, not the length of the paper.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence

from amc.models import TEXT_FIELDS, Hit, HitKind, Paper, Snippet, TextField
from amc.registry import Registry, Telescope
from amc.sentences import Span, sentence_spans

#: characters of text split around a hit per sentence of context wanted
CHARS_PER_SENTENCE = 400


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
    windows = _regions((s for s, _, _ in terms), PATTERN_REACH, len(text))
    if field in GRANT_FIELDS:
        grant_spans = _spans(comp.grants, text, [(0, len(text))])
    else:
        grant_spans = _spans(comp.grants, text, windows)
    if not terms and not grant_spans:
        return []
    fp_spans = _spans(comp.false_positives, text, windows)
    hits: list[Hit] = []
    covered: list[Span] = []
    for start, end, index in terms:
        term = comp.term_list[index]
        kind: HitKind = "alias" if comp.kinds[index] == "alias" else "instrument"
        if _overlaps(start, end, fp_spans):
            kind = "false_positive"
        elif _overlaps(start, end, grant_spans):
            kind = "grant"
        covered.append((start, end))
        hits.append(_hit(telescope, field, text, start, end, term.term, kind, term.shared))
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


def _spans(pattern: re.Pattern[str] | None, text: str, windows: Sequence[Span]) -> list[Span]:
    if pattern is None:
        return []
    return [
        m.span() for a, b in windows for m in pattern.finditer(text, a, b) if m.end() > m.start()
    ]


def _overlaps(start: int, end: int, spans: Sequence[Span]) -> bool:
    return any(s < end and start < e for s, e in spans)


def find_snippets(
    paper: Paper,
    telescope: Telescope,
    window: int = 3,
    include_references: bool = False,
) -> list[Snippet]:
    """Sentence windows of +/- ``window`` sentences around every hit, merged when they
    overlap, each with its field and offsets into the original text."""
    hits = find_hits(paper, telescope, search_fields(include_references))
    snippets: list[Snippet] = []
    for field in search_fields(include_references):
        field_hits = [h for h in hits if h.field == field]
        if field_hits:
            text = str(getattr(paper, field))
            snippets.extend(_field_snippets(text, field, telescope.key, field_hits, window))  # type: ignore[arg-type]
    return snippets


def _field_snippets(
    text: str, field: TextField, key: str, hits: list[Hit], window: int
) -> list[Snippet]:
    sentences = _sentences_around(text, [h.start for h in hits], window)
    starts = [s for s, _ in sentences]
    ranges: list[list[int]] = []
    for hit in hits:
        i = max(0, bisect_right(starts, hit.start) - 1)
        lo, hi = max(0, i - window), min(len(sentences) - 1, i + window)
        if ranges and lo <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], hi)
        else:
            ranges.append([lo, hi])
    out = []
    for lo, hi in ranges:
        start, end = sentences[lo][0], sentences[hi][1]
        inside = [h for h in hits if start <= h.start < end]
        out.append(
            Snippet(
                telescope=key, field=field, start=start, end=end, text=text[start:end], hits=inside
            )
        )
    return out


def _sentences_around(text: str, positions: list[int], window: int) -> list[Span]:
    """Sentence spans covering every position with ``window`` whole sentences each side.

    Only regions around the positions are split. A region that does not start
    at the beginning of the text drops its first (possibly partial) sentence;
    if that leaves too little context the region is widened and split again.
    """
    margin = CHARS_PER_SENTENCE * (window + 1)
    while True:
        regions = _regions(positions, margin, len(text))
        spans: list[Span] = []
        enough = True
        for a, b in regions:
            region = sentence_spans(text, a, b)
            if a > 0 and region:
                region = region[1:]
            if b < len(text) and region:
                region = region[:-1]
            if not _covers(region, positions, a, b, window, len(text)):
                enough = False
                break
            spans.extend(region)
        if enough or margin >= len(text):
            return spans if enough else sentence_spans(text)
        margin *= 2


def _regions(positions: Iterable[int], margin: int, length: int) -> list[Span]:
    regions: list[list[int]] = []
    for pos in sorted(positions):
        a, b = max(0, pos - margin), min(length, pos + margin)
        if regions and a <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], b)
        else:
            regions.append([a, b])
    return [(a, b) for a, b in regions]


def _covers(
    region: list[Span], positions: list[int], a: int, b: int, window: int, length: int
) -> bool:
    """Each position in [a, b) lies in a sentence with ``window`` sentences around it
    (or the region reaches the start/end of the text on that side)."""
    starts = [s for s, _ in region]
    for pos in positions:
        if not a <= pos < b:
            continue
        i = bisect_right(starts, pos) - 1
        if i < 0 or (i - window < 0 and a > 0):
            return False
        if i + window > len(region) - 1 and b < length:
            return False
    return True


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
