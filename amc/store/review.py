"""Reads the reviewing screens need (web app): a mixin of ``Store``, like ``history.py``.

Results with the id of their paper (for links), one paper's results, and the
reviewers' label history of one paper.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.models import Classification
from amc.store import records as _rows
from amc.store.links import links_of
from amc.store.records import HumanLabel
from amc.store.schema import ClassificationRow, HumanLabelRow


class ReviewMixin:
    """Queries for reviewing results; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def iter_paper_results(self, batch_id: str) -> Iterator[tuple[int, Classification]]:
        """``(paper id, classification)`` of every result of the batch, by pair id."""
        query = (
            select(ClassificationRow)
            .filter_by(batch_id=batch_id)
            .order_by(ClassificationRow.pair_id)
            .execution_options(yield_per=500)
        )
        with self._sessions() as session:
            for rows in session.scalars(query).partitions():
                links = links_of(session, batch_id, [row.pair_id for row in rows])
                for row in rows:
                    yield row.paper_id, _rows.classification(row, links.get(row.pair_id, []))

    def paper_results(self, paper_id: int) -> list[Classification]:
        """One paper's classifications, by pair id."""
        query = (
            select(ClassificationRow)
            .filter_by(paper_id=paper_id)
            .order_by(ClassificationRow.pair_id)
        )
        with self._sessions() as session:
            rows = list(session.scalars(query))
            if not rows:
                return []
            links = links_of(session, rows[0].batch_id, [row.pair_id for row in rows])
            return [_rows.classification(row, links.get(row.pair_id, [])) for row in rows]

    def human_label_history(self, bibcode: str) -> list[HumanLabel]:
        """Every reviewer label of a bibcode (all telescopes), newest first."""
        query = select(HumanLabelRow).filter_by(bibcode=bibcode).order_by(HumanLabelRow.id.desc())
        with self._sessions() as session:
            return [_rows.human_label(row) for row in session.scalars(query)]
