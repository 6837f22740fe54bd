"""Reads of the review workbench, done in the database: a mixin of ``Store``.

A batch's results are filtered (telescope, model label, confidence band, input labels,
review status), sorted (least confident first by default) and paged by SQL over
indexed columns, joined with the current reviewer labels (``review_state``), so a
batch of 80,000 pairs answers as fast as one of 50. The review queue walks the same
view with keyset navigation: the pair after (or before) the current one in the sort
order, found with one indexed query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.models import LABELS, Classification, TelescopeLabels
from amc.domain.reviews import LabelSource, final_labels
from amc.store import records as _rows
from amc.store.engine import StoreError
from amc.store.records import HumanLabel
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
_LABEL_NAMES = [label.value for label in LABELS]


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


@dataclass(frozen=True)
class ResultRow:
    """One pair of a batch with its current reviewer label."""

    id: int
    paper_id: int
    batch_id: str
    result: Classification
    review: HumanLabel | None

    @property
    def confidence(self) -> float | None:
        """Confidence of the decision as a whole: its weakest label call."""
        c = self.result
        return c.confidence.decided(c.labels) if c.labels is not None else None

    @property
    def input_differs(self) -> bool:
        """The model's labels differ from the input file's labels."""
        c = self.result
        return c.gold is not None and c.labels is not None and c.labels != c.gold

    @property
    def review_status(self) -> str:
        """``unreviewed``, ``accepted`` (the reviewer kept the model's labels) or ``corrected``."""
        if self.review is None:
            return "unreviewed"
        return "accepted" if self.review.labels == self.result.labels else "corrected"

    @property
    def final(self) -> tuple[TelescopeLabels | None, LabelSource]:
        return final_labels(self.result.labels, self.review)


@dataclass(frozen=True)
class ReviewCounts:
    """How much of a view is reviewed, in all and by each reviewer."""

    total: int
    reviewed: int
    by_reviewer: dict[str, int]


class ReviewMixin:
    """Queries of the reviewing screens; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    # -- the results of a batch ------------------------------------------------

    def iter_paper_results(self, batch_id: str) -> Iterator[tuple[int, Classification]]:
        """``(paper id, classification)`` of every result of the batch, by pair id."""
        query = select(C).where(C.batch_id == batch_id).order_by(C.pair_id)
        with self._sessions() as session:
            for row in session.scalars(query.execution_options(yield_per=500)):
                yield row.paper_id, _rows.classification(row)

    def iter_reviewed_results(
        self, batch_id: str
    ) -> Iterator[tuple[Classification, HumanLabel | None]]:
        """Every result of the batch with its pair's current reviewer label, by pair id."""
        query = _joined().where(C.batch_id == batch_id).order_by(C.pair_id)
        with self._sessions() as session:
            for row, review in session.execute(query.execution_options(yield_per=500)):
                state = _rows.review_state(review) if review is not None else None
                yield _rows.classification(row), state

    def paper_results(self, paper_id: int) -> list[Classification]:
        """One paper's classifications, by pair id."""
        return [r.result for r in self.paper_rows(paper_id)]

    def paper_rows(self, paper_id: int) -> list[ResultRow]:
        """One paper's results with their reviewer labels, by pair id."""
        query = _joined().where(C.paper_id == paper_id).order_by(C.pair_id)
        with self._sessions() as session:
            return [_result_row(row, review) for row, review in session.execute(query)]

    def result_page(
        self,
        batch_id: str,
        flt: ResultFilter,
        sort: str = SORTS[0],
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ResultRow], int]:
        """One page of the view (sorted, filtered in SQL) and how many pairs it has."""
        query = _filtered(_joined(), batch_id, flt).order_by(*_order(sort))
        count = _filtered(select(func.count()).select_from(C), batch_id, flt, join=bool(flt.review))
        with self._sessions() as session:
            total = int(session.scalar(count) or 0)
            rows = session.execute(query.limit(limit).offset(offset))
            return [_result_row(row, review) for row, review in rows], total

    def get_result(self, result_id: int) -> ResultRow:
        """One result by its id; ``StoreError`` if there is none."""
        with self._sessions() as session:
            found = session.execute(_joined().where(C.id == result_id)).first()
            if found is None:
                raise StoreError(f"no result with id {result_id} in the store")
            return _result_row(found[0], found[1])

    # -- the review queue ------------------------------------------------------

    def queue_neighbour(
        self, batch_id: str, flt: ResultFilter, sort: str, current: int | None, forward: bool
    ) -> int | None:
        """The id of the pair after (``forward``) or before ``current`` in the view's
        order, or its first pair when ``current`` is None; None at the end."""
        keys = _sort_keys(sort)
        query = _filtered(select(C.id), batch_id, flt, join=bool(flt.review))
        with self._sessions() as session:
            if current is not None:
                values = session.execute(select(*keys).where(C.id == current)).first()
                if values is None:
                    raise StoreError(f"no result with id {current} in the store")
                query = query.where(_beyond(keys, list(values), forward))
            order = _order(sort) if forward else _order(sort, reverse=True)
            return session.scalar(query.order_by(*order).limit(1))

    def queue_position(self, batch_id: str, flt: ResultFilter, sort: str, current: int) -> int:
        """The 1-based place of ``current`` in the view's order."""
        keys = _sort_keys(sort)
        count = _filtered(select(func.count()).select_from(C), batch_id, flt, join=bool(flt.review))
        with self._sessions() as session:
            values = session.execute(select(*keys).where(C.id == current)).first()
            if values is None:
                raise StoreError(f"no result with id {current} in the store")
            before = session.scalar(count.where(_beyond(keys, list(values), forward=False)))
        return int(before or 0) + 1

    def review_counts(self, batch_id: str, flt: ResultFilter | None = None) -> ReviewCounts:
        """Pairs of the view (any review status), how many have a reviewer label, and how
        many each reviewer gave."""
        view = (flt or ResultFilter()).without_review()
        both = select(func.count(), func.count(R.bibcode)).select_from(C)
        per = select(R.reviewer, func.count()).select_from(C)
        with self._sessions() as session:
            total, reviewed = session.execute(_filtered(both, batch_id, view, join=True)).one()
            counted = _filtered(per, batch_id, view, join=True, inner=True)
            by: dict[str, int] = {
                str(k): int(v) for k, v in session.execute(counted.group_by(R.reviewer))
            }
        return ReviewCounts(int(total), int(reviewed), {str(k): int(v) for k, v in by.items()})

    def latest_result_ids(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The newest result id of each (bibcode, telescope) that a batch has classified."""
        wanted = list(dict.fromkeys((b, t.upper()) for b, t in pairs))
        found: dict[tuple[str, str], int] = {}
        with self._sessions() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = (
                    select(C.bibcode, C.telescope, func.max(C.id))
                    .where(tuple_(C.bibcode, C.telescope).in_(chunk))
                    .group_by(C.bibcode, C.telescope)
                )
                found.update({(b, t): int(i) for b, t, i in session.execute(query)})
        return found

    def accept_count(self, batch_id: str, flt: ResultFilter) -> int:
        """How many pairs a bulk accept of the view would record (``accept_candidates``)."""
        view = replace(flt, review="unreviewed")
        query = _filtered(select(func.count()).select_from(C), batch_id, view, join=True)
        with self._sessions() as session:
            return int(session.scalar(query.where(C.science.is_not(None))) or 0)

    def accept_candidates(
        self, batch_id: str, flt: ResultFilter
    ) -> list[tuple[str, str, TelescopeLabels]]:
        """``(bibcode, telescope, model labels)`` of the view's unreviewed pairs that have
        labels: what a bulk accept records."""
        view = replace(flt, review="unreviewed")
        query = _filtered(select(C.bibcode, C.telescope, *_model_columns()), batch_id, view,
                          join=True).where(C.science.is_not(None)).order_by(C.pair_id)  # fmt: skip
        with self._sessions() as session:
            return [
                (r[0], r[1], TelescopeLabels(**dict(zip(_LABEL_NAMES, r[2:], strict=True))))
                for r in session.execute(query)
            ]


# -- query building -----------------------------------------------------------------------


def _joined() -> Any:
    return select(C, R).outerjoin(R, and_(R.bibcode == C.bibcode, R.telescope == C.telescope))


def _filtered(
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
    return query.where(C.batch_id == batch_id, *_conditions(flt))


def _conditions(flt: ResultFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if flt.telescope:
        out.append(C.telescope == flt.telescope.upper())
    if flt.label:
        out.append(_label_condition(flt.label))
    if flt.min_confidence is not None:
        out.append(C.confidence >= flt.min_confidence)
    if flt.max_confidence is not None:
        out.append(C.confidence <= flt.max_confidence)
    if flt.input:
        out.append(_input_condition(flt.input))
    if flt.review:
        out.append(_review_condition(flt.review))
    return out


def _label_condition(label: str) -> ColumnElement[bool]:
    if label == "error":
        return C.science.is_(None)
    if label == "none":
        return and_(*[getattr(C, name) == false() for name in _LABEL_NAMES])
    if label not in _LABEL_NAMES:
        raise StoreError(f"unknown label filter {label!r}; choose one of {LABEL_FILTERS}")
    return getattr(C, label) == true()


def _input_condition(value: str) -> ColumnElement[bool]:
    conditions = {
        "has": C.gold.is_not(None),
        "none": C.gold.is_(None),
        "agree": C.input_differs == false(),
        "disagree": C.input_differs == true(),
    }
    if value not in conditions:
        raise StoreError(f"unknown input-label filter {value!r}; choose one of {INPUT_FILTERS}")
    return conditions[value]


def _review_condition(value: str) -> ColumnElement[bool]:
    differs = or_(C.science.is_(None), *[getattr(C, n) != getattr(R, n) for n in _LABEL_NAMES])
    conditions = {
        "unreviewed": R.bibcode.is_(None),
        "reviewed": R.bibcode.is_not(None),
        "accepted": and_(R.bibcode.is_not(None), ~differs),
        "corrected": and_(R.bibcode.is_not(None), differs),
    }
    if value not in conditions:
        raise StoreError(f"unknown review filter {value!r}; choose one of {REVIEW_FILTERS}")
    return conditions[value]


def _sort_keys(sort: str) -> list[ColumnElement[Any]]:
    """The order's keys, each ascending with NULLs (failed pairs) last; the pair id last
    makes it total within a batch."""
    keys: dict[str, list[Any]] = {
        "confidence": [C.confidence, C.pair_id],
        "-confidence": [0.0 - C.confidence, C.pair_id],
        "pair": [C.pair_id],
        "telescope": [C.telescope, C.confidence, C.pair_id],
    }
    if sort not in keys:
        raise StoreError(f"unknown sort {sort!r}; choose one of {SORTS}")
    return keys[sort]


def _order(sort: str, reverse: bool = False) -> list[Any]:
    keys = _sort_keys(sort)
    if reverse:
        return [k.desc().nulls_first() for k in keys]
    return [k.asc().nulls_last() for k in keys]


def _beyond(keys: Sequence[Any], values: list[Any], forward: bool) -> ColumnElement[bool]:
    """Rows strictly after (``forward``) or before ``values`` in the order of ``keys``
    (ascending, NULL largest): the keyset condition of the next or previous pair."""
    if not keys:
        return false()
    key, value, rest = keys[0], values[0], _beyond(keys[1:], values[1:], forward)
    if forward:
        if value is None:
            return and_(key.is_(None), rest)
        return or_(key > value, key.is_(None), and_(key == value, rest))
    if value is None:
        return or_(key.is_not(None), and_(key.is_(None), rest))
    return or_(key < value, and_(key == value, rest))


def _model_columns() -> list[Any]:
    return [getattr(C, name) for name in _LABEL_NAMES]


def _result_row(row: ClassificationRow, review: ReviewStateRow | None) -> ResultRow:
    state = _rows.review_state(review) if review is not None else None
    return ResultRow(row.id, row.paper_id, row.batch_id, _rows.classification(row), state)
