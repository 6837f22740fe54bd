"""Reviewer link edits in the store: a mixin of ``Store``.

Every edit (a link added to or removed from a (bibcode, telescope) pair) is appended to
``link_edits`` with who, token, when and a note, and never changed; the pair's final
links are worked out from the model's and these (``amc.links.reviewed``). Like reviewer
labels they belong to the pair, not to a batch: a pair classified again keeps them.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Engine, Select, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from amc.domain.models import LinkKind
from amc.domain.reviews import LinkAction, LinkEdit
from amc.store.labels import Reviewer
from amc.store.schema import ClassificationRow, LinkEditRow, utcnow

PairKey = tuple[str, str]


class LinkEditsMixin:
    """Reviewer link edits; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def record_link_edit(
        self,
        pair: PairKey,
        kind: LinkKind,
        value: str,
        action: LinkAction,
        reviewer: Reviewer,
        note: str = "",
    ) -> LinkEdit:
        """Append an edit of the pair (bibcode, telescope)'s links; the edit as saved."""
        row = LinkEditRow(bibcode=pair[0], telescope=pair[1].upper(), kind=kind, value=value,
                          action=action, reviewer=reviewer.name, token_id=reviewer.token_id,
                          note=note, created_at=utcnow())  # fmt: skip
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return link_edit(row)

    def link_edits(self, bibcode: str, telescope: str) -> list[LinkEdit]:
        """Every edit of the pair's links, oldest first."""
        query = select(LinkEditRow).filter_by(bibcode=bibcode, telescope=telescope.upper())
        with self._sessions() as session:
            return [link_edit(r) for r in session.scalars(query.order_by(LinkEditRow.id))]

    def batch_link_edits(self, batch_id: str) -> dict[PairKey, list[LinkEdit]]:
        """The link edits of every pair of a batch (oldest first), by (bibcode, telescope)."""
        c, e = ClassificationRow, LinkEditRow
        pairs = select(c.bibcode, c.telescope).where(c.batch_id == batch_id)
        query = select(e).where(tuple_(e.bibcode, e.telescope).in_(pairs)).order_by(e.id)
        return self._grouped(query)

    def _grouped(self, query: Select[Any]) -> dict[PairKey, list[LinkEdit]]:
        out: dict[PairKey, list[LinkEdit]] = {}
        with self._sessions() as session:
            for row in session.scalars(query):
                out.setdefault((row.bibcode, row.telescope), []).append(link_edit(row))
        return out


def link_edit(row: LinkEditRow) -> LinkEdit:
    return LinkEdit(bibcode=row.bibcode, telescope=row.telescope,
                    kind=cast(LinkKind, row.kind), value=row.value,
                    action=cast(LinkAction, row.action), reviewer=row.reviewer, note=row.note,
                    created_at=row.created_at, id=row.id, token_id=row.token_id)  # fmt: skip
