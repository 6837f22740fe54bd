"""The store's history tables: LLM calls and the incremental audit state (reviewers'
labels: ``labels.py``).

A mixin of ``Store`` (``amc.store.repository``), kept apart so each module stays small.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from amc.store.engine import dialect_insert
from amc.store.records import AuditState
from amc.store.schema import AuditStateRow, LlmCallRow, utcnow


class HistoryMixin:
    """Append-only logs and per-pair state; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def llm_call_totals(self, batch_id: str) -> tuple[int, int, float | None]:
        """Calls, tokens and dollars of a batch's recorded LLM calls (cost None if unknown)."""
        columns = (
            func.count(LlmCallRow.id),
            func.coalesce(func.sum(LlmCallRow.prompt_tokens + LlmCallRow.completion_tokens), 0),
            func.sum(LlmCallRow.cost_usd),
            func.count(LlmCallRow.cost_usd),
        )
        with self._sessions() as session:
            calls, tokens, cost, priced = session.execute(
                select(*columns).where(LlmCallRow.batch_id == batch_id)
            ).one()
        if cost is None or priced != calls:  # a call with an unknown price: total unknown
            return int(calls), int(tokens), None
        return int(calls), int(tokens), float(cost)

    def record_llm_call(
        self,
        *,
        model: str,
        status: str,
        batch_id: str | None = None,
        pair_id: str | None = None,
        prompt_hash: str | None = None,
        request_hash: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cached_tokens: int = 0,
        cache_write_tokens: int = 0,
        cost_usd: float | None = None,
        latency_s: float = 0.0,
        error: str | None = None,
    ) -> int:
        """Append one LLM request (``status`` e.g. ``ok``/``error``/``invalid``); returns its id."""
        row = LlmCallRow(
            batch_id=batch_id,
            pair_id=pair_id,
            model=model,
            prompt_hash=prompt_hash,
            request_hash=request_hash,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_tokens=cached_tokens,
            cache_write_tokens=cache_write_tokens,
            cost_usd=cost_usd,
            latency_s=latency_s,
            status=status,
            error=error,
            created_at=utcnow(),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return row.id

    def get_audit_state(self, pair_keys: Iterable[str] | None = None) -> dict[str, AuditState]:
        """Stored audit state for the given pair keys (all of them when None)."""
        query = select(AuditStateRow)
        if pair_keys is not None:
            query = query.where(AuditStateRow.pair_key.in_(list(pair_keys)))
        with self._sessions() as session:
            return {
                r.pair_key: AuditState(
                    r.pair_key, r.content_hash, r.last_score, r.last_run_at, r.text_hash
                )
                for r in session.scalars(query)
            }

    def put_audit_state(self, states: Iterable[AuditState]) -> None:
        """Insert or replace audit state, keyed by pair key."""
        rows = [
            dict(
                pair_key=s.pair_key,
                content_hash=s.content_hash,
                last_score=s.last_score,
                last_run_at=s.last_run_at,
                text_hash=s.text_hash,
            )
            for s in states
        ]
        if not rows:
            return
        insert = dialect_insert(self.engine, AuditStateRow)
        keys = ("content_hash", "last_score", "last_run_at", "text_hash")
        changed = {k: insert.excluded[k] for k in keys}
        with self._sessions.begin() as session:
            session.execute(
                insert.on_conflict_do_update(index_elements=["pair_key"], set_=changed), rows
            )
