"""The scripted server's OpenAI Batch API: files, batches, their validation and results.

A mixin of ``llm_server.ScriptedLLMServer`` (see its docstring for what it serves):
files are kept in memory, a batch is validated against the provider's limits on its
first poll, and completed on the ``batch_polls_to_complete``-th, each line answered
by a scripted reply or the chat rules.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from llm_answers import Reply, chat_completion, default_answer


class BatchAPI:
    """The Batch API's state; the server sets these attributes in its ``__init__``."""

    _lock: threading.Lock
    _queue: deque[Reply]
    _batch_lines: dict[str, Reply]
    _files: dict[str, bytes]
    _file_meta: dict[str, dict[str, Any]]
    _batches: dict[str, dict[str, Any]]
    clock: Callable[[], float]
    batch_polls_to_complete: int
    batch_final_status: str
    max_file_lines: int | None
    max_file_bytes: int | None
    daily_token_limit: int | None

    # -- batch API state (the mixin is told apart: a test reads it alone) -----
    def _store_file(self, content: bytes, filename: str = "input.jsonl") -> dict[str, Any]:
        with self._lock:
            file_id = f"file-{len(self._files) + 1}"
            self._files[file_id] = content
            meta = {"id": file_id, "object": "file", "bytes": len(content), "purpose": "batch",
                    "created_at": int(self.clock()), "filename": filename,
                    "status": "processed"}  # fmt: skip
            self._file_meta[file_id] = meta
        return meta

    def _create_batch(self, body: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            if body.get("input_file_id") not in self._files:
                return None
            batch_id = f"batch_{len(self._batches) + 1}"
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint", "/v1/chat/completions"),
                "input_file_id": body["input_file_id"],
                "completion_window": body.get("completion_window", "24h"),
                "status": "validating",
                "created_at": int(self.clock()),
                "output_file_id": None,
                "error_file_id": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "metadata": body.get("metadata") or {},
                "_polls": 0,
                "_tokens": _batch_tokens(self._files[body["input_file_id"]]),
                "_created": self.clock(),
            }
            self._batches[batch_id] = batch
        return _public(batch)

    def _over_limits(self, batch: dict[str, Any]) -> dict[str, str] | None:
        """The provider's validation error for a batch over a limit, if it is."""
        content = self._files[batch["input_file_id"]]
        lines = len(content.splitlines())
        if self.max_file_lines is not None and lines > self.max_file_lines:
            return {"code": "too_many_requests",
                    "message": f"{lines} requests, more than {self.max_file_lines}"}  # fmt: skip
        if self.max_file_bytes is not None and len(content) > self.max_file_bytes:
            message = f"{len(content)} bytes, more than {self.max_file_bytes}"
            return {"code": "file_too_large", "message": message}
        if self.daily_token_limit is not None:
            since = self.clock() - 86_400
            used = sum(b["_tokens"] for b in self._batches.values()
                       if b["_created"] > since and b["status"] != "failed")  # fmt: skip
            if used > self.daily_token_limit:
                return {"code": "token_limit_exceeded",
                        "message": f"enqueued token limit reached ({used} tokens in 24 h, "
                        f"limit {self.daily_token_limit})"}  # fmt: skip
        return None

    def batches_created(self) -> list[dict[str, Any]]:
        """Every batch created so far (public fields), oldest first."""
        with self._lock:
            return [_public(b) for b in self._batches.values()]

    def uploads(self) -> list[bytes]:
        """The content of every uploaded input file, in order."""
        with self._lock:
            return [self._files[i] for i, m in self._file_meta.items() if m["purpose"] == "batch"]

    def _poll_batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            batch["_polls"] += 1
            if batch["status"] == "validating" and (error := self._over_limits(batch)):
                batch["status"] = "failed"
                batch["errors"] = {"object": "list", "data": [error]}
            elif batch["status"] in ("validating", "in_progress"):
                if batch["_polls"] >= self.batch_polls_to_complete:
                    self._complete_batch(batch)
                else:
                    batch["status"] = "in_progress"
            return _public(batch)

    def _complete_batch(self, batch: dict[str, Any]) -> None:
        lines = self._files[batch["input_file_id"]].decode().splitlines()
        out, errors = [], []
        for line in filter(None, lines):
            item = json.loads(line)
            reply = self._batch_lines.get(item["custom_id"])
            if reply is None and self._queue:
                reply = self._queue.popleft()
            if reply is not None and reply.status != 200:
                errors.append(_batch_error_line(item["custom_id"], reply))
                continue
            content = reply.content if reply and reply.content else default_answer(item["body"])
            usage = reply.usage if reply else None
            out.append(_batch_output_line(item["custom_id"], item["body"], content, usage))
        batch["output_file_id"] = f"file-{len(self._files) + 1}"
        self._files[batch["output_file_id"]] = "\n".join(out).encode()
        if errors:
            batch["error_file_id"] = f"file-{len(self._files) + 1}"
            self._files[batch["error_file_id"]] = "\n".join(errors).encode()
        batch["status"] = self.batch_final_status
        batch["completed_at"] = int(self.clock())
        batch["request_counts"] = {
            "total": len(out) + len(errors),
            "completed": len(out),
            "failed": len(errors),
        }


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def _batch_tokens(content: bytes) -> int:
    """What a batch counts against the daily limit: prompt characters / 4 + max_tokens."""
    total = 0
    for raw in content.splitlines():
        body = json.loads(raw).get("body") or {}
        chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        total += chars // 4 + int(body.get("max_tokens") or 0)
    return total


def batch_page(batches: list[dict[str, Any]], path: str) -> dict[str, Any]:
    """One page of ``GET /v1/batches?limit=&after=``, newest first."""
    query = dict(q.split("=", 1) for q in path.partition("?")[2].split("&") if "=" in q)
    newest = list(reversed(batches))
    if "after" in query:
        ids = [b["id"] for b in newest]
        newest = newest[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
    limit = int(query.get("limit") or 20)
    page = newest[:limit]
    return {"object": "list", "data": page, "has_more": len(newest) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None}  # fmt: skip


def _batch_output_line(
    custom_id: str, request: dict[str, Any], content: str, usage: tuple[int, int] | None
) -> str:
    body = chat_completion(request, content, usage)
    response = {"status_code": 200, "request_id": f"req-{custom_id}", "body": body}
    return json.dumps({"id": f"out-{custom_id}", "custom_id": custom_id, "response": response})


def _batch_error_line(custom_id: str, reply: Reply) -> str:
    error = {"code": str(reply.status), "message": reply.body or "failed"}
    line = {"id": f"err-{custom_id}", "custom_id": custom_id, "response": None, "error": error}
    return json.dumps(line)
