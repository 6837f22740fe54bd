"""Giving papers back and taking them back: a mixin of ``Store``, like ``history.py``.

An interrupted run gives back what it claimed (``release_papers``); a later run takes
back the papers of a process that died holding them (``reclaim_dead``: its owner is
known dead on this host; ``requeue_stale``: untouched past the lease, for other hosts)
and the papers a run stop left unclassified (``reset_resumable``); ``amc retry --failed``
resets every failed one (``reset_failed``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from amc.store.engine import StoreError
from amc.store.schema import BatchRow, ClassificationRow, PaperRow, utcnow

#: bulk UPDATEs over ids: no ORM objects in these short sessions to keep in step
NO_SYNC = {"synchronize_session": False}


def rowcount(result: Any) -> int:
    return int(result.rowcount)


class RecoveryMixin:
    _sessions: sessionmaker[Session]

    def release_papers(self, paper_ids: Sequence[int]) -> int:
        """Give claimed papers back (running -> pending, the claim's attempt undone): an
        interrupted embedded run leaves nothing stranded. Returns how many were released."""
        if not paper_ids:
            return 0
        stmt = (
            update(PaperRow)
            .where(PaperRow.id.in_(paper_ids), PaperRow.status == "running")
            .values(status="pending", attempts=PaperRow.attempts - 1, owner=None,
                    updated_at=utcnow())
        )  # fmt: skip
        with self._sessions.begin() as session:
            return rowcount(session.execute(stmt, execution_options=NO_SYNC))

    def reclaim_dead(self, batch_id: str, is_dead: Callable[[str], bool]) -> int:
        """Make pending again the running papers whose owner ``is_dead`` (``kill -9`` of
        the process that claimed them); how many. Papers without an owner, or whose owner
        cannot be known dead, wait for the lease (``requeue_stale``)."""
        owners = select(PaperRow.owner).where(
            PaperRow.batch_id == batch_id, PaperRow.status == "running", PaperRow.owner.is_not(None)
        )
        with self._sessions() as session:
            dead = [o for o in set(session.scalars(owners.distinct())) if o and is_dead(o)]
        if not dead:
            return 0
        stmt = (
            update(PaperRow)
            .where(PaperRow.batch_id == batch_id, PaperRow.status == "running",
                   PaperRow.owner.in_(dead))
            .values(status="pending", owner=None, updated_at=utcnow())
        )  # fmt: skip
        with self._sessions.begin() as session:
            return rowcount(session.execute(stmt, execution_options=NO_SYNC))

    def reset_resumable(self, batch_id: str, kinds: Collection[str]) -> int:
        """Make pending again the failed papers whose error kind is in ``kinds`` (left by a
        run stop, failed by the provider): running the same command again resumes them.
        Papers that failed for their own reason (an unreadable PDF) stay failed. A
        finished batch goes back to ``queued``."""
        stmt = (
            update(PaperRow)
            .where(PaperRow.batch_id == batch_id, PaperRow.status == "failed",
                   PaperRow.error_kind.in_(list(kinds)))
            .values(status="pending", error_kind=None, error_message=None, updated_at=utcnow())
        )  # fmt: skip
        return self._reset(batch_id, stmt)

    def reset_failed(self, batch_id: str) -> int:
        """Make failed papers, and done papers with a failed pair, pending again.

        For ``amc retry --failed``; returns how many papers were reset. A finished
        batch goes back to ``queued``.
        """
        has_failed_pair = (
            select(ClassificationRow.id)
            .where(
                ClassificationRow.paper_id == PaperRow.id, ClassificationRow.error_kind.is_not(None)
            )
            .exists()
        )
        stmt = (
            update(PaperRow)
            .where(
                PaperRow.batch_id == batch_id,
                or_(PaperRow.status == "failed", and_(PaperRow.status == "done", has_failed_pair)),
            )
            .values(status="pending", error_kind=None, error_message=None, updated_at=utcnow())
        )
        return self._reset(batch_id, stmt)

    def _reset(self, batch_id: str, stmt: Any) -> int:
        """Run a statement making papers pending; reopen the batch if it was finished."""
        with self._sessions.begin() as session:
            batch = session.get(BatchRow, batch_id)
            if batch is None:
                raise StoreError(f"no batch {batch_id!r} in the store; list them with `amc status`")
            n = rowcount(session.execute(stmt, execution_options=NO_SYNC))
            if n and batch.status in ("done", "failed"):
                batch.status, batch.updated_at = "queued", utcnow()
        return n

    def requeue_stale(self, batch_id: str, older_than: timedelta) -> int:
        """Make ``running`` papers untouched for ``older_than`` pending again (dead workers)."""
        stmt = (
            update(PaperRow)
            .where(
                PaperRow.batch_id == batch_id,
                PaperRow.status == "running",
                PaperRow.updated_at < utcnow() - older_than,
            )
            .values(status="pending", owner=None, updated_at=utcnow())
        )
        with self._sessions.begin() as session:
            return rowcount(session.execute(stmt))
