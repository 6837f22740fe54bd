"""Reviewer labels in the store: a mixin of ``Store``.

Every decision is appended to ``human_labels`` (who, token, when, action, note) and, in
the same transaction, becomes the pair's row in ``review_state`` (the current label the
queue and the exports join on). Undo is a decision too: it appends an ``undo`` row that
restores the state before the last decision still standing (or clears the pair), so the
history keeps everything and undoing twice steps back twice. Audit resolutions are kept
per pair with the text hash they were made on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.metrics import label_names
from amc.domain.models import LABELS, TelescopeLabels
from amc.store import records as _rows
from amc.store.engine import StoreError, dialect_insert
from amc.store.records import HumanLabel
from amc.store.schema import (
    AuditResolutionRow,
    ClassificationRow,
    HumanLabelRow,
    ReviewStateRow,
    utcnow,
)

_LABEL_NAMES = [label.value for label in LABELS]
#: rows written per statement by a bulk accept
_CHUNK = 1000


@dataclass(frozen=True)
class Reviewer:
    """Who records a decision: the name shown, and the API token behind it."""

    name: str
    token_id: int | None = None


@dataclass(frozen=True)
class AuditResolution:
    """A suspect a librarian resolved."""

    pair_key: str
    text_hash: str
    decision: str
    labels: str
    reviewer: str
    resolved_at: datetime


class LabelsMixin:
    """Reviewer labels and audit resolutions; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def pair_is_known(self, bibcode: str, telescope: str) -> bool:
        """Whether any batch has classified this (bibcode, telescope) pair."""
        query = select(
            exists().where(
                ClassificationRow.bibcode == bibcode, ClassificationRow.telescope == telescope
            )
        )
        with self._sessions() as session:
            return bool(session.scalar(query))

    def record_review(
        self,
        bibcode: str,
        telescope: str,
        labels: TelescopeLabels,
        reviewer: Reviewer,
        action: str = "correct",
        note: str = "",
    ) -> HumanLabel:
        """Append a decision to the history and make it the pair's current label."""
        with self._sessions.begin() as session:
            row = _history_row(bibcode, telescope.upper(), labels, reviewer, action, note)
            self._append(session, [row])
            return _rows.human_label(row)

    def add_human_label(
        self,
        bibcode: str,
        telescope: str,
        labels: TelescopeLabels,
        reviewer: str = "",
        note: str = "",
    ) -> int:
        """Record a correction by ``reviewer`` (a name, no token); returns its history id."""
        return self.record_review(bibcode, telescope, labels, Reviewer(reviewer), note=note).id

    def accept_many(
        self, pairs: Sequence[tuple[str, str, TelescopeLabels]], reviewer: Reviewer, note: str = ""
    ) -> int:
        """Record ``bulk_accept`` decisions (one history row each); how many were recorded."""
        for start in range(0, len(pairs), _CHUNK):
            with self._sessions.begin() as session:
                rows = [_history_row(b, t, labels, reviewer, "bulk_accept", note)
                        for b, t, labels in pairs[start : start + _CHUNK]]  # fmt: skip
                self._append(session, rows)
        return len(pairs)

    def undo_review(self, bibcode: str, telescope: str, reviewer: Reviewer) -> HumanLabel | None:
        """Take the pair back to its state before the last decision still standing; the
        restored label, or None when the pair has no reviewer label any more.
        ``StoreError`` when there is nothing to undo."""
        telescope = telescope.upper()
        with self._sessions.begin() as session:
            history = list(session.scalars(_history_query(bibcode, telescope).order_by(
                HumanLabelRow.id)))  # fmt: skip
            standing = _standing(history)
            if not standing:
                raise StoreError(f"nothing to undo for {bibcode} {telescope}: no reviewer label")
            undone = standing.pop()
            before = standing[-1] if standing else None
            labels = _labels_of(before) if before is not None else TelescopeLabels()
            row = _history_row(bibcode, telescope, labels, reviewer, "undo",
                               f"undid the {undone.action} by {undone.reviewer}")  # fmt: skip
            row.undoes, row.cleared = undone.id, before is None
            session.add(row)
            session.flush()
            if before is None:
                session.execute(delete(ReviewStateRow).filter_by(
                    bibcode=bibcode, telescope=telescope))  # fmt: skip
                return None
            self._put_states(session, [before])
            return _rows.human_label(before)

    def current_review(self, bibcode: str, telescope: str) -> HumanLabel | None:
        """The pair's current reviewer label, or None."""
        with self._sessions() as session:
            row = session.get(ReviewStateRow, (bibcode, telescope.upper()))
            return _rows.review_state(row) if row is not None else None

    def latest_human_labels(self) -> dict[tuple[str, str], HumanLabel]:
        """The current reviewer label of every reviewed pair."""
        with self._sessions() as session:
            rows = session.scalars(select(ReviewStateRow))
            return {(r.bibcode, r.telescope): _rows.review_state(r) for r in rows}

    def review_history(self, bibcode: str, telescope: str) -> list[HumanLabel]:
        """Every decision on the pair (undos included), newest first."""
        query = _history_query(bibcode, telescope.upper()).order_by(HumanLabelRow.id.desc())
        with self._sessions() as session:
            return [_rows.human_label(row) for row in session.scalars(query)]

    # -- audit resolutions -----------------------------------------------------

    def resolve_suspect(
        self,
        pair: tuple[str, str],
        text_hash: str,
        decision: str,
        labels: TelescopeLabels,
        reviewer: Reviewer,
        note: str = "",
    ) -> HumanLabel:
        """Record a resolved suspect of the audit, ``pair`` = (bibcode, telescope): its
        labels as a decision (``audit_keep`` or ``audit_take``) and the resolution with
        the text hash it was made on."""
        bibcode, telescope = pair[0], pair[1].upper()
        with self._sessions.begin() as session:
            row = _history_row(bibcode, telescope, labels, reviewer, f"audit_{decision}", note)
            self._append(session, [row])
            values = {"text_hash": text_hash, "decision": decision,
                      "labels": label_names(labels), "reviewer": reviewer.name,
                      "token_id": reviewer.token_id, "label_id": row.id,
                      "resolved_at": row.created_at}  # fmt: skip
            insert = dialect_insert(self.engine, AuditResolutionRow).values(
                pair_key=f"{bibcode}_{telescope}", **values
            )
            session.execute(insert.on_conflict_do_update(index_elements=["pair_key"], set_=values))
            return _rows.human_label(row)

    def audit_resolutions(
        self, pair_keys: Iterable[str] | None = None
    ) -> dict[str, AuditResolution]:
        """Resolved suspects by pair key (all of them when ``pair_keys`` is None)."""
        query = select(AuditResolutionRow)
        if pair_keys is not None:
            query = query.where(AuditResolutionRow.pair_key.in_(list(pair_keys)))
        with self._sessions() as session:
            return {
                r.pair_key: AuditResolution(
                    r.pair_key, r.text_hash, r.decision, r.labels, r.reviewer, r.resolved_at
                )
                for r in session.scalars(query)
            }

    def _append(self, session: Session, rows: Sequence[HumanLabelRow]) -> None:
        """Add decisions to the history and make them their pairs' current labels."""
        session.add_all(rows)
        session.flush()
        self._put_states(session, rows)

    def _put_states(self, session: Session, rows: Sequence[HumanLabelRow]) -> None:
        """Make these history rows the current state of their pairs (upsert)."""
        if not rows:
            return
        values = [_state_values(row) for row in rows]
        insert = dialect_insert(self.engine, ReviewStateRow)
        changed = {k: insert.excluded[k] for k in values[0] if k not in ("bibcode", "telescope")}
        session.execute(
            insert.on_conflict_do_update(index_elements=["bibcode", "telescope"], set_=changed),
            values,
        )


def _history_row(
    bibcode: str,
    telescope: str,
    labels: TelescopeLabels,
    reviewer: Reviewer,
    action: str,
    note: str,
) -> HumanLabelRow:
    return HumanLabelRow(bibcode=bibcode, telescope=telescope, reviewer=reviewer.name,
                         token_id=reviewer.token_id, action=action, note=note,
                         created_at=utcnow(), cleared=False, **labels.as_dict())  # fmt: skip


def _history_query(bibcode: str, telescope: str) -> Any:
    return select(HumanLabelRow).filter_by(bibcode=bibcode, telescope=telescope)


def _standing(history: Sequence[HumanLabelRow]) -> list[HumanLabelRow]:
    """The decisions still in force, oldest first: each undo takes back the one it names."""
    stack: list[HumanLabelRow] = []
    for row in history:
        if row.action == "undo":
            stack = [r for r in stack if r.id != row.undoes]
        else:
            stack.append(row)
    return stack


def _labels_of(row: HumanLabelRow) -> TelescopeLabels:
    return TelescopeLabels(**{name: bool(getattr(row, name)) for name in _LABEL_NAMES})


def _state_values(row: HumanLabelRow) -> dict[str, Any]:
    return {"bibcode": row.bibcode, "telescope": row.telescope,
            **{name: bool(getattr(row, name)) for name in _LABEL_NAMES},
            "reviewer": row.reviewer, "token_id": row.token_id, "action": row.action,
            "note": row.note, "label_id": row.id, "reviewed_at": row.created_at}  # fmt: skip
