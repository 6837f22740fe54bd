"""What the reviewing screens show, as plain functions over the store (no HTTP here).

Filtered result rows (telescope, label, confidence, disagreement with the stored
labels), and a paper's detail: for each pair its verdict, its reviewer label, and
passages of the paper text (the pair's snippets, plus a window around any quote
outside them) with the verified quotes' offsets. ``highlight`` turns a passage
into HTML: the text is escaped first, then ``<mark>`` tags go in at the offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from amc.domain.errors import AmcError
from amc.domain.models import Classification, Evidence, Pair, PairOrFailure, Paper, TelescopeLabels
from amc.jobs.spool import load_paper
from amc.jobs.submit import registry_for
from amc.settings import Settings
from amc.snippets import find_snippets
from amc.store import HumanLabel, PaperRecord, Store

LABEL_FILTERS = ("science", "instrumentation", "mention", "not_telescope", "none", "error")
#: characters of context around a quote found outside every snippet
QUOTE_CONTEXT = 240
MAX_PASSAGES = 12
Span = tuple[int, int]


@dataclass(frozen=True)
class ResultFilter:
    """The results table's filters; None / False means no filtering on that column."""

    telescope: str | None = None
    label: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    disagree: bool = False


@dataclass(frozen=True)
class ResultRow:
    """One pair in the results table."""

    paper_id: int
    result: Classification
    #: the labels the prediction is compared with: the latest reviewer's, else the input's
    reference: TelescopeLabels | None
    human: HumanLabel | None

    @property
    def confidence(self) -> float | None:
        """Confidence of the decision as a whole (its weakest label call)."""
        c = self.result
        return c.confidence.decided(c.labels) if c.labels is not None else None

    @property
    def disagree(self) -> bool:
        return disagrees(self.result, self.reference)


def disagrees(result: Classification, reference: TelescopeLabels | None) -> bool:
    """Predicted labels differ from the stored (reviewer or input) labels."""
    return reference is not None and result.labels is not None and result.labels != reference


def matches(row: ResultRow, flt: ResultFilter) -> bool:
    """Whether a row passes every filter."""
    c = row.result
    if flt.telescope and c.telescope != flt.telescope.upper():
        return False
    if flt.label and not _has_label(c, flt.label):
        return False
    conf = row.confidence
    if flt.min_confidence is not None and (conf is None or conf < flt.min_confidence):
        return False
    if flt.max_confidence is not None and (conf is None or conf > flt.max_confidence):
        return False
    return not flt.disagree or row.disagree


def _has_label(c: Classification, label: str) -> bool:
    if label == "error":
        return c.labels is None
    if c.labels is None:
        return False
    if label == "none":
        return not c.labels.positives
    return bool(getattr(c.labels, label, False))


def result_rows(
    store: Store, batch_id: str, flt: ResultFilter, limit: int = 200, offset: int = 0
) -> tuple[list[ResultRow], int]:
    """The rows passing ``flt`` (one page of them) and how many pass in all."""
    store.get_batch(batch_id)  # an unknown batch is a StoreError
    humans = store.latest_human_labels()
    page: list[ResultRow] = []
    matched = 0
    for paper_id, c in store.iter_paper_results(batch_id):
        human = humans.get((c.bibcode, c.telescope))
        row = ResultRow(paper_id, c, human.labels if human else c.gold, human)
        if matches(row, flt):
            if offset <= matched < offset + limit:
                page.append(row)
            matched += 1
    return page, matched


# --- a paper's detail ------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A stretch of one text field, with the quote spans to mark (relative offsets)."""

    field: str
    start: int
    text: str
    marks: list[Span]

    @property
    def html(self) -> Markup:
        return highlight(self.text, self.marks)


@dataclass(frozen=True)
class PairView:
    result: Classification
    human: HumanLabel | None
    reference: TelescopeLabels | None
    passages: list[Passage]

    @property
    def disagree(self) -> bool:
        return disagrees(self.result, self.reference)


@dataclass(frozen=True)
class PaperView:
    record: PaperRecord
    paper: Paper | None
    pairs: list[PairView]
    #: why the text could not be shown (spool missing), else None
    text_error: str | None = None


def highlight(text: str, spans: Sequence[Span]) -> Markup:
    """``text`` HTML-escaped, with each span (clipped, overlaps merged) inside ``<mark>``."""
    parts: list[Markup] = []
    pos = 0
    for start, end in merge_spans(spans, len(text)):
        parts += [escape(text[pos:start]), Markup("<mark>"), escape(text[start:end])]
        parts.append(Markup("</mark>"))
        pos = end
    parts.append(escape(text[pos:]))
    return Markup("").join(parts)


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


def passages(
    paper: Paper, windows: Sequence[tuple[str, int, int]], quotes: list[Evidence]
) -> list[Passage]:
    """Passages of ``paper``: the given windows plus one around each located quote outside
    them, merged per field, with every located quote marked."""
    located = [q for q in quotes if _located(paper, q)]
    by_field: dict[str, list[Span]] = {}
    for name, start, end in windows:
        by_field.setdefault(name, []).append((start, end))
    for q in located:
        assert q.field is not None and q.start is not None and q.end is not None
        spans = by_field.setdefault(q.field, [])
        if not any(s <= q.start and q.end <= e for s, e in spans):
            spans.append((q.start - QUOTE_CONTEXT, q.end + QUOTE_CONTEXT))
    out: list[Passage] = []
    for name, spans in by_field.items():
        text = paper.text(name)  # type: ignore[arg-type]
        for start, end in merge_spans(spans, len(text)):
            marks = [(q.start - start, q.end - start) for q in located if q.field == name]  # type: ignore[operator]
            out.append(Passage(name, start, text[start:end], merge_spans(marks, end - start)))
    return out[:MAX_PASSAGES]


def _located(paper: Paper, q: Evidence) -> bool:
    """A verified quote with offsets that fit its field."""
    if not (q.verified and q.field and q.start is not None and q.end is not None):
        return False
    return 0 <= q.start < q.end <= len(paper.text(q.field))


def paper_view(store: Store, settings: Settings, paper_id: int) -> PaperView:
    """Everything the paper page shows; ``StoreError`` for an unknown paper."""
    record = store.get_paper(paper_id)
    batch = store.get_batch(record.batch_id)
    text_error = None
    items: list[PairOrFailure] = []
    try:
        items = load_paper(Path(settings.spool_dir) / batch.content_hash, record)
    except AmcError as exc:
        text_error = str(exc)
    papers = {item.telescope.upper(): item.paper for item in items if isinstance(item, Pair)}
    latest: dict[str, HumanLabel] = {}
    for label in store.human_label_history(record.bibcode):  # newest first
        latest.setdefault(label.telescope, label)
    pairs = []
    for c in store.paper_results(paper_id):
        human = latest.get(c.telescope)
        paper = papers.get(c.telescope)
        shown = _pair_passages(paper, c, settings) if paper is not None else []
        pairs.append(PairView(c, human, human.labels if human else c.gold, shown))
    first = next(iter(papers.values()), None)
    return PaperView(record, first, pairs, text_error)


def _pair_passages(paper: Paper, c: Classification, settings: Settings) -> list[Passage]:
    registry = registry_for(settings)
    windows: list[tuple[str, int, int]] = []
    if c.telescope in registry.telescopes:
        snippets = find_snippets(
            paper, registry.get(c.telescope), settings.window_sentences, settings.include_references
        )
        windows = [(s.field, s.start, s.end) for s in snippets]
    return passages(paper, windows, c.evidence)
