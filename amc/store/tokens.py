"""The store's API tokens (web app): a mixin of ``Store``, like ``history.py``.

Only a token's sha256 is stored. Tokens are 256-bit random strings (``amc.web.auth``),
so a fast hash cannot be brute-forced and a lookup by hash needs no constant-time
comparison of secrets.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from amc.store.schema import ApiTokenRow, WebSessionRow, utcnow

if TYPE_CHECKING:
    from amc.store.repository import Store

TOKEN_PREFIX = "amc_"


@dataclass(frozen=True)
class ApiToken:
    """A token's record (never the token itself)."""

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(row.id, row.name, row.created_at, row.revoked_at)


class TokenMixin:
    """API token storage; needs ``engine`` and ``_sessions``."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def create_api_token(self, name: str, token_hash: str) -> ApiToken:
        """Store a new token's hash under a holder's name."""
        row = ApiTokenRow(name=name, token_hash=token_hash, created_at=utcnow())
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return _token(row)

    def find_api_token(self, token_hash: str) -> ApiToken | None:
        """The live (not revoked) token with this hash, or None."""
        query = select(ApiTokenRow).filter_by(token_hash=token_hash, revoked_at=None)
        with self._sessions() as session:
            row = session.scalar(query)
            return _token(row) if row is not None else None

    def list_api_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, oldest first."""
        query = select(ApiTokenRow).order_by(ApiTokenRow.id)
        with self._sessions() as session:
            return [_token(r) for r in session.scalars(query)]

    def revoke_api_token(self, token_id: int) -> bool:
        """Revoke a token; False when there is no live token with that id."""
        return self._revoke(ApiTokenRow, ApiTokenRow.id == token_id)

    def _revoke(self, table: type[ApiTokenRow] | type[WebSessionRow], which: Any) -> bool:
        """Mark the live row ``which`` of ``table`` revoked now; False when there was none."""
        stmt = update(table).where(which, table.revoked_at.is_(None)).values(revoked_at=utcnow())
        with self._sessions.begin() as session:
            return int(session.execute(stmt).rowcount) == 1  # type: ignore[attr-defined]

    # -- browser sessions ------------------------------------------------------

    def create_session(self, token_id: int, session_hash: str, lifetime: timedelta) -> None:
        """Store a new browser session (its id's hash) of a token's holder; sessions past
        their expiry are deleted on the way, so the table stays small."""
        now = utcnow()
        row = WebSessionRow(id_hash=session_hash, token_id=token_id, created_at=now,
                            expires_at=now + lifetime)  # fmt: skip
        with self._sessions.begin() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            session.add(row)

    def find_session(self, session_hash: str) -> ApiToken | None:
        """The live token behind a live, unexpired session, or None."""
        query = (
            select(ApiTokenRow)
            .join(WebSessionRow, WebSessionRow.token_id == ApiTokenRow.id)
            .where(
                WebSessionRow.id_hash == session_hash,
                WebSessionRow.revoked_at.is_(None),
                WebSessionRow.expires_at > utcnow(),
                ApiTokenRow.revoked_at.is_(None),
            )
        )
        with self._sessions() as session:
            row = session.scalar(query)
            return _token(row) if row is not None else None

    def revoke_session(self, session_hash: str) -> bool:
        """End a session (logout); False when it was not live."""
        return self._revoke(WebSessionRow, WebSessionRow.id_hash == session_hash)


def new_token() -> str:
    """A fresh random API token (show it once; store only ``hash_token`` of it)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token: hex sha256."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, name: str) -> str:
    """Create and store a token for ``name``; returns the token (the only time it exists)."""
    token = new_token()
    store.create_api_token(name.strip() or "unnamed", hash_token(token))
    return token
