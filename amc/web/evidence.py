"""The evidence of a pair, made quick to verify: short passages, best first, with marks.

A pair's passages are its snippets (sentence windows around the telescope's terms,
ranked by the snippet ranking) plus a window around each verified quote of the verdict
that lies outside them. Each window is cut for display to excerpts of a few hundred
characters around what is marked, so a 30,000-character window without sentence
breaks shows as a few lines. Marks, by offsets into the stored text:

- ``term``: a registry term of the telescope (``HST``, ``WFC3``, ``Hubble Space Telescope``);
- ``trap``: a term inside a known false positive or grant (``Hubble constant``, ``HST-HF2``);
- ``quote``: a quote of the verdict that was verified in the text;
- ``link``: the quote of a bibliography link (``Link``) of the pair.

Passages holding a quote come first, then the best-ranked; the template shows the first
``SHOWN_PASSAGES`` and folds the rest. ``html`` escapes the text before it marks it, and
shows LaTeX leftovers readably (``amc.web.latex``); PDF input gets its page numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from amc.domain.models import Evidence, Hit, Link, Paper, Snippet
from amc.web.latex import display_pieces

#: characters of context kept around a mark when a window is cut for display
CONTEXT_CHARS = 240
#: a window longer than this is cut into excerpts around its marks
MAX_PASSAGE_CHARS = 900
#: passages shown open; the rest are folded
SHOWN_PASSAGES = 3
MAX_PASSAGES = 40
Span = tuple[int, int]


@dataclass(frozen=True)
class Mark:
    """A span to mark, relative to its passage."""

    start: int
    end: int
    kind: str  # term | trap | quote | link


@dataclass(frozen=True)
class Passage:
    """An excerpt of one text field, with its marks (offsets relative to ``start``)."""

    field: str
    start: int
    text: str
    marks: list[Mark]
    score: float = 0.0
    #: the PDF pages it lies on (first, last); None when the input was not a PDF
    pages: tuple[int, int] | None = None
    #: text of the same window left out before and after this excerpt
    cut_before: bool = False
    cut_after: bool = False

    @property
    def has_quote(self) -> bool:
        return any(m.kind == "quote" for m in self.marks)

    @property
    def quote_spans(self) -> list[Span]:
        return [(m.start, m.end) for m in self.marks if m.kind == "quote"]

    @property
    def page_label(self) -> str:
        if self.pages is None:
            return ""
        first, last = self.pages
        return f"p. {first}" if first == last else f"pp. {first}–{last}"

    @property
    def html(self) -> Markup:
        return highlight(self.text, self.marks)


def pair_passages(
    paper: Paper,
    snippets: Sequence[Snippet],
    quotes: Sequence[Evidence],
    links: Sequence[Link] = (),
) -> list[Passage]:
    """The passages of a pair, best first: ``snippets`` (ranked, with ``score``) plus a
    window around each located quote (of the verdict, or of a link) outside them, cut
    for display, marked."""
    located = [q for q in quotes if _located(paper, q)]
    linked = [k for k in links if k.verified and 0 <= k.start < k.end <= len(paper.text(k.field))]
    windows: list[tuple[str, int, int, float]] = [
        (s.field, s.start, s.end, s.score) for s in snippets
    ]
    spans: list[tuple[str | None, int | None, int | None]] = [
        *((q.field, q.start, q.end) for q in located),
        *((k.field, k.start, k.end) for k in linked),
    ]
    for where, lo, hi in spans:
        assert where is not None and lo is not None and hi is not None
        if not any(f == where and s <= lo and hi <= e for f, s, e, _ in windows):
            windows.append((where, lo - CONTEXT_CHARS, hi + CONTEXT_CHARS, 0.0))
    hits = [h for s in snippets for h in s.hits]
    out: list[Passage] = []
    for field, start, end, score in _merge_windows(windows, paper):
        marks = _marks(field, hits, located)
        marks += [Mark(k.start, k.end, "link") for k in linked if k.field == field]
        out += _excerpts(paper, field, start, end, score, marks)
    out.sort(key=lambda p: (not p.has_quote, -p.score, p.field, p.start))
    return out[:MAX_PASSAGES]


def _merge_windows(
    windows: Sequence[tuple[str, int, int, float]], paper: Paper
) -> list[tuple[str, int, int, float]]:
    """Windows clipped to their field, overlapping ones of a field merged (best score)."""
    merged: list[tuple[str, int, int, float]] = []
    for field, start, end, score in sorted(windows, key=lambda w: (w[0], w[1])):
        start, end = max(0, start), min(len(paper.text(field)), end)  # type: ignore[arg-type]
        if end <= start:
            continue
        if merged and merged[-1][0] == field and start <= merged[-1][2]:
            last = merged[-1]
            merged[-1] = (field, last[1], max(last[2], end), max(last[3], score))
        else:
            merged.append((field, start, end, score))
    return merged


def _marks(field: str, hits: Sequence[Hit], quotes: Sequence[Evidence]) -> list[Mark]:
    """Absolute marks of one field: its hits (terms, traps) and located quotes."""
    marks = [
        Mark(h.start, h.end, "term" if h.is_real else "trap") for h in hits if h.field == field
    ]
    marks += [Mark(q.start, q.end, "quote") for q in quotes if q.field == field]  # type: ignore[arg-type]
    return sorted(set(marks), key=lambda m: (m.start, m.end, m.kind))


def _excerpts(
    paper: Paper, field: str, start: int, end: int, score: float, marks: Sequence[Mark]
) -> list[Passage]:
    """The window ``[start, end)`` of ``field`` as one passage, or, when long, as
    excerpts of ``CONTEXT_CHARS`` around each group of marks."""
    text = paper.text(field)  # type: ignore[arg-type]
    inside = [m for m in marks if start <= m.start and m.end <= end]
    if end - start <= MAX_PASSAGE_CHARS:
        spans = [(start, end)]
    else:
        # a quote is a sentence already: context goes around the terms alone
        reach = {"quote": 0}
        around = [
            (m.start - reach.get(m.kind, CONTEXT_CHARS), m.end + reach.get(m.kind, CONTEXT_CHARS))
            for m in inside
        ]
        spans = _snap(text, merge_spans(around or [(start, start + MAX_PASSAGE_CHARS)], end),
                      start, end)  # fmt: skip
    return [
        Passage(
            field=field,
            start=lo,
            text=text[lo:hi],
            marks=[
                Mark(m.start - lo, m.end - lo, m.kind)
                for m in inside
                if lo <= m.start and m.end <= hi
            ],
            score=score,
            pages=_pages(paper, field, lo, hi),
            cut_before=lo > start,
            cut_after=hi < end,
        )
        for lo, hi in spans
    ]


def _snap(text: str, spans: Sequence[Span], start: int, end: int) -> list[Span]:
    """Spans kept inside ``[start, end)`` and moved out to whitespace (no half words)."""
    out = []
    for lo, hi in spans:
        lo, hi = max(start, lo), min(end, hi)
        while lo > start and not text[lo - 1].isspace() and lo > hi - MAX_PASSAGE_CHARS * 2:
            lo -= 1
        while hi < end and not text[hi].isspace() and hi < lo + MAX_PASSAGE_CHARS * 2:
            hi += 1
        out.append((lo, hi))
    return merge_spans(out, end)


def _pages(paper: Paper, field: str, lo: int, hi: int) -> tuple[int, int] | None:
    first = paper.page_at(field, lo)
    return None if first is None else (first, paper.page_at(field, max(lo, hi - 1)) or first)


def _located(paper: Paper, q: Evidence) -> bool:
    """A verified quote with offsets that fit its field."""
    if not (q.verified and q.field and q.start is not None and q.end is not None):
        return False
    return 0 <= q.start < q.end <= len(paper.text(q.field))


def merge_spans(spans: Sequence[Span], length: int) -> list[Span]:
    """Spans clipped to ``[0, length]``, empty ones dropped, overlapping ones merged."""
    clipped = sorted((max(0, s), min(length, e)) for s, e in spans if min(length, e) > max(0, s))
    merged: list[Span] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, marks: Sequence[Mark | Span]) -> Markup:
    """``text`` HTML-escaped and shown readably (LaTeX leftovers), each marked stretch in
    ``<mark class="KIND ...">`` (a bare span is a ``quote``); marks never nest."""
    spans = [m if isinstance(m, Mark) else Mark(m[0], m[1], "quote") for m in marks]
    bounds = sorted({0, len(text), *(min(max(0, b), len(text)) for m in spans
                                      for b in (m.start, m.end))})  # fmt: skip
    runs: list[tuple[list[str], Markup]] = []
    for piece in display_pieces(text):
        if piece.shown is not None:
            runs.append((_kinds(spans, piece.start, piece.end), escape(piece.shown)))
            continue
        cuts = [b for b in bounds if piece.start < b < piece.end]
        for lo, hi in zip([piece.start, *cuts], [*cuts, piece.end], strict=True):
            runs.append((_kinds(spans, lo, hi), escape(text[lo:hi])))
    merged: list[tuple[list[str], Markup]] = []
    for kinds, html in runs:  # neighbours with the same marks become one mark
        if merged and merged[-1][0] == kinds:
            merged[-1] = (kinds, merged[-1][1] + html)
        else:
            merged.append((kinds, html))
    return Markup("").join(_marked(html, kinds) for kinds, html in merged)


def _kinds(marks: Sequence[Mark], lo: int, hi: int) -> list[str]:
    return sorted({m.kind for m in marks if m.start < hi and lo < m.end})


def _marked(html: Markup, kinds: list[str]) -> Markup:
    if not kinds or not str(html):
        return html
    return Markup('<mark class="{}">').format(" ".join(kinds)) + html + Markup("</mark>")
