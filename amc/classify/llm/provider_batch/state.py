"""The state file of a Batch API run: the plan of files and what has been done with each.

A JSON file (path chosen by the caller) written atomically after every step that
costs something or can be lost: the plan itself, the intent to upload a file
(``uploading``), its id once uploaded, the intent to create its batch
(``creating``), the batch id, every status read and every collection. A re-run with
the same file never uploads or creates again: it goes on with the next due file,
polls, collects. An intent found without its result (the process died between the
call and the save) is settled by asking the provider (``run.py``) before anything is
sent again. The files' JSONL are kept next to the state file (``<state>.files/``),
with the downloaded results, so collecting again needs no download and survives the
provider's file expiry.

``lock_state`` keeps two processes (a cron run and a manual one, two workers' sweeps)
from advancing the same plan at once.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from amc.classify.llm.errors import ProviderBatchError

#: statuses after which a provider batch changes no more
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
#: a file's own statuses before the provider has a batch for it
LocalStatus = Literal["planned", "uploading", "uploaded", "creating"]
SECONDS_PER_DAY = 86_400
STATE_VERSION = 2


class BatchFile(BaseModel):
    """One input file of the plan and its batch at the provider."""

    index: int
    #: the JSONL's name in the files folder
    name: str
    sha256: str
    #: custom_id of each line -> the pair ids it answers (one, or a paper's pairs)
    requests: dict[str, list[str]]
    bytes: int
    prompt_tokens: int
    #: expected answer tokens (``ANSWER_TOKENS_PER_TELESCOPE`` a pair)
    completion_tokens: int
    #: at Batch API prices; None when the model has no known price
    cost_usd: float | None = None
    #: day (0: the first) it goes out on under the daily token budget
    day: int = 0
    #: job-store papers it covers (``amc submit --batch-api``), in order
    papers: list[int] = Field(default_factory=list)
    status: str = "planned"
    input_file_id: str | None = None
    batch_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] = Field(default_factory=dict)
    #: batch-level errors reported by the provider (e.g. why validation failed)
    errors: list[str] = Field(default_factory=list)
    created_at: int | None = None
    #: when this run created its batch (our clock: the daily budget counts from it)
    submitted_at: float | None = None
    #: its results are in the job store (``amc submit --batch-api``)
    collected: bool = False

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def finished(self) -> bool:
        """Its batch can change no more."""
        return self.status in TERMINAL_STATUSES

    @property
    def upload_name(self) -> str:
        """The name it is uploaded under (found again by it after a lost answer)."""
        return f"amc-{self.sha256[:24]}.jsonl"


class ProviderBatchPlan(BaseModel):
    """What the state file records about one Batch API run."""

    version: int = STATE_VERSION
    model: str
    #: sha256 of all the lines: the items, prompts and settings the plan was made from
    input_sha256: str
    #: a cheap fingerprint of the input (file digests, telescopes, settings), when known
    fingerprint: str | None = None
    files: list[BatchFile]
    #: pairs decided without a call (no snippet, NONE rows, unknown telescopes)
    decided: int = 0
    daily_tokens: int | None = None
    max_requests: int
    max_bytes: int
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def finished(self) -> bool:
        """Every file's batch is finished (or there was nothing to submit)."""
        return all(f.finished for f in self.files)

    @property
    def requests(self) -> int:
        return sum(len(f.requests) for f in self.files)

    def tokens_sent_since(self, since: float) -> int:
        """Tokens of the files submitted at or after ``since`` (our clock)."""
        return sum(f.tokens for f in self.files if f.submitted_at and f.submitted_at >= since)


def files_folder(state_path: Path) -> Path:
    """Where the plan's JSONL files and the downloaded results are kept."""
    return state_path.with_name(f"{state_path.name}.files")


def result_copy_path(state_path: Path, file: BatchFile, kind: str) -> Path:
    """Where a downloaded result file (``kind``: output, errors) of ``file`` is kept; the
    batch id is in the name, so a new batch of the same file never reads old results."""
    return files_folder(state_path) / f"{Path(file.name).stem}.{file.batch_id}.{kind}.jsonl"


def load_state(path: Path) -> ProviderBatchPlan | None:
    """The plan saved at ``path``, or None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("version", 1) == 1:
            data = _from_version_1(data)
        return ProviderBatchPlan.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ProviderBatchError(
            f"batch state file {path} is not valid ({str(exc).splitlines()[0]}); delete it "
            "(and its .files folder) to start a new batch"
        ) from None


def require_state(path: Path) -> ProviderBatchPlan:
    """The saved plan, or ``ProviderBatchError`` saying that it must be submitted first."""
    plan = load_state(path)
    if plan is None:
        raise ProviderBatchError(f"no batch state file at {path}; submit the batch first")
    return plan


def save_state(path: Path, plan: ProviderBatchPlan) -> None:
    """Write atomically: an interruption leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = plan.model_copy(update={"updated_at": datetime.now(UTC)})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(stamped.model_dump_json(indent=1), encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def lock_state(path: Path) -> Iterator[None]:
    """Hold the plan's lock (a file next to it) while advancing it; ``ProviderBatchBusy``
    at once when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProviderBatchBusy(
                f"another process is advancing the batch of {path}; try again when it is done"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ProviderBatchBusy(ProviderBatchError):
    """Another process holds the plan's lock."""

    kind = "llm_batch_busy"


def with_batch(file: BatchFile, batch: dict[str, Any]) -> BatchFile:
    """The file updated from a batch object returned by the provider."""
    errors = (batch.get("errors") or {}).get("data") or []
    return file.model_copy(
        update={
            "batch_id": batch.get("id") or file.batch_id,
            "status": str(batch.get("status") or file.status),
            "output_file_id": batch.get("output_file_id"),
            "error_file_id": batch.get("error_file_id"),
            "request_counts": {
                k: int(v) for k, v in (batch.get("request_counts") or {}).items() if v is not None
            },
            "errors": [_error_text(e) for e in errors],
            "created_at": batch.get("created_at") or file.created_at,
        }
    )


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    line = f" (line {error['line']})" if error.get("line") is not None else ""
    return f"{error.get('code') or 'error'}: {error.get('message') or ''}{line}"


_KEPT_FROM_VERSION_1 = (
    "input_file_id",
    "batch_id",
    "output_file_id",
    "error_file_id",
    "created_at",
)


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    """A single-batch state file of an earlier amc, as a plan of one file (its JSONL was
    not kept, so only a run past its upload can go on from it)."""
    requests = data.get("requests") or {}
    file = {
        "index": 0,
        "name": "part-0001.jsonl",
        "sha256": data["input_sha256"],
        "requests": requests,
        "bytes": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "submitted_at": float(data.get("created_at") or 0) or None,
        **{k: data.get(k) for k in _KEPT_FROM_VERSION_1},
        "status": data.get("status", "planned"),
        "request_counts": data.get("request_counts") or {},
        "errors": data.get("errors") or [],
    }
    return {
        "model": data["model"],
        "input_sha256": data["input_sha256"],
        "files": [file] if requests else [],
        "max_requests": max(1, len(requests)),
        "max_bytes": 2**40,
    }


def read_jsonl(data: bytes) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file; a malformed line is skipped (its pair then has
    no result and is recorded as failed)."""
    lines = []
    for raw in data.decode("utf-8", errors="replace").splitlines():
        if raw.strip():
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                lines.append(obj)
    return lines
