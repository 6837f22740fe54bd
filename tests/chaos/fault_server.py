"""A fault-injecting OpenAI-compatible chat server on 127.0.0.1 for the chaos suite.

``amc`` runs as a real subprocess and talks to this server over HTTP exactly as it
would to a provider. Each ``POST .../chat/completions`` goes through ``fault`` (a
function of the request, settable and swappable at any time, e.g. to "heal" the
provider between two runs): it returns ``None`` for the normal answer (the
rule-derived answer of ``tests/llm_answers.py``), or a ``Fault`` (a status code with
an error body, an answer that is not JSON, a truncated one, a delay).

Every request is logged (``log``): its prompt (first user message), the telescopes
its fenced snippets are about, the status sent and the usage reported. ``usage``
decides the token usage of an answer (default: the scripted server's rule, about
chars / 4); ``tokenizer_usage`` reports the real prompt size counted with litellm's
tokenizer, as amc counts it locally. ``price`` turns the reported usage into the
dollars a provider would bill (``billed_usd``), independent of what amc records.

``ConnectionCounter`` is a TCP sink that counts connections and answers nothing:
pointed at as an HTTP(S) proxy it proves that a run sent no request anywhere.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from llm_answers import chat_completion, default_answer, error_body, request_telescopes
from loopback import LoopbackServer

Usage = tuple[int, int]


@dataclass(frozen=True)
class Fault:
    """What to answer instead of the normal answer."""

    status: int = 200
    #: the whole HTTP body (an error body for non-200 statuses)
    body: str | None = None
    #: the assistant message content (for 200 answers that are not valid JSON)
    content: str | None = None
    delay_s: float = 0.0

    @classmethod
    def http(cls, status: int, message: str = "injected failure", code: str = "") -> Fault:
        return cls(status=status, body=error_body(message, code or f"http_{status}"))

    @classmethod
    def not_json(cls) -> Fault:
        return cls(content="Sure! The telescope was used for science, I think.")

    @classmethod
    def truncated_json(cls) -> Fault:
        return cls(content='{"science": true, "instrumentation": false, "mention": fal')


FaultRule = Callable[[dict[str, Any]], Fault | None]


@dataclass
class Entry:
    """One chat request as the server saw it."""

    at: float
    prompt: str
    telescopes: tuple[str, ...]
    max_tokens: int | None
    status: int = 0
    usage: Usage | None = None
    #: the answer content was valid for amc (a normal answer)
    answered: bool = False
    billed_usd: float = 0.0

    @property
    def key(self) -> str:
        """Identifies the question: the same pair asked again has the same key."""
        return hashlib.sha256(self.prompt.encode()).hexdigest()


def first_user_message(request: dict[str, Any]) -> str:
    user = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return str(user[0].get("content", "")) if user else ""


def tokenizer_usage(model: str = "openai/local") -> Callable[[dict[str, Any], str], Usage]:
    """Usage equal to the real prompt and answer sizes, counted as amc counts them."""
    import os

    # litellm fetches its price map from the internet at import unless told not to (amc
    # sets the same); this process must stay on loopback
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    def usage(request: dict[str, Any], content: str) -> Usage:
        prompt = int(litellm.token_counter(model=model, messages=request["messages"]))
        completion = int(litellm.token_counter(model=model, text=content))
        return prompt, max(1, completion)

    return usage


class FaultServer(LoopbackServer):
    """``with FaultServer(latency_s=0.3) as stub:``; ``stub.api_base`` is the URL."""

    def __init__(self, latency_s: float = 0.0) -> None:
        self.latency_s = latency_s
        self.fault: FaultRule = lambda request: None
        self.usage: Callable[[dict[str, Any], str], Usage] | None = None
        #: (input, output) US dollars per million tokens, to compute ``billed_usd``
        self.price: tuple[float, float] = (0.0, 0.0)
        self.log: list[Entry] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._listen(_handler_for(self))

    # -- inspection -----------------------------------------------------------
    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self.log)

    @property
    def requests(self) -> int:
        return len(self.entries())

    @property
    def answered(self) -> int:
        return sum(e.answered for e in self.entries())

    def billed_usd(self) -> float:
        return sum(e.billed_usd for e in self.entries())

    def heal(self, latency_s: float = 0.0) -> None:
        """No more faults, no more delay."""
        self.fault = lambda request: None
        self.latency_s = latency_s

    def clear(self) -> None:
        with self._lock:
            self.log.clear()
            self.max_in_flight = 0

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    # -- serving -------------------------------------------------------------------
    def _chat(self, request: dict[str, Any]) -> tuple[int, str]:
        entry = Entry(
            at=time.monotonic(),
            prompt=first_user_message(request),
            telescopes=tuple(sorted(request_telescopes(request))),
            max_tokens=request.get("max_tokens"),
        )
        with self._lock:
            self.log.append(entry)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            fault = self.fault(request)
            time.sleep(self.latency_s + (fault.delay_s if fault else 0.0))
            if fault is not None and fault.status != 200:
                entry.status = fault.status
                return fault.status, fault.body or error_body("injected", "injected")
            if fault is not None and fault.body is not None:
                entry.status = 200
                return 200, fault.body
            content = fault.content if fault and fault.content is not None else None
            normal = content is None
            content = default_answer(request) if content is None else content
            usage = self.usage(request, content) if self.usage else None
            body = chat_completion(request, content, usage)
            reported = body["usage"]
            entry.usage = (reported["prompt_tokens"], reported["completion_tokens"])
            entry.billed_usd = (
                entry.usage[0] * self.price[0] + entry.usage[1] * self.price[1]
            ) / 1e6
            entry.status, entry.answered = 200, normal
            return 200, json.dumps(body)
        finally:
            with self._lock:
                self._in_flight -= 1


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.endswith("/chat/completions"):
                return self._send(404, error_body(f"no route {self.path}", "not_found"))
            try:
                status, body = server._chat(json.loads(raw))
            except (BrokenPipeError, ConnectionResetError):
                return
            self._send(status, body)

        def do_GET(self) -> None:
            self._send(404, error_body(f"no route {self.path}", "not_found"))

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (killed, timed out)

    return Handler


class ConnectionCounter:
    """A TCP listener on 127.0.0.1 that counts connections and closes them at once."""

    def __init__(self) -> None:
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> ConnectionCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()
