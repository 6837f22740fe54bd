"""A scripted OpenAI-compatible server on 127.0.0.1 for the LLM tests and benchmark.

The real client (litellm over HTTP) talks to it exactly as it would to a
provider, so timeouts, retries, status codes and JSON parsing are exercised
for real. Behaviour per request, first match wins:

1. the next ``Reply`` in the script queue (``server.script(...)``);
2. otherwise the default rule-derived answer: for every telescope the
   prompt asks about, ``science`` if its fenced snippets contain
   "we observed", else ``mention``, quoting the first sentence it used.

Every request is recorded (``server.requests``) with its JSON body, and the
server tracks the highest number of requests in flight at once.

It also serves the OpenAI Batch API subset the client uses: ``POST /v1/files``,
``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/files/{id}/content``;
a batch completes on the ``batch_polls_to_complete``-th poll by answering
each line with the same rules as chat completions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FENCE_OPEN = "<<<PAPER_SNIPPETS"
FENCE_CLOSE = "PAPER_SNIPPETS>>>"
_HEADER = re.compile(r"^\[snippet \d+ \| telescope: (?P<tel>[A-Z0-9\-]+) \| field: \w+.*\]$", re.M)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


@dataclass
class Reply:
    """One scripted answer. ``content`` is the assistant message; ``body`` replaces the
    whole HTTP body (for broken JSON); ``delay_s`` sleeps first (a hang when it is
    longer than the client timeout)."""

    status: int = 200
    content: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    usage: tuple[int, int] | None = None

    @classmethod
    def answer(cls, obj: Any, **kw: Any) -> Reply:
        return cls(content=json.dumps(obj), **kw)

    @classmethod
    def rate_limited(cls, retry_after_s: float = 1.0) -> Reply:
        return cls(
            status=429,
            body=_error_body("Rate limit reached, retry later", "rate_limit_exceeded"),
            headers={"Retry-After": f"{retry_after_s:g}"},
        )

    @classmethod
    def server_error(cls, status: int = 500, message: str = "internal error") -> Reply:
        return cls(status=status, body=_error_body(message, "server_error"))

    @classmethod
    def json_schema_unsupported(cls) -> Reply:
        """What llama-cpp-python's server answers to ``response_format: json_schema``."""
        return cls.server_error(500, "response_format type 'json_schema' is not supported")

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        return cls(delay_s=seconds)

    @classmethod
    def invalid_json(cls) -> Reply:
        return cls(content="Sure! The telescope was used for science, I think.")

    @classmethod
    def truncated_json(cls) -> Reply:
        return cls(content='{"science": true, "instrumentation": false, "mention": fal')


def _error_body(message: str, code: str) -> str:
    return json.dumps({"error": {"message": message, "type": code, "code": code}})


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    at: float

    @property
    def response_format(self) -> Any:
        return self.body.get("response_format") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []


class ScriptedLLMServer:
    """Start with ``with ScriptedLLMServer() as server:``; ``server.api_base`` is the URL."""

    def __init__(self, latency_s: float = 0.0, batch_polls_to_complete: int = 1) -> None:
        self.latency_s = latency_s
        self.batch_polls_to_complete = batch_polls_to_complete
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._files: dict[str, bytes] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a hanging handler must not block stop()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def api_base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # -- scripting and inspection -----------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()
            self.max_in_flight = 0

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _record(self, method: str, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append(RecordedRequest(method, path, body, time.monotonic()))

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    # -- batch API state ---------------------------------------------------
    def _store_file(self, content: bytes) -> str:
        with self._lock:
            file_id = f"file-{len(self._files) + 1}"
            self._files[file_id] = content
        return file_id

    def _create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            batch_id = f"batch_{len(self._batches) + 1}"
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint", "/v1/chat/completions"),
                "input_file_id": body["input_file_id"],
                "completion_window": body.get("completion_window", "24h"),
                "status": "in_progress",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "_polls": 0,
            }
            self._batches[batch_id] = batch
        return _public(batch)

    def _poll_batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            batch["_polls"] += 1
            if batch["status"] == "in_progress" and batch["_polls"] >= self.batch_polls_to_complete:
                self._complete_batch(batch)
            return _public(batch)

    def _complete_batch(self, batch: dict[str, Any]) -> None:
        lines = self._files[batch["input_file_id"]].decode().splitlines()
        out, errors = [], []
        for line in filter(None, lines):
            item = json.loads(line)
            reply = self._queue.popleft() if self._queue else None
            if reply is not None and reply.status != 200:
                errors.append(_batch_error_line(item["custom_id"], reply))
                continue
            content = reply.content if reply and reply.content else default_answer(item["body"])
            out.append(_batch_output_line(item["custom_id"], item["body"], content))
        batch["output_file_id"] = f"file-{len(self._files) + 1}"
        self._files[batch["output_file_id"]] = "\n".join(out).encode()
        if errors:
            batch["error_file_id"] = f"file-{len(self._files) + 1}"
            self._files[batch["error_file_id"]] = "\n".join(errors).encode()
        batch["status"] = "completed"
        batch["request_counts"] = {
            "total": len(out) + len(errors),
            "completed": len(out),
            "failed": len(errors),
        }


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def _batch_output_line(custom_id: str, request: dict[str, Any], content: str) -> str:
    body = chat_completion(request, content, None)
    response = {"status_code": 200, "request_id": f"req-{custom_id}", "body": body}
    return json.dumps({"id": f"out-{custom_id}", "custom_id": custom_id, "response": response})


def _batch_error_line(custom_id: str, reply: Reply) -> str:
    error = {"code": str(reply.status), "message": reply.body or "failed"}
    return json.dumps({"id": f"err-{custom_id}", "custom_id": custom_id, "error": error})


# -- answers --------------------------------------------------------------------


def chat_completion(request: dict[str, Any], content: str, usage: tuple[int, int] | None) -> Any:
    """An OpenAI chat.completion object around ``content`` with token usage."""
    if usage is None:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
        usage = (max(1, prompt_chars // 4), max(1, len(content) // 4))
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "local"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
        },
    }


def fenced_snippets(request: dict[str, Any]) -> dict[str, list[str]]:
    """Snippet texts per telescope, read from the fenced block of the first user message."""
    text = _first_user_message(request)
    start, end = text.find(FENCE_OPEN), text.find(FENCE_CLOSE)
    if start < 0 or end < 0:
        return {}
    block = text[start + len(FENCE_OPEN) : end]
    headers = list(_HEADER.finditer(block))
    out: dict[str, list[str]] = {}
    for i, header in enumerate(headers):
        stop = headers[i + 1].start() if i + 1 < len(headers) else len(block)
        out.setdefault(header["tel"], []).append(block[header.end() : stop].strip())
    return out


def rule_answer(snippets: list[str]) -> dict[str, Any]:
    """science when a snippet says "we observed", else mention; quotes a real sentence."""
    sentences = [s.strip() for text in snippets for s in _SENTENCE.findall(text) if s.strip()]
    observed = [s for s in sentences if "we observed" in s.lower()]
    science = bool(observed)
    quote = (observed or sentences or [""])[0]
    label = "science" if science else "mention"
    return {
        "science": science,
        "instrumentation": False,
        "mention": not science,
        "not_telescope": False,
        "confidence": {
            "science": 0.9 if science else 0.1,
            "instrumentation": 0.05,
            "mention": 0.1 if science else 0.8,
            "not_telescope": 0.05,
        },
        "evidence": [{"quote": quote, "supports": label}] if quote else [],
        "reason": f"scripted rule: {label}",
    }


def default_answer(request: dict[str, Any]) -> str:
    """The rule-derived answer, shaped as a pair answer or a paper (``results``) answer."""
    per_telescope = fenced_snippets(request)
    if _wants_paper_answer(request):
        results = [{"telescope": tel, **rule_answer(snips)} for tel, snips in per_telescope.items()]
        return json.dumps({"results": results})
    snippets = [s for snips in per_telescope.values() for s in snips]
    return json.dumps(rule_answer(snippets))


def _wants_paper_answer(request: dict[str, Any]) -> bool:
    return '"results"' in _first_user_message(request)


def _first_user_message(request: dict[str, Any]) -> str:
    """The message with the paper (re-asks append later user messages)."""
    user = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return str(user[0].get("content", "")) if user else ""


# -- HTTP -----------------------------------------------------------------------


def _handler_for(server: ScriptedLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/chat/completions"):
                self._chat(raw)
            elif self.path.endswith("/files"):
                self._upload(raw)
            elif self.path.endswith("/batches"):
                body = json.loads(raw)
                server._record("POST", self.path, body)
                self._send(200, json.dumps(server._create_batch(body)))
            else:
                self._send(404, _error_body(f"no route {self.path}", "not_found"))

        def do_GET(self) -> None:
            server._record("GET", self.path, None)
            match = re.search(r"/batches/([\w\-]+)$", self.path)
            if match:
                batch = server._poll_batch(match[1])
                return self._send(200 if batch else 404, json.dumps(batch or {}))
            match = re.search(r"/files/([\w\-]+)/content$", self.path)
            if match and match[1] in server._files:
                return self._send(200, server._files[match[1]].decode(), "application/jsonl")
            self._send(404, _error_body(f"no route {self.path}", "not_found"))

        def _chat(self, raw: bytes) -> None:
            request = json.loads(raw)
            server._record("POST", self.path, request)
            server._enter()
            try:
                reply = server._next_reply() or Reply()
                time.sleep(server.latency_s + reply.delay_s)
                if reply.body is not None:
                    body = reply.body
                else:
                    content = reply.content if reply.content is not None else None
                    content = content if content is not None else default_answer(request)
                    body = json.dumps(chat_completion(request, content, reply.usage))
                self._send(reply.status, body, headers=reply.headers)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer
            finally:
                server._leave()

        def _upload(self, raw: bytes) -> None:
            content_type = self.headers.get("Content-Type", "")
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            data = b""
            for part in message.iter_parts():
                if part.get_param("name", header="content-disposition") == "file":
                    data = part.get_payload(decode=True) or b""
            file_id = server._store_file(data)
            server._record("POST", self.path, {"file_id": file_id, "bytes": len(data)})
            obj = {"id": file_id, "object": "file", "bytes": len(data), "purpose": "batch"}
            obj |= {
                "created_at": int(time.time()),
                "filename": "input.jsonl",
                "status": "processed",
            }
            self._send(200, json.dumps(obj))

        def _send(
            self,
            status: int,
            body: str,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
