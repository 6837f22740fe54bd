"""Snippets: sentence windows around a telescope's hits, with offsets into the original text.

Sentence splitting only runs in the paragraphs of the hits and their windows,
so cost follows the number of hits, not the length of the paper.
"""

from __future__ import annotations

from bisect import bisect_right

from amc.domain.models import Hit, Paper, Snippet, TextField
from amc.registry import Telescope
from amc.snippets.hits import find_hits, search_fields
from amc.snippets.sentences import sentences_near


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
    sentences = sentences_near(text, [h.start for h in hits], window)
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
