"""A scripted OpenAI-compatible server on 127.0.0.1 for the LLM tests and benchmark.

The real client (litellm over HTTP) talks to it exactly as it would to a
provider, so timeouts, retries, status codes and JSON parsing are exercised
for real. Behaviour per request, first match wins:

1. the next ``Reply`` in the script queue (``server.script(...)``);
2. otherwise the default rule-derived answer: for every telescope the
   prompt asks about, ``science`` if its fenced snippets contain
   "we observed", else ``mention``, quoting the first sentence it used.

Every request is recorded (``server.requests``) with its JSON body, and the
server tracks the highest number of requests in flight at once. Run as a
script (``python tests/llm_server.py --latency 0.5``) it serves in its own
process and prints its ``api_base``; ``GET /v1/_stats`` then reports the
counts and its CPU time.

A request with ``logprobs: true`` (the LLM reranker's yes/no question) is
answered "Yes" or "No" with OpenAI-style ``top_logprobs`` for both tokens;
P(yes) comes from ``server.p_yes(snippet_text)`` (default: 0.9 when the
fenced snippet says "we observed", else 0.2) and the usage from
``server.rerank_usage`` when set.

With ``provider=True`` it also behaves like a real provider (``llm_provider``): usage
counted with a real tokenizer, automatic prompt caching (a repeated prefix of at least
1,024 tokens billed as ``cached_tokens``, in 128-token steps) and default answers of
the size a frontier model writes; ``server.billed`` sums what such a provider bills.
``frontier_answers=True`` (``--frontier-answers``) gives those answers, with the link
fields a model fills, without the token counting.

It also serves the OpenAI Batch API subset the client uses: ``POST /v1/files``
(multipart, ``purpose=batch``), ``GET /v1/files`` (list), ``POST /v1/batches``,
``GET /v1/batches`` (list, newest first), ``GET /v1/batches/{id}``,
``GET /v1/files/{id}/content``. A batch is created ``validating``, is
``in_progress`` on later polls and completes on the ``batch_polls_to_complete``-th
poll (``batch_final_status`` picks another end, e.g. ``expired``). Each line is
answered by ``script_batch_line(custom_id, reply)`` if given, else by the next
queued ``Reply``, else by the chat rules; a reply with a non-200 status becomes a
line of the error file.

The provider's limits, as OpenAI enforces them when it validates a batch (its first
poll): ``max_file_lines`` and ``max_file_bytes`` per input file, and
``daily_token_limit`` (tokens of the batches created in the last 24 hours of the
server's ``clock``, counted as prompt characters / 4 + ``max_tokens`` per line); a
batch over a limit ends ``failed`` with the provider's error. Failures mid-plan:
``fail_uploads`` / ``fail_batch_creates`` answer the next ones with HTTP 500 and do
nothing; ``lose_uploads`` / ``lose_batch_creates`` do the work and then answer 500
(the answer was lost on the way: a client that sends again would have two).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from llm_answers import (
    FENCE_CLOSE,
    FENCE_OPEN,
    Reply,
    chat_completion,
    default_answer,
    default_p_yes,
    error_body,
    fenced_snippets,
    fenced_text,
    rule_answer,
    yes_no_completion,
)
from llm_batches import BatchAPI, batch_page
from llm_provider import PromptCache, frontier_answer, tokens
from loopback import LoopbackServer

#: what ``server.billed`` counts
BILLED = ("calls", "prompt_tokens", "cached_tokens", "completion_tokens")

__all__ = [
    "FENCE_CLOSE",
    "FENCE_OPEN",
    "RecordedRequest",
    "Reply",
    "ScriptedLLMServer",
    "chat_completion",
    "default_answer",
    "fenced_snippets",
    "rule_answer",
]


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


class ScriptedLLMServer(BatchAPI, LoopbackServer):
    """Start with ``with ScriptedLLMServer() as server:``; ``server.api_base`` is the URL."""

    def __init__(
        self,
        latency_s: float = 0.0,
        batch_polls_to_complete: int = 1,
        batch_final_status: str = "completed",
        max_file_lines: int | None = None,
        max_file_bytes: int | None = None,
        daily_token_limit: int | None = None,
        provider: bool = False,
        frontier_answers: bool = False,
    ) -> None:
        self.latency_s = latency_s
        #: default answers as a frontier model writes them (link fields included) rather
        #: than the rule-derived ones; always so when simulating a provider
        self.frontier_answers = frontier_answers or provider
        #: the provider simulation (prompt cache, real token counts), when asked for
        self.prompt_cache = PromptCache() if provider else None
        if provider:
            tokens("warm up")  # load the tokenizer now, not inside a client's timeout
        #: what the answered chat calls bill: calls, prompt, cached and completion tokens
        self.billed: dict[str, int] = dict.fromkeys(BILLED, 0)
        self.batch_polls_to_complete = batch_polls_to_complete
        self.batch_final_status = batch_final_status
        self.max_file_lines = max_file_lines
        self.max_file_bytes = max_file_bytes
        self.daily_token_limit = daily_token_limit
        #: the server's time (a test moves it on to the next day)
        self.clock: Callable[[], float] = time.time
        #: P(yes) the reranker's logprobs give a snippet text
        self.p_yes: Callable[[str], float] = default_p_yes
        #: (prompt, completion) tokens of a reranker answer; None: derived from the text
        self.rerank_usage: tuple[int, int] | None = None
        self._batch_lines: dict[str, Reply] = {}
        #: the next this many batch creations fail with HTTP 500 (an interrupted submit)
        self.fail_batch_creates = 0
        #: the next this many uploads fail with HTTP 500, doing nothing
        self.fail_uploads = 0
        #: the next this many uploads / creations are done, then answered with HTTP 500
        self.lose_uploads = 0
        self.lose_batch_creates = 0
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._files: dict[str, bytes] = {}
        self._file_meta: dict[str, dict[str, Any]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._listen(_handler_for(self))

    # -- scripting and inspection -----------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def script_batch_line(self, custom_id: str, reply: Reply) -> None:
        """Answer the batch line ``custom_id`` with ``reply`` (non-200: an error line)."""
        with self._lock:
            self._batch_lines[custom_id] = reply

    def reset(self) -> None:
        """Forget requests, scripts and bills (and, simulating a provider, its prompt cache)."""
        with self._lock:
            self.billed = dict.fromkeys(BILLED, 0)
            self.prompt_cache = PromptCache() if self.prompt_cache is not None else None
            self.requests.clear()
            self._queue.clear()
            self._batch_lines.clear()
            self.max_in_flight = 0

    def paths(self, method: str, suffix: str) -> list[str]:
        """Paths of the recorded ``method`` requests whose path ends with ``suffix``."""
        return [r.path for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def stats(self, reset: bool = False) -> dict[str, Any]:
        """Chat requests, most in flight at once and this process's CPU seconds (also served
        at ``GET /v1/_stats``, ``/v1/_stats/reset`` to start counting again)."""
        with self._lock:
            stats = {
                "chat_requests": sum(r.path.endswith("/chat/completions") for r in self.requests),
                "max_in_flight": self.max_in_flight,
                "cpu_s": time.process_time(),
                "billed": dict(self.billed),
            }
        if reset:
            self.reset()
        return stats

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def answer(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """The chat.completion for ``reply`` (or the default answer), with its usage counted
        as the provider would when simulating one, and billed."""
        content = reply.content
        if content is None:
            content = frontier_answer(request) if self.frontier_answers else default_answer(request)
        usage, cached = reply.usage, reply.cached_tokens
        if usage is None and self.prompt_cache is not None:
            prompt, cached = self.prompt_cache.usage(request)
            usage = (prompt, len(tokens(content)))
        completion = chat_completion(request, content, usage, cached)
        counts = completion["usage"]
        with self._lock:
            self.billed["calls"] += 1
            self.billed["prompt_tokens"] += counts["prompt_tokens"]
            self.billed["cached_tokens"] += counts["prompt_tokens_details"]["cached_tokens"]
            self.billed["completion_tokens"] += counts["completion_tokens"]
        return completion

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


# -- HTTP -----------------------------------------------------------------------


def _handler_for(server: ScriptedLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a client reuses its connections
        # headers and body go out in two writes; with Nagle on, the body waits for the
        # client's delayed ACK (40 ms) on every keep-alive request
        disable_nagle_algorithm = True

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
                if server.fail_batch_creates > 0:
                    server.fail_batch_creates -= 1
                    return self._send(500, error_body("batch service down", "server_error"))
                batch = server._create_batch(body)
                if batch is None:
                    message = f"no file {body.get('input_file_id')!r}"
                    return self._send(404, error_body(message, "not_found"))
                if server.lose_batch_creates > 0:  # created, but the answer is lost
                    server.lose_batch_creates -= 1
                    return self._send(500, error_body("gateway lost the answer", "server_error"))
                self._send(200, json.dumps(batch))
            else:
                self._send(404, error_body(f"no route {self.path}", "not_found"))

        def do_GET(self) -> None:
            if "/_stats" in self.path:  # for a benchmark's server in another process
                return self._send(200, json.dumps(server.stats(reset="reset" in self.path)))
            server._record("GET", self.path, None)
            path = self.path.split("?", 1)[0]
            if path.endswith("/files"):
                with server._lock:
                    files = list(server._file_meta.values())
                return self._send(200, json.dumps({"object": "list", "data": files,
                                                   "has_more": False}))  # fmt: skip
            if path.endswith("/batches"):
                return self._send(200, json.dumps(batch_page(server.batches_created(),
                                                              self.path)))  # fmt: skip
            match = re.search(r"/batches/([\w\-]+)$", self.path)
            if match:
                batch = server._poll_batch(match[1])
                return self._send(200 if batch else 404, json.dumps(batch or {}))
            match = re.search(r"/files/([\w\-]+)/content$", self.path)
            if match and match[1] in server._files:
                return self._send(200, server._files[match[1]].decode(), "application/jsonl")
            self._send(404, error_body(f"no route {self.path}", "not_found"))

        def _chat(self, raw: bytes) -> None:
            request = json.loads(raw)
            server._record("POST", self.path, request)
            server._enter()
            try:
                reply = server._next_reply() or Reply()
                time.sleep(server.latency_s + reply.delay_s)
                if reply.body is not None:
                    body = reply.body
                elif request.get("logprobs") and reply.content is None:
                    p_yes = server.p_yes(fenced_text(request))
                    usage = reply.usage or server.rerank_usage
                    body = json.dumps(yes_no_completion(request, p_yes, usage))
                else:
                    body = json.dumps(server.answer(request, reply))
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
            data, purpose, filename = b"", "", "input.jsonl"
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name == "file":
                    data = part.get_payload(decode=True) or b""
                    filename = str(part.get_filename() or filename)
                elif name == "purpose":
                    purpose = part.get_content().strip()
            if purpose != "batch":
                return self._send(400, error_body(f"bad purpose {purpose!r}", "invalid_request"))
            if server.fail_uploads > 0:
                server.fail_uploads -= 1
                server._record("POST", self.path, {"failed": True})
                return self._send(500, error_body("storage down", "server_error"))
            meta = server._store_file(data, filename)
            record = {"file_id": meta["id"], "bytes": len(data), "purpose": purpose}
            server._record("POST", self.path, record | {"content": data.decode()})
            if server.lose_uploads > 0:  # stored, but the answer is lost
                server.lose_uploads -= 1
                return self._send(500, error_body("gateway lost the answer", "server_error"))
            self._send(200, json.dumps(meta))

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


def main() -> None:
    """Serve in this process until killed, printing the api_base on the first line: the
    benchmarks run the server in its own process so it does not share the client's GIL.

        python tests/llm_server.py [--latency 0.5] [--provider | --frontier-answers]
    """
    import argparse

    parser = argparse.ArgumentParser(description="scripted OpenAI-compatible server")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per chat call")
    parser.add_argument("--provider", action="store_true", help="simulate prompt caching")
    parser.add_argument(
        "--frontier-answers", action="store_true", help="answer as a frontier model would"
    )
    args = parser.parse_args()
    with ScriptedLLMServer(
        latency_s=args.latency, provider=args.provider, frontier_answers=args.frontier_answers
    ) as server:
        print(server.api_base, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
