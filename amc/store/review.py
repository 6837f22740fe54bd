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
    Engine,
    and_,
    func,
    select,
    tuple_,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.models import LABELS, Classification, Link, TelescopeLabels
from amc.domain.reviews import LabelSource, final_labels
from amc.store import records as _rows
from amc.store import views
from amc.store.engine import StoreError
from amc.store.links import links_of
from amc.store.records import HumanLabel
from amc.store.schema import PAPER_STATUSES, ClassificationRow, PaperRow, ReviewStateRow
from amc.store.views import SORTS, ResultFilter

C, R = ClassificationRow, ReviewStateRow
_LABEL_NAMES = [label.value for label in LABELS]


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
    #: unreviewed pairs of the view that have labels (what a bulk accept would record)
    acceptable: int = 0


class ReviewMixin:
    """Queries of the reviewing screens; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    # -- the results of a batch ------------------------------------------------

    def iter_paper_results(self, batch_id: str) -> Iterator[tuple[int, Classification]]:
        """``(paper id, classification)`` of every result of the batch, by pair id."""
        query = select(C).where(C.batch_id == batch_id).order_by(C.pair_id)
        with self._sessions() as session:
            for rows in session.scalars(query.execution_options(yield_per=500)).partitions():
                links = links_of(session, batch_id, [row.pair_id for row in rows])
                for row in rows:
                    yield row.paper_id, _rows.classification(row, links.get(row.pair_id, []))

    def iter_reviewed_results(
        self, batch_id: str
    ) -> Iterator[tuple[Classification, HumanLabel | None]]:
        """Every result of the batch with its pair's current reviewer label, by pair id."""
        query = views.joined().where(C.batch_id == batch_id).order_by(C.pair_id)
        with self._sessions() as session:
            for part in session.execute(query.execution_options(yield_per=500)).partitions():
                for r in _result_rows(session, part):
                    yield r.result, r.review

    def paper_results(self, paper_id: int) -> list[Classification]:
        """One paper's classifications, by pair id."""
        return [r.result for r in self.paper_rows(paper_id)]

    def paper_rows(self, paper_id: int) -> list[ResultRow]:
        """One paper's results with their reviewer labels, by pair id."""
        query = views.joined().where(C.paper_id == paper_id).order_by(C.pair_id)
        with self._sessions() as session:
            return _result_rows(session, session.execute(query).all())

    def result_page(
        self,
        batch_id: str,
        flt: ResultFilter,
        sort: str = SORTS[0],
        limit: int = 50,
        offset: int = 0,
        after: int | None = None,
        before: int | None = None,
        count: bool = True,
    ) -> tuple[list[ResultRow], int]:
        """One page of the view (sorted, filtered in SQL) and how many pairs it has.

        The page is the ``limit`` pairs from ``offset``, or, cheaper however deep, the
        ``limit`` pairs right after the pair ``after`` (or right before ``before``) in the
        view's order: an index range scan. Its ids are picked first, then its rows read.
        Without ``count`` the total is not counted (-1): the caller knows it already."""
        join = bool(flt.review)
        keys, descending = views.order_keys(sort)
        ids = views.filtered(select(C.id), batch_id, flt, join=join)
        counted = views.filtered(select(func.count()).select_from(C), batch_id, flt, join=join)
        with self._sessions() as session:
            if after is not None or before is not None:
                edge = after if after is not None else before
                past = after is not None
                key = views.key_of(session, keys, edge)  # type: ignore[arg-type]
                ids = ids.where(views.beyond(keys, key, after=past != descending))
                ids = ids.order_by(*views.ordering(sort, reverse=not past)).limit(limit)
            else:
                ids = ids.order_by(*views.ordering(sort)).limit(limit).offset(offset)
            query = views.joined().where(C.id.in_(ids.scalar_subquery()))
            rows = session.execute(query.order_by(*views.ordering(sort)))
            page = _result_rows(session, rows.all())
            return page, int(session.scalar(counted) or 0) if count else -1

    def get_result(self, result_id: int) -> ResultRow:
        """One result by its id; ``StoreError`` if there is none."""
        with self._sessions() as session:
            found = session.execute(views.joined().where(C.id == result_id)).first()
            if found is None:
                raise StoreError(f"no result with id {result_id} in the store")
            return _result_rows(session, [found])[0]

    # -- the review queue ------------------------------------------------------

    def queue_neighbour(
        self, batch_id: str, flt: ResultFilter, sort: str, current: int | None, forward: bool
    ) -> int | None:
        """The id of the pair after (``forward``) or before ``current`` in the view's
        order, or its first pair when ``current`` is None; None at the end. One index
        range scan: the order's keys are never NULL."""
        keys, descending = views.order_keys(sort)
        query = views.filtered(select(C.id), batch_id, flt, join=bool(flt.review))
        with self._sessions() as session:
            if current is not None:
                query = query.where(views.beyond(keys, views.key_of(session, keys, current),
                                            after=forward != descending))  # fmt: skip
            order = views.ordering(sort) if forward else views.ordering(sort, reverse=True)
            return session.scalar(query.order_by(*order).limit(1))

    def queue_position(self, batch_id: str, flt: ResultFilter, sort: str, current: int) -> int:
        """The 1-based place of ``current`` in the view's order."""
        keys, descending = views.order_keys(sort)
        count = views.filtered(
            select(func.count()).select_from(C), batch_id, flt, join=bool(flt.review)
        )
        with self._sessions() as session:
            before = views.beyond(keys, views.key_of(session, keys, current), after=descending)
            return int(session.scalar(count.where(before)) or 0) + 1

    def review_counts(self, batch_id: str, flt: ResultFilter | None = None) -> ReviewCounts:
        """Pairs of the view (any review status), how many have a reviewer label, how many
        each reviewer gave, and how many a bulk accept of the view would record."""
        view = flt or ResultFilter()
        failed = C.confidence < 0
        if view.without_review() == ResultFilter():
            # the whole batch: counts on indexes alone, reviews from review_state's side
            batch = C.batch_id == batch_id
            totals = select(
                select(func.count()).where(batch).scalar_subquery(),
                select(func.count()).where(batch, failed).scalar_subquery(),
            )
            on = and_(C.bibcode == R.bibcode, C.telescope == R.telescope, C.batch_id == batch_id)
            reviewed = select(R.reviewer, failed, func.count()).select_from(R).join(C, on)
        else:
            whole = view.without_review()
            totals = select(func.count(), func.count().filter(failed)).select_from(C)
            totals = views.filtered(totals, batch_id, whole)
            reviewed = select(R.reviewer, failed, func.count()).select_from(C)
            reviewed = views.filtered(reviewed, batch_id, whole, join=True, inner=True)
        by: dict[str, int] = {}
        reviewed_failed = 0
        with self._sessions() as session:
            total, total_failed = session.execute(totals).one()
            for reviewer, is_failed, n in session.execute(reviewed.group_by(R.reviewer, failed)):
                by[str(reviewer)] = by.get(str(reviewer), 0) + int(n)
                reviewed_failed += int(n) if is_failed else 0
        open_ok = int(total) - int(total_failed) - (sum(by.values()) - reviewed_failed)
        acceptable = open_ok if view.review in (None, "unreviewed") else 0
        return ReviewCounts(int(total), sum(by.values()), by, acceptable)

    def papers_by_status(self, batch_id: str) -> dict[str, int]:
        """The batch's papers by state (an index-only count: cheap on any batch size)."""
        query = select(PaperRow.status, func.count()).where(PaperRow.batch_id == batch_id)
        counts: dict[str, int] = dict.fromkeys(PAPER_STATUSES, 0)
        with self._sessions() as session:
            counts.update(
                {str(k): int(v) for k, v in session.execute(query.group_by(PaperRow.status))}
            )
        return counts

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
        return self.review_counts(batch_id, flt).acceptable

    def accept_candidates(
        self, batch_id: str, flt: ResultFilter
    ) -> list[tuple[str, str, TelescopeLabels]]:
        """``(bibcode, telescope, model labels)`` of the view's unreviewed pairs that have
        labels: what a bulk accept records (none when the view shows reviewed pairs)."""
        if flt.review not in (None, "unreviewed"):
            return []
        view = replace(flt, review="unreviewed")
        columns = select(C.bibcode, C.telescope, *views.model_columns())
        query = views.filtered(columns, batch_id, view,
                          join=True).where(C.confidence >= 0).order_by(C.pair_id)  # fmt: skip
        with self._sessions() as session:
            return [
                (r[0], r[1], TelescopeLabels(**dict(zip(_LABEL_NAMES, r[2:], strict=True))))
                for r in session.execute(query)
            ]


def _result_rows(
    session: Session, rows: Sequence[Row[Any]] | Sequence[tuple[Any, ...]]
) -> list[ResultRow]:
    """Results with their reviewer labels and their stored links."""
    links: dict[tuple[str, str], list[Link]] = {}
    batches: dict[str, list[str]] = {}
    for row, _ in rows:
        batches.setdefault(row.batch_id, []).append(row.pair_id)
    for batch_id, pair_ids in batches.items():
        for pair_id, found in links_of(session, batch_id, pair_ids).items():
            links[batch_id, pair_id] = found
    out = []
    for row, review in rows:
        state = _rows.review_state(review) if review is not None else None
        c = _rows.classification(row, links.get((row.batch_id, row.pair_id), []))
        out.append(ResultRow(row.id, row.paper_id, row.batch_id, c, state))
    return out
