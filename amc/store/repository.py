"""Operations on the job store: batches, papers and results (history tables: ``history.py``).

``Store`` wraps one SQLAlchemy engine. Every method is one short transaction, so
several workers (threads or processes) can share a database: claiming a paper is
an atomic conditional UPDATE, and saving results is an upsert keyed by
(batch_id, pair_id), so a retried task never duplicates a row.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.models import Classification
from amc.store import records as _rows
from amc.store.engine import StoreError, dialect_insert
from amc.store.history import HistoryMixin
from amc.store.labels import LabelsMixin
from amc.store.link_edits import LinkEditsMixin
from amc.store.links import LinkMixin, replace_links
from amc.store.records import BatchInfo, BatchProgress, PaperRecord
from amc.store.recovery import NO_SYNC as _NO_SYNC
from amc.store.recovery import RecoveryMixin, rowcount
from amc.store.review import ReviewMixin
from amc.store.schema import (
    PAPER_STATUSES,
    BatchRow,
    BatchStatus,
    ClassificationRow,
    LlmCallRow,
    PaperRow,
    PaperStatus,
    utcnow,
)
from amc.store.tokens import TokenMixin


def submission_hash(files: Iterable[Path | bytes], telescopes: Iterable[str], tier: str) -> str:
    """sha256 identifying a submission: the files' bytes (order-free), telescopes and tier."""
    digests = sorted(
        hashlib.sha256(f if isinstance(f, bytes) else Path(f).read_bytes()).hexdigest()
        for f in files
    )
    whole = hashlib.sha256()
    for part in [*digests, "|", *sorted({t.upper() for t in telescopes}), "|", tier]:
        whole.update(part.encode() + b"\n")
    return whole.hexdigest()


class Store(
    RecoveryMixin, HistoryMixin, TokenMixin, ReviewMixin, LabelsMixin, LinkMixin, LinkEditsMixin
):
    """The job store over one engine; build it with ``amc.store.open_store``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- batches ---------------------------------------------------------------

    def create_batch(
        self,
        inputs: Sequence[str],
        content_hash: str,
        telescopes: Sequence[str],
        tier: str,
        settings: dict[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Register a submission; returns ``(batch_id, created)``.

        ``created`` is False when a batch with the same content hash exists (a
        duplicate submission): its id is returned and nothing is written.
        """
        new_id = uuid.uuid4().hex[:12]
        values = dict(
            id=new_id,
            inputs=list(inputs),
            content_hash=content_hash,
            telescopes=[t.upper() for t in telescopes],
            tier=tier,
            settings=settings or {},
            status="queued",
            n_papers=0,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        stmt = dialect_insert(self.engine, BatchRow).values(**values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["content_hash"])
        with self._sessions.begin() as session:
            session.execute(stmt)
            found = session.scalar(select(BatchRow.id).filter_by(content_hash=content_hash))
        assert found is not None
        return found, found == new_id

    def get_batch(self, batch_id: str) -> BatchInfo:
        """The batch's record; ``StoreError`` if there is none."""
        with self._sessions() as session:
            return _rows.batch_info(self._batch(session, batch_id))

    def list_batches(self, limit: int = 50) -> list[BatchInfo]:
        """The most recent batches first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(BatchRow).order_by(BatchRow.created_at.desc()).limit(limit)
            )
            return [_rows.batch_info(row) for row in rows]

    def update_batch_settings(self, batch_id: str, values: dict[str, Any]) -> None:
        """Replace some of the settings stored with a batch (its run settings)."""
        with self._sessions.begin() as session:
            batch = self._batch(session, batch_id)
            batch.settings = {**batch.settings, **values}
            batch.updated_at = utcnow()

    def set_batch_status(self, batch_id: str, status: BatchStatus) -> None:
        with self._sessions.begin() as session:
            batch = self._batch(session, batch_id)
            batch.status = status
            batch.updated_at = utcnow()

    @staticmethod
    def _batch(session: Session, batch_id: str) -> BatchRow:
        batch = session.get(BatchRow, batch_id)
        if batch is None:
            raise StoreError(f"no batch {batch_id!r} in the store; list them with `amc status`")
        return batch

    # -- papers ----------------------------------------------------------------

    def add_papers(self, batch_id: str, papers: Iterable[tuple[str, str, str]]) -> list[int]:
        """Add ``(bibcode, source, content_hash)`` papers; returns their ids in input order.

        Adding a paper the batch already has is a no-op that returns the existing id.
        """
        wanted = [(b, s, h) for b, s, h in papers]
        now = utcnow()
        rows = [
            dict(batch_id=batch_id, bibcode=b, source=s, content_hash=h, updated_at=now)
            for b, s, h in wanted
        ]
        with self._sessions.begin() as session:
            self._batch(session, batch_id)
            if rows:
                insert = dialect_insert(self.engine, PaperRow).on_conflict_do_nothing(
                    index_elements=["batch_id", "bibcode", "source"]
                )
                session.execute(insert, rows)
            ids = {
                (r.bibcode, r.source): r.id
                for r in session.execute(
                    select(PaperRow.id, PaperRow.bibcode, PaperRow.source).filter_by(
                        batch_id=batch_id
                    )
                )
            }
            session.execute(
                update(BatchRow).filter_by(id=batch_id).values(n_papers=len(ids), updated_at=now)
            )
        return [ids[(b, s)] for b, s, _ in wanted]

    def claim_paper(self, paper_id: int) -> bool:
        """Atomically move a pending paper to running (attempts + 1); False if not pending."""
        return self.claim_papers([paper_id]) == [paper_id]

    def claim_papers(self, paper_ids: Sequence[int], owner: str | None = None) -> list[int]:
        """Atomically move the pending ones of these papers to running (attempts + 1), in
        one statement; returns the ids claimed here, in the order given. A paper another
        worker holds, or that is finished, is not claimed. ``owner`` (``host/pid/start``,
        ``amc.jobs.owners``) lets a later run take back the papers of a dead process."""
        if not paper_ids:
            return []
        stmt = (
            update(PaperRow)
            .where(PaperRow.id.in_(paper_ids), PaperRow.status == "pending")
            .values(
                status="running", attempts=PaperRow.attempts + 1, owner=owner, updated_at=utcnow()
            )
            .returning(PaperRow.id)
        )
        with self._sessions.begin() as session:
            claimed = set(session.scalars(stmt, execution_options=_NO_SYNC))
        return [pid for pid in paper_ids if pid in claimed]

    def mark_paper_failed(self, paper_id: int, kind: str, message: str) -> None:
        """Record why a whole paper failed (unreadable PDF, worker crash, ...)."""
        stmt = (
            update(PaperRow)
            .where(PaperRow.id == paper_id)
            .values(status="failed", error_kind=kind, error_message=message, updated_at=utcnow())
        )
        with self._sessions.begin() as session:
            if rowcount(session.execute(stmt)) != 1:
                raise StoreError(f"no paper with id {paper_id} in the store")

    def get_paper(self, paper_id: int) -> PaperRecord:
        with self._sessions() as session:
            row = session.get(PaperRow, paper_id)
            if row is None:
                raise StoreError(f"no paper with id {paper_id} in the store")
            return _rows.paper_record(row)

    def get_papers(self, paper_ids: Sequence[int]) -> list[PaperRecord]:
        """These papers, in the order given; an unknown id is left out."""
        with self._sessions() as session:
            rows = {
                r.id: r for r in session.scalars(select(PaperRow).where(PaperRow.id.in_(paper_ids)))
            }
            return [_rows.paper_record(rows[pid]) for pid in paper_ids if pid in rows]

    def pending_papers(self, batch_id: str) -> list[PaperRecord]:
        """Papers still to do, in insertion order."""
        return self._papers(batch_id, "pending")

    def failed_papers(self, batch_id: str) -> list[PaperRecord]:
        """Papers that failed as a whole, with their error kind and message."""
        return self._papers(batch_id, "failed")

    def _papers(self, batch_id: str, status: PaperStatus) -> list[PaperRecord]:
        query = select(PaperRow).filter_by(batch_id=batch_id, status=status).order_by(PaperRow.id)
        with self._sessions() as session:
            return [_rows.paper_record(row) for row in session.scalars(query)]

    # -- results ---------------------------------------------------------------

    def save_results(
        self, batch_id: str, paper_id: int, classifications: Sequence[Classification]
    ) -> None:
        """Upsert a paper's classifications and mark the paper done (``save_papers``)."""
        self.save_papers(batch_id, [(paper_id, classifications)])

    def save_papers(
        self,
        batch_id: str,
        papers: Sequence[tuple[int, Sequence[Classification]]],
        failed: Mapping[int, tuple[str, str]] | None = None,
    ) -> None:
        """For each ``(paper_id, classifications)``: upsert the classifications, mark the
        paper done (or failed, with the ``(kind, message)`` that ``failed`` gives for it)
        and append one ``llm_calls`` row per request they made, all in one transaction
        (one commit for many papers: the store keeps up with a busy worker).

        Keyed by (batch_id, pair_id): saving the same results again (a retried task,
        two workers racing) leaves exactly one row per pair, holding the last write.
        """
        if not papers:
            return
        now = utcnow()
        failed = failed or {}
        ids = sorted({pid for pid, _ in papers})  # one lock order for every writer
        classifications = sorted(
            ((pid, c) for pid, cs in papers for c in cs), key=lambda item: item[1].pair_id
        )
        rows = [_rows.classification_values(c, batch_id, pid, now) for pid, c in classifications]
        calls = [_rows.llm_call_values(c, batch_id, now) for _, c in classifications]
        done = (
            update(PaperRow)
            .where(PaperRow.id.in_(ids), PaperRow.batch_id == batch_id)
            .values(status="done", error_kind=None, error_message=None, updated_at=now)
        )
        with self._sessions.begin() as session:
            # the paper rows first: every writer takes its locks in the same order
            marked = set(session.scalars(done.returning(PaperRow.id), execution_options=_NO_SYNC))
            for pid, (kind, message) in sorted(failed.items()):
                stmt = update(PaperRow).where(PaperRow.id == pid, PaperRow.batch_id == batch_id)
                session.execute(stmt.values(status="failed", error_kind=kind,
                                            error_message=message))  # fmt: skip
            if missing := [pid for pid in ids if pid not in marked]:
                raise StoreError(
                    f"no paper with id {', '.join(map(str, missing))} in batch {batch_id!r}"
                )
            if rows:
                # Core statements on the session's connection: the ORM's bulk path costs
                # more CPU than the database's work (rows are plain values here)
                upsert = dialect_insert(self.engine, ClassificationRow)
                keep = {"id", "created_at", "batch_id", "pair_id"}
                changed = {k: upsert.excluded[k] for k in rows[0] if k not in keep}
                session.connection().execute(
                    upsert.on_conflict_do_update(
                        index_elements=["batch_id", "pair_id"], set_=changed
                    ),
                    rows,
                )
                replace_links(session, batch_id, [c for _, c in classifications], now)
            if any(calls):
                session.connection().execute(
                    insert(LlmCallRow), [row for per in calls for row in per]
                )

    def iter_results(self, batch_id: str) -> Iterator[Classification]:
        """The batch's classifications, rebuilt as pydantic objects, ordered by pair id."""
        return (c for _, c in self.iter_paper_results(batch_id))

    def has_unfinished_papers(self, batch_id: str) -> bool:
        """Whether a paper of the batch is still pending or running (one indexed lookup)."""
        query = (
            select(PaperRow.id)
            .where(PaperRow.batch_id == batch_id, PaperRow.status.in_(("pending", "running")))
            .limit(1)
        )
        with self._sessions() as session:
            return session.scalar(query) is not None

    def batch_progress(self, batch_id: str) -> BatchProgress:
        """Papers by status, pairs saved and failed, errors by kind, token and cost totals."""
        c = ClassificationRow
        with self._sessions() as session:
            self._batch(session, batch_id)
            papers: dict[str, int] = dict.fromkeys(PAPER_STATUSES, 0)
            by_status = select(PaperRow.status, func.count()).filter_by(batch_id=batch_id)
            papers.update({s: n for s, n in session.execute(by_status.group_by(PaperRow.status))})
            totals = session.execute(
                select(
                    func.count(),
                    func.count(c.error_kind),
                    func.coalesce(func.sum(c.prompt_tokens), 0),
                    func.coalesce(func.sum(c.completion_tokens), 0),
                    func.coalesce(func.sum(c.cost_usd), 0.0),
                    func.coalesce(func.sum(c.cached_tokens), 0),
                ).filter_by(batch_id=batch_id)
            ).one()
            errors = _rows.error_counts(session, batch_id)
        return BatchProgress(
            papers=papers,
            pairs=int(totals[0]),
            pairs_failed=int(totals[1]),
            errors=errors,
            prompt_tokens=int(totals[2]),
            completion_tokens=int(totals[3]),
            cost_usd=float(totals[4] or 0.0),
            cached_tokens=int(totals[5]),
        )
