"""The ``links`` table: a verdict's bibliography links, saved and read back with it.

``replace_links`` runs inside the transaction that upserts the verdicts (a re-saved
pair's links replace its old ones), ``links_of`` reads them back for a set of pairs,
and ``LinkMixin.pairs_linked_to`` answers an archive's question: which pairs used
this ObsID, programme, DOI or instrument?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.models import Classification, Link, LinkKind
from amc.store.schema import LinkRow


@dataclass(frozen=True)
class LinkedPair:
    """A pair of a batch that has a given link."""

    batch_id: str
    pair_id: str
    link: Link


def link_rows(c: Classification, batch_id: str, now: datetime) -> list[dict[str, Any]]:
    """Column values of the classification's links."""
    return [
        {
            "batch_id": batch_id,
            "pair_id": c.pair_id,
            "position": i,
            "kind": link.kind,
            "value": link.value,
            "quote": link.quote,
            "field": link.field,
            "quote_start": link.start,
            "quote_end": link.end,
            "verified": link.verified,
            "source": link.source,
            "created_at": now,
        }
        for i, link in enumerate(c.links)
    ]


def replace_links(
    session: Session, batch_id: str, classifications: Sequence[Classification], now: datetime
) -> None:
    """Make the stored links of these pairs exactly theirs (inside the caller's transaction)."""
    pair_ids = [c.pair_id for c in classifications]
    for chunk in _chunks(pair_ids):
        session.execute(
            delete(LinkRow).where(LinkRow.batch_id == batch_id, LinkRow.pair_id.in_(chunk)),
            execution_options={"synchronize_session": False},
        )
    rows = [row for c in classifications for row in link_rows(c, batch_id, now)]
    if rows:
        session.connection().execute(insert(LinkRow), rows)  # Core: no ORM bulk path


def links_of(session: Session, batch_id: str, pair_ids: Sequence[str]) -> dict[str, list[Link]]:
    """The stored links of these pairs of a batch, in their saved order."""
    out: dict[str, list[Link]] = {}
    for chunk in _chunks(list(pair_ids)):
        query = (
            select(LinkRow)
            .where(LinkRow.batch_id == batch_id, LinkRow.pair_id.in_(chunk))
            .order_by(LinkRow.pair_id, LinkRow.position)
        )
        for row in session.scalars(query):
            out.setdefault(row.pair_id, []).append(link(row))
    return out


def link(row: LinkRow) -> Link:
    return Link(
        kind=row.kind,
        value=row.value,
        quote=row.quote,
        field=row.field,
        start=row.quote_start,
        end=row.quote_end,
        verified=row.verified,
        source=row.source,
    )


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class LinkMixin:
    """Queries over links; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def pairs_linked_to(
        self, kind: LinkKind, value: str, batch_id: str | None = None
    ) -> list[LinkedPair]:
        """Pairs (of one batch, or all) with this link, e.g. ``("obsid", "CHANDRA:1234")``."""
        query = select(LinkRow).where(LinkRow.kind == kind, LinkRow.value == value)
        if batch_id is not None:
            query = query.where(LinkRow.batch_id == batch_id)
        with self._sessions() as session:
            rows = session.scalars(query.order_by(LinkRow.batch_id, LinkRow.pair_id))
            return [LinkedPair(r.batch_id, r.pair_id, link(r)) for r in rows]
