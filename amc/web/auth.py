"""API tokens and the browser session of the web app.

A token is ``amc_`` + 43 url-safe characters (256 random bits), printed once by
``amc token create --name NAME``; the store keeps only its sha256 (``hash_token``).
The HTTP API takes it as ``Authorization: Bearer <token>``. The pages take it from
a login form and keep it in an HttpOnly, SameSite=Strict cookie; every form that
changes something carries a CSRF token derived from the session token
(``csrf_token``), checked with a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from amc.store import Store
from amc.store.tokens import TOKEN_PREFIX, hash_token

SESSION_COOKIE = "amc_session"
#: tokens longer than this are refused before hashing (no work for junk headers)
MAX_TOKEN_CHARS = 200

bearer = HTTPBearer(auto_error=False, description="An API token from `amc token create`.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id and its holder's name (the default reviewer)."""

    token_id: int
    name: str
    token: str


def authenticate(store: Store, token: str | None) -> Principal | None:
    """The principal of a live token, or None for a missing, unknown or revoked one."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        return None
    record = store.find_api_token(hash_token(token))
    return Principal(record.id, record.name, token) if record is not None else None


def csrf_token(principal: Principal) -> str:
    """The CSRF token of a session: an HMAC of a fixed purpose under the session token."""
    return hmac.new(principal.token.encode(), b"amc-csrf", hashlib.sha256).hexdigest()


def check_csrf(principal: Principal, presented: str) -> None:
    """403 unless ``presented`` is this session's CSRF token."""
    if not hmac.compare_digest(csrf_token(principal), presented or ""):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing CSRF token")


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def api_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """FastAPI dependency of every API route but health: a valid bearer token, else 401."""
    token = credentials.credentials if credentials is not None else None
    principal = authenticate(store_of(request), token)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing, unknown or revoked API token; create one with `amc token create --name NAME`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def session_principal(request: Request) -> Principal | None:
    """The principal of the page session cookie, or None (pages then redirect to login)."""
    return authenticate(store_of(request), request.cookies.get(SESSION_COOKIE))
