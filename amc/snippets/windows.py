"""Snippets: sentence windows around a telescope's hits, with offsets into the original text.

Sentence splitting only runs around hits, so cost follows the number of hits,
not the length of the paper.
"""

from __future__ import annotations

from bisect import bisect_right

from amc.domain.models import Hit, Paper, Snippet, TextField
from amc.registry import Telescope
from amc.snippets.hits import find_hits, search_fields
from amc.snippets.sentences import Span, regions, sentence_spans

#: characters of text split around a hit per sentence of context wanted
CHARS_PER_SENTENCE = 400


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
        around = regions(positions, margin, len(text))
        spans: list[Span] = []
        enough = True
        for a, b in around:
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
