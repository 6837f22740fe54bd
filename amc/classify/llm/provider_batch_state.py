"""The state file of a Batch API run: what has been uploaded and created, so a run resumes.

A small JSON file (path chosen by the caller) written atomically after every
step that costs something: the upload (``input_file_id``), the batch creation
(``batch_id``) and every status read. A re-run with the same file never
uploads or creates again; it goes on polling, or collects a finished batch.
``input_sha256`` ties the file to the exact input (items, prompts, settings),
so a state file is never applied to another run by mistake.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from amc.classify.llm.errors import ProviderBatchError

#: statuses after which a batch changes no more
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})
#: status of a state whose every pair was decided without the model (nothing to submit)
NOTHING_TO_SUBMIT = "completed"


class ProviderBatchState(BaseModel):
    """What the state file records about one Batch API run."""

    version: int = 1
    model: str
    #: sha256 of the input JSONL: the items, prompts and settings the batch was made from
    input_sha256: str
    #: custom_id of each line -> the pair ids it answers (one, or a paper's pairs)
    requests: dict[str, list[str]]
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "new"
    output_file_id: str | None = None
    error_file_id: str | None = None
    request_counts: dict[str, int] = Field(default_factory=dict)
    #: batch-level errors reported by the provider (e.g. why validation failed)
    errors: list[str] = Field(default_factory=list)
    created_at: int | None = None
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def finished(self) -> bool:
        """True once the batch can change no more (or there was nothing to submit)."""
        return self.status in TERMINAL_STATUSES


def load_state(path: Path) -> ProviderBatchState | None:
    """The state saved at ``path``, or None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return ProviderBatchState.model_validate_json(text)
    except ValidationError as exc:
        raise ProviderBatchError(
            f"batch state file {path} is not valid ({exc.error_count()} error(s): "
            f"{exc.errors()[0]['msg']}); delete it to start a new batch"
        ) from None


def require_state(path: Path) -> ProviderBatchState:
    """The saved state, or ``ProviderBatchError`` saying that the batch must be submitted first."""
    state = load_state(path)
    if state is None:
        raise ProviderBatchError(f"no batch state file at {path}; submit the batch first")
    return state


def save_state(path: Path, state: ProviderBatchState) -> None:
    """Write atomically: an interruption leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamped = state.model_copy(update={"updated_at": datetime.now(UTC)})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(stamped.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)


def with_batch(state: ProviderBatchState, batch: dict[str, Any]) -> ProviderBatchState:
    """The state updated from a batch object returned by the provider."""
    errors = (batch.get("errors") or {}).get("data") or []
    return state.model_copy(
        update={
            "batch_id": batch.get("id") or state.batch_id,
            "status": str(batch.get("status") or state.status),
            "output_file_id": batch.get("output_file_id"),
            "error_file_id": batch.get("error_file_id"),
            "request_counts": {
                k: int(v) for k, v in (batch.get("request_counts") or {}).items() if v is not None
            },
            "errors": [_error_text(e) for e in errors],
            "created_at": batch.get("created_at") or state.created_at,
        }
    )


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    line = f" (line {error['line']})" if error.get("line") is not None else ""
    return f"{error.get('code') or 'error'}: {error.get('message') or ''}{line}"


def result_copy_path(state_path: Path, batch_id: str, kind: str) -> Path:
    """Where a downloaded result file is kept next to the state file (``kind``: output,
    errors), so collecting again needs no download and survives the provider's file expiry.
    The batch id is in the name: a new batch under the same state path never reads old files."""
    return state_path.with_name(f"{state_path.name}.{batch_id}.{kind}.jsonl")


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
