"""A view of a batch's results in SQL: its filters, its orders, and the keyset conditions
of the review queue (``amc.store.review`` runs them).

A view filters on the telescope, the model's labels, a band of decision confidence, the
input labels and the review status; it is ordered by keys that are never NULL (a failed
pair's stored confidence is -1), the pair id last, so "the pair after this one" is a
row comparison that both databases answer with one index range scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, or_, select, true, tuple_
from sqlalchemy.orm import Session

from amc.domain.models import LABELS
from amc.store.engine import StoreError
from amc.store.schema import ClassificationRow, ReviewStateRow

#: model-label filters: a label, ``none`` (all false) or ``error`` (the pair failed)
LABEL_FILTERS = ("science", "instrumentation", "mention", "not_telescope", "none", "error")
#: input-label filters (the labels that came with the input file)
INPUT_FILTERS = ("has", "none", "agree", "disagree")
#: review filters (the librarians' labels)
REVIEW_FILTERS = ("unreviewed", "reviewed", "accepted", "corrected")
#: orders of the results and of the queue; the first is the default
SORTS = ("confidence", "-confidence", "pair", "telescope")

C, R = ClassificationRow, ReviewStateRow
LABEL_NAMES = [label.value for label in LABELS]


@dataclass(frozen=True)
class ResultFilter:
    """A view of a batch's results; None means no filtering on that column."""

    telescope: str | None = None
    label: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    input: str | None = None
    review: str | None = None

    def without_review(self) -> ResultFilter:
        """The same view whatever the review status (the queue's progress counts it)."""
        return replace(self, review=None)

    def describe(self) -> str:
        """The view in words, for confirmations: ``telescope HST, label science, ...``."""
        parts = [f"telescope {self.telescope.upper()}" if self.telescope else "",
                 f"model label {self.label}" if self.label else "",
                 f"confidence ≥ {self.min_confidence:g}" if self.min_confidence is not None else "",
                 f"confidence ≤ {self.max_confidence:g}" if self.max_confidence is not None else "",
                 f"input labels: {self.input}" if self.input else "",
                 f"review: {self.review}" if self.review else ""]  # fmt: skip
        return ", ".join(p for p in parts if p) or "every pair"


def joined() -> Any:
    return select(C, R).outerjoin(R, and_(R.bibcode == C.bibcode, R.telescope == C.telescope))


def filtered(
    query: Any,
    batch_id: str,
    flt: ResultFilter,
    join: bool = False,
    inner: bool = False,
) -> Any:
    """``query`` restricted to the view; ``join``: add the reviewer-label join (queries
    that start from ``_joined`` have it already)."""
    if join:
        on = and_(R.bibcode == C.bibcode, R.telescope == C.telescope)
        query = query.join(R, on) if inner else query.outerjoin(R, on)
    return query.where(C.batch_id == batch_id, *conditions(flt))


def conditions(flt: ResultFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if flt.telescope:
        out.append(C.telescope == flt.telescope.upper())
    if flt.label:
        out.append(label_condition(flt.label))
    if flt.min_confidence is not None:
        out.append(C.confidence >= flt.min_confidence)
    if flt.max_confidence is not None:  # failed pairs (-1) have no confidence to compare
        out.append(and_(C.confidence >= 0, C.confidence <= flt.max_confidence))
    if flt.input:
        out.append(input_condition(flt.input))
    if flt.review:
        out.append(review_condition(flt.review))
    return out


def label_condition(label: str) -> ColumnElement[bool]:
    if label == "error":
        return C.confidence < 0
    if label == "none":
        return and_(*[getattr(C, name) == false() for name in LABEL_NAMES])
    if label not in LABEL_NAMES:
        raise StoreError(f"unknown label filter {label!r}; choose one of {LABEL_FILTERS}")
    return getattr(C, label) == true()


def input_condition(value: str) -> ColumnElement[bool]:
    conditions = {
        "has": C.gold.is_not(None),
        "none": C.gold.is_(None),
        "agree": C.input_differs == false(),
        "disagree": C.input_differs == true(),
    }
    if value not in conditions:
        raise StoreError(f"unknown input-label filter {value!r}; choose one of {INPUT_FILTERS}")
    return conditions[value]


def review_condition(value: str) -> ColumnElement[bool]:
    differs = or_(C.confidence < 0, *[getattr(C, n) != getattr(R, n) for n in LABEL_NAMES])
    conditions = {
        "unreviewed": R.bibcode.is_(None),
        "reviewed": R.bibcode.is_not(None),
        "accepted": and_(R.bibcode.is_not(None), ~differs),
        "corrected": and_(R.bibcode.is_not(None), differs),
    }
    if value not in conditions:
        raise StoreError(f"unknown review filter {value!r}; choose one of {REVIEW_FILTERS}")
    return conditions[value]


def order_keys(sort: str) -> tuple[list[Any], bool]:
    """The order's keys (none NULL; the pair id last makes it total within a batch) and
    whether it runs from the largest key down."""
    orders: dict[str, tuple[list[Any], bool]] = {
        "confidence": ([C.confidence, C.pair_id], False),
        "-confidence": ([C.confidence, C.pair_id], True),
        "pair": ([C.pair_id], False),
        "telescope": ([C.telescope, C.confidence, C.pair_id], False),
    }
    if sort not in orders:
        raise StoreError(f"unknown sort {sort!r}; choose one of {SORTS}")
    return orders[sort]


def ordering(sort: str, reverse: bool = False) -> list[Any]:
    keys, descending = order_keys(sort)
    return [k.desc() if descending != reverse else k.asc() for k in keys]


def key_of(session: Session, keys: Sequence[Any], result_id: int) -> list[Any]:
    values = session.execute(select(*keys).where(C.id == result_id)).first()
    if values is None:
        raise StoreError(f"no result with id {result_id} in the store")
    return list(values)


def beyond(keys: Sequence[Any], values: Sequence[Any], after: bool) -> ColumnElement[bool]:
    """Rows whose keys are past ``values`` (larger when ``after``, else smaller): a row
    comparison, which both databases answer with an index range scan."""
    row, at = tuple_(*keys), tuple_(*[literal(v) for v in values])
    return row > at if after else row < at


def model_columns() -> list[Any]:
    return [getattr(C, name) for name in LABEL_NAMES]
