"""What the reviewing screens show, as plain functions over the store (no HTTP here).

``ViewParams`` is a view of a batch's results as the query string carries it (filters
and order; empty form boxes mean "no filter"). ``pair_view`` gathers everything the
pair page shows: the verdict, the paper's title, authors, year and links, the
evidence passages (``amc.web.evidence``), the input labels, the reviewer label and
its history, and the queue around the pair (previous, next, how much is reviewed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from amc.domain.errors import AmcError
from amc.domain.models import Link, Pair, Paper
from amc.domain.reviews import final_labels
from amc.jobs.spool import load_paper
from amc.jobs.submit import batch_settings, registry_for
from amc.links.reviewed import PairLinks, review_links
from amc.settings import Settings
from amc.snippets import find_snippets
from amc.snippets.ranking import rank_snippets
from amc.store import (
    INPUT_FILTERS,
    LABEL_FILTERS,
    REVIEW_FILTERS,
    SORTS,
    HumanLabel,
    PaperRecord,
    ResultFilter,
    ResultRow,
    ReviewCounts,
    Store,
)
from amc.web.evidence import Passage, highlight, pair_passages

LabelFilter = Literal["science", "instrumentation", "mention", "not_telescope", "none", "error"]
InputFilter = Literal["has", "none", "agree", "disagree"]
ReviewFilter = Literal["unreviewed", "reviewed", "accepted", "corrected"]
Sort = Literal["confidence", "-confidence", "pair", "telescope"]
assert LabelFilter.__args__ == LABEL_FILTERS and InputFilter.__args__ == INPUT_FILTERS  # type: ignore[attr-defined]
assert ReviewFilter.__args__ == REVIEW_FILTERS and Sort.__args__ == SORTS  # type: ignore[attr-defined]

#: an ADS bibcode: 19 characters starting with the year
_ADS_BIBCODE = re.compile(r"^\d{4}[A-Za-z&.][A-Za-z0-9&.]{14}$")


class ViewParams(BaseModel):
    """A view of a batch's results (and the review queue over it): filters and order.

    An empty value (an empty form box) means no filter on that column.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    telescope: str | None = Field(None, max_length=50, description="Telescope key.")
    label: LabelFilter | None = Field(None, description="A model label, none, or error.")
    min_confidence: float | None = Field(None, ge=0, le=1, description="Decision confidence ≥.")
    max_confidence: float | None = Field(None, ge=0, le=1, description="Decision confidence ≤.")
    input: InputFilter | None = Field(None, description="Input labels (from the file).")
    review: ReviewFilter | None = Field(None, description="Reviewer labels.")
    sort: Sort = Field("confidence", description="Order: least confident first by default.")

    @field_validator(
        "telescope",
        "label",
        "min_confidence",
        "max_confidence",
        "input",
        "review",
        "sort",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return "confidence" if info.field_name == "sort" else None
        return value

    @model_validator(mode="after")
    def _band(self) -> ViewParams:
        low, high = self.min_confidence, self.max_confidence
        if low is not None and high is not None and low > high:
            raise ValueError(f"confidence from {low} is above confidence to {high}")
        return self

    @property
    def filter(self) -> ResultFilter:
        return ResultFilter(self.telescope, self.label, self.min_confidence,
                            self.max_confidence, self.input, self.review)  # fmt: skip

    def query(self, **changes: Any) -> str:
        """The view as a query string (only the values set), with ``changes`` applied."""
        values = {**self.model_dump(), **changes}
        shown = {k: v for k, v in values.items() if v is not None and v != "" and v is not False}
        if shown.get("sort") == SORTS[0]:
            del shown["sort"]
        return urlencode(shown)


def at(path: str, query: str) -> str:
    """``path`` with a query string when there is one."""
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class Queue:
    """Where a pair sits in the view it was opened from."""

    view: ViewParams
    previous: int | None
    next: int | None
    #: 1-based place of the pair in the view (any review status)
    position: int
    counts: ReviewCounts
    #: the view is the whole batch (its counts are the batch's)
    whole: bool


@dataclass(frozen=True)
class PairView:
    """Everything the pair page shows."""

    row: ResultRow
    record: PaperRecord
    paper: Paper | None
    passages: list[Passage]
    history: list[HumanLabel]
    queue: Queue
    #: the pair's bibliography links after review
    pair_links: PairLinks
    #: why the paper's text cannot be shown (spool missing), else None
    text_error: str | None = None

    @property
    def links(self) -> list[tuple[str, str]]:
        return paper_links(self.paper, self.row.result.bibcode)

    def quote_html(self, link: Link) -> Markup:
        """A link's quote as the passages show it (LaTeX leftovers readable), with the field
        and PDF page it is on."""
        page = self.paper.page_at(link.field, link.start) if self.paper is not None else None
        where = link.field + (f", p. {page}" if page else "")
        verified = "" if link.verified else ", not verified"
        return Markup('“{}” <span class="hint">({}{})</span>').format(
            highlight(link.quote, []), where, verified
        )

    @property
    def authors(self) -> str:
        names = self.paper.authors if self.paper is not None else []
        return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def queue_of(store: Store, row: ResultRow, view: ViewParams) -> Queue:
    """The pair's neighbours in the view: next honours the review filter (the next
    unreviewed pair), previous does not (the pair just reviewed is one step back). The
    counts are the view's (the batch page has the batch's, per reviewer too)."""
    batch, flt, sort = row.batch_id, view.filter, view.sort
    counts = store.review_counts(batch, flt)
    whole = flt.without_review() == ResultFilter()
    return Queue(
        view=view,
        previous=store.queue_neighbour(batch, flt.without_review(), sort, row.id, forward=False),
        next=store.queue_neighbour(batch, flt, sort, row.id, forward=True),
        position=store.queue_position(batch, flt.without_review(), sort, row.id),
        counts=counts,
        whole=whole,
    )


def pair_view(store: Store, settings: Settings, result_id: int, view: ViewParams) -> PairView:
    """The pair page of one result; ``StoreError`` for an unknown id."""
    row = store.get_result(result_id)
    record = store.get_paper(row.paper_id)
    paper, text_error = _paper_of(store, settings, record, row.result.telescope)
    links = pair_links(store, row)
    passages = _passages(paper, row, batch_settings(settings, store.get_batch(row.batch_id)),
                         links)  # fmt: skip
    history = store.review_history(row.result.bibcode, row.result.telescope)
    return PairView(row, record, paper, passages, history, queue_of(store, row, view), links,
                    text_error)  # fmt: skip


def pair_links(store: Store, row: ResultRow) -> PairLinks:
    """The links of a result's pair after review (under its final labels)."""
    c = row.result
    labels, _ = final_labels(c.labels, row.review)
    return review_links(c.links, store.link_edits(c.bibcode, c.telescope), labels)


def _paper_of(
    store: Store, settings: Settings, record: PaperRecord, telescope: str
) -> tuple[Paper | None, str | None]:
    batch = store.get_batch(record.batch_id)
    try:
        items = load_paper(Path(settings.spool_dir) / batch.content_hash, record)
    except AmcError as exc:
        return None, str(exc)
    pairs = [item for item in items if isinstance(item, Pair)]
    if not pairs:
        return None, None
    return next((p for p in pairs if p.telescope.upper() == telescope), pairs[0]).paper, None


@dataclass(frozen=True)
class PaperView:
    """A paper and its pairs (the paper page: an overview linking to each pair)."""

    record: PaperRecord
    paper: Paper | None
    rows: list[ResultRow]
    text_error: str | None = None

    @property
    def links(self) -> list[tuple[str, str]]:
        return paper_links(self.paper, self.record.bibcode)


def paper_view(store: Store, settings: Settings, paper_id: int) -> PaperView:
    """The paper page; ``StoreError`` for an unknown paper."""
    record = store.get_paper(paper_id)
    rows = store.paper_rows(paper_id)
    paper, text_error = _paper_of(store, settings, record, "")
    return PaperView(record, paper, rows, text_error)


def _passages(
    paper: Paper | None, row: ResultRow, settings: Settings, links: PairLinks
) -> list[Passage]:
    if paper is None:
        return []
    registry = registry_for(settings)
    c = row.result
    snippets = []
    if c.telescope in registry.telescopes:
        telescope = registry.get(c.telescope)
        found = find_snippets(paper, telescope, settings.window_sentences,
                              settings.include_references)  # fmt: skip
        snippets = rank_snippets(found, telescope, registry.cues)
    quoted = [r.link for r in links.final if r.link is not None]
    return pair_passages(paper, snippets, c.evidence, quoted)


def paper_links(paper: Paper | None, bibcode: str) -> list[tuple[str, str]]:
    """Links to the paper: DOI, arXiv, and ADS when the bibcode is an ADS bibcode."""
    ids = paper.identifiers if paper is not None else {}
    links = []
    if doi := ids.get("doi"):
        links.append(("DOI", f"https://doi.org/{quote(doi, safe='/')}"))
    if arxiv := ids.get("arxiv"):
        links.append(("arXiv", f"https://arxiv.org/abs/{quote(arxiv, safe='/')}"))
    if _ADS_BIBCODE.match(bibcode):
        links.append(
            ("ADS", f"https://ui.adsabs.harvard.edu/abs/{quote(bibcode, safe='')}/abstract")
        )
    return links


TIER_EXPLAINED = {
    "rules": "decided by amc's rules from the words around the telescope's names (no model)",
    "trained": "decided by a model trained on labelled papers, from the same passages",
    "llm": "decided by a language model that read the passages; its quotes are checked "
    "against the text",
    "cascade": "decided by the rules or trained model, and by a language model when they "
    "were unsure",
}


def how_decided(row: ResultRow) -> str:
    """One sentence for a librarian: who decided the pair's labels, and how."""
    c = row.result
    tier = c.tier.split("+")[0] if c.tier else ""
    text = TIER_EXPLAINED.get(tier, f"decided by the {c.tier} tier")
    return f"{text[0].upper()}{text[1:]}" + (f" ({c.model})" if c.model else "") + "."
