"""ASGI middleware of the web app: a request body limit, security headers, and the refusal
of NUL characters in a request's path or query (PostgreSQL text cannot hold them)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: sent with every response: no inline scripts or styles, no framing, no sniffing
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Add ``SECURITY_HEADERS`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Answer 413 to a request whose body is (declared or turns out) over ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before reading. Otherwise
    bytes are counted as they arrive; past the limit the body is cut short and
    whatever the app answers is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared(scope) > self.max_bytes:
            await self._reject(send)
            return
        state = {"received": 0, "exceeded": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["exceeded"] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if state["exceeded"]:
                return  # the app's answer to a cut-short body is replaced below
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["started"]:
            await self._reject(send)

    @staticmethod
    def _declared(scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    async def _reject(self, send: Send) -> None:
        detail = f"request body larger than {self.max_bytes:,} bytes (AMC_WEB_MAX_UPLOAD_BYTES)"
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class RejectNul:
    """Answer 400 to a request whose path or query string holds a NUL character (raw or
    ``%00``): it can name no batch, paper or filter value, and would reach the database."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            body = json.dumps({"detail": NUL_MESSAGE}).encode()
            headers = [(b"content-type", b"application/json"),
                       (b"content-length", str(len(body)).encode())]  # fmt: skip
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


NUL_MESSAGE = "the request's path or query holds a NUL character (\\x00 or %00); remove it"


def _has_nul(scope: Scope) -> bool:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or any(
        b"\x00" in unquote_to_bytes(part.replace(b"+", b" ")) for part in (raw_path, query)
    )


#: an absolute POSIX path (not inside a URL or a word): ``/srv/amc/spool/x/papers.csv``
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"`,;:()<>]+/)+([^\s/'\"`,;:()<>]*)")


def without_paths(message: str) -> str:
    """``message`` with every absolute server path reduced to its last part (the file
    name a user knows), so no answer shows where the server keeps its files."""
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", message)
