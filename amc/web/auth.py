"""API tokens, browser sessions and CSRF tokens of the web app.

A token is ``amc_`` + 43 url-safe characters (256 random bits), printed once by
``amc token create --name NAME``; the store keeps only its sha256 (``hash_token``).
The HTTP API takes it as ``Authorization: Bearer <token>``.

The pages take it once, in the login form, and open a *session*: the cookie holds a
fresh random session id (never the token), the store only the id's sha256, and
logging out (or revoking the token) ends the session at once. The login form itself
carries a CSRF token bound to a short-lived cookie (double submit), and every form of
a session carries the session's CSRF token (an HMAC of the session id); both are
compared in constant time. Whoever is logged in (or holds the token) is the reviewer
of the labels they record: the name never comes from a request body.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from amc.settings import Settings
from amc.store import Reviewer, Store
from amc.store.tokens import TOKEN_PREFIX, hash_token

SESSION_COOKIE = "amc_session"
#: the login form's own cookie (its CSRF token is derived from it)
LOGIN_COOKIE = "amc_login"
SESSION_LIFETIME = timedelta(hours=12)
LOGIN_FORM_LIFETIME_S = 3600
#: tokens and session ids longer than this are refused before hashing
MAX_TOKEN_CHARS = 200

bearer = HTTPBearer(auto_error=False, description="An API token from `amc token create`.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, its holder's name, and for a browser the session id."""

    token_id: int
    name: str
    session_id: str | None = None

    @property
    def reviewer(self) -> Reviewer:
        """The reviewer of the labels this principal records."""
        return Reviewer(self.name, self.token_id)


def authenticate(store: Store, token: str | None) -> Principal | None:
    """The principal of a live API token, or None for a missing, unknown or revoked one."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        return None
    record = store.find_api_token(hash_token(token))
    return Principal(record.id, record.name) if record is not None else None


def open_session(store: Store, principal: Principal) -> str:
    """A new session of ``principal``; returns the session id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    store.create_session(principal.token_id, hash_token(session_id), SESSION_LIFETIME)
    return session_id


def session_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None (pages then redirect to login)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > MAX_TOKEN_CHARS:
        return None
    record = store_of(request).find_session(hash_token(session_id))
    return Principal(record.id, record.name, session_id) if record is not None else None


def close_session(store: Store, principal: Principal) -> None:
    """Log out: the session id stops working at once."""
    if principal.session_id is not None:
        store.revoke_session(hash_token(principal.session_id))


def set_session_cookie(response: Response, session_id: str, settings: Settings) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        secure=settings.web_secure_cookies,
                        max_age=int(SESSION_LIFETIME.total_seconds()))  # fmt: skip


def csrf_token(principal: Principal) -> str:
    """The CSRF token of a session: an HMAC of a fixed purpose under the session id."""
    return _mac(principal.session_id or "", b"amc-csrf")


def check_csrf(principal: Principal, presented: str) -> None:
    """403 unless ``presented`` is this session's CSRF token."""
    if principal.session_id is None or not hmac.compare_digest(
        csrf_token(principal), presented or ""
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid or missing CSRF token; "
                            "reload the page and try again")  # fmt: skip


def new_login_form() -> tuple[str, str]:
    """A login form's cookie value and the CSRF token derived from it."""
    nonce = secrets.token_urlsafe(32)
    return nonce, _mac(nonce, b"amc-login")


def set_login_cookie(response: Response, nonce: str, settings: Settings) -> None:
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict",
                        secure=settings.web_secure_cookies,
                        max_age=LOGIN_FORM_LIFETIME_S)  # fmt: skip


def check_login_csrf(request: Request, presented: str) -> None:
    """403 unless the login form's CSRF token matches its cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(_mac(nonce, b"amc-login"), presented or ""):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the login form expired or did not "
                            "come from this site; reload the login page")  # fmt: skip


def _mac(key: str, purpose: bytes) -> str:
    return hmac.new(key.encode(), purpose, hashlib.sha256).hexdigest()


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
