"""A lean transport for OpenAI-compatible chat endpoints, used only by ``provider.chat``.

One ``POST {api_base}/chat/completions`` over a pooled keep-alive aiohttp
session. It exists because litellm spends 10-50 ms of CPU per call (and the
openai SDK or httpx about 5 ms), which caps a 2-core machine far below what
the provider's latency allows; aiohttp needs well under 1 ms. It does no
retries and no interpretation: errors come out as ``HTTPStatusError`` (with
the status, the server's message and the headers, for ``Retry-After``),
``ConnectionError`` or ``TimeoutError``, which ``provider.chat`` classifies
exactly as it classifies litellm's.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from amc.classify.llm.encoding import JsonEncoder

#: the default endpoint when no api_base is given
OPENAI_API_BASE = "https://api.openai.com/v1"


#: the body's JSON, as ``json.dumps`` writes it (the system message encoded once a run)
_BODY_JSON = JsonEncoder()
_JSON_CONTENT = {"Content-Type": "application/json"}


class HTTPStatusError(Exception):
    """The server answered with a non-2xx status."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        #: lower-cased header names
        self.headers = headers


class TransportConnectionError(ConnectionError):
    """The connection failed or was lost before an answer was read."""


class OpenAIHTTP:
    """Chat completions of one endpoint and key; one session (connection pool) per event loop.

    Create and use it on the loop it will live on; ``aclose`` it there.
    """

    def __init__(self, api_base: str | None, api_key: str) -> None:
        self.url = (api_base or OPENAI_API_BASE).rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # no connection cap here: the client's semaphore is the limit that counts
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers)
        return self._session

    async def chat(self, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """The decoded JSON answer of one request; raises on any failure (see module doc)."""
        session = self._open()
        try:
            async with session.post(
                self.url,
                data=_BODY_JSON.request(body).encode(),
                headers=_JSON_CONTENT,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                raw = await response.read()
                if response.status >= 300:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    raise HTTPStatusError(response.status, _error_message(raw), headers)
        except (TimeoutError, HTTPStatusError):  # aiohttp's timeouts are TimeoutErrors
            raise
        except aiohttp.ClientError as exc:  # refused, reset, server disconnected, bad payload
            raise TransportConnectionError(f"{type(exc).__name__}: {exc}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not answer.get("choices"):
            # a garbled answer is the gateway's fault, and worth a retry (502 Bad Gateway)
            raise HTTPStatusError(502, f"unreadable answer: {raw[:200]!r}", {})
        return answer

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _error_message(raw: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body's start."""
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return raw[:300].decode(errors="replace")
