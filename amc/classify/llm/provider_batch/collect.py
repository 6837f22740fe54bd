"""Collecting a plan's answers: every line through the same validation, quote checks and
precedence as the online path (``conversation.verdicts_from_text``).

The output and error files of each finished batch are downloaded once and kept in
the plan's files folder; an index maps each ``custom_id`` to its line there, so
memory holds offsets, not answers. The items are rendered again, unit by unit in
the plan's order, and each rendered line must equal the line that was sent (the
input, prompts or settings changed otherwise). A line that failed, is missing or
holds an invalid answer becomes a failed ``Classification`` (raw output kept); the
others are unaffected. There is no re-ask: a batch is one shot. Accepted answers go
into the answer cache, so a later online run of the same pairs costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from amc.classify.llm.cache import AnswerCache
from amc.classify.llm.conversation import RAW_KEEP_CHARS, Outcome, request_key, verdicts_from_text
from amc.classify.llm.cost import call_cost
from amc.classify.llm.errors import (
    LLMAnswerError,
    LLMRequestError,
    ProviderBatchError,
    ProviderBatchPending,
)
from amc.classify.llm.provider.batches import ProviderBatchClient
from amc.classify.llm.provider_batch.plan import Line, Unit, render_unit
from amc.classify.llm.provider_batch.state import (
    BatchFile,
    ProviderBatchPlan,
    files_folder,
    result_copy_path,
)
from amc.classify.llm.results import classifications, failed, split_usage
from amc.domain.models import Classification, Usage
from amc.registry import Registry
from amc.settings.llm import LLMSettings


class Collector:
    """The results of units rendered again in the plan's order (``results``), from the
    finished batches of ``files`` (default: all, which must then be finished).

    Use as a context manager (closes the answer cache and the files read).
    """

    def __init__(
        self,
        plan: ProviderBatchPlan,
        state_path: Path,
        registry: Registry,
        config: LLMSettings,
        files: list[int] | None = None,
    ) -> None:
        self.plan, self.state_path, self.registry, self.config = plan, state_path, registry, config
        chosen = [plan.files[i] for i in (range(len(plan.files)) if files is None else files)]
        unfinished = [f for f in chosen if not f.finished]
        if unfinished:
            raise ProviderBatchPending(
                f"batch {unfinished[0].batch_id or '(not sent yet)'} of file "
                f"{unfinished[0].index + 1} is still {unfinished[0].status}; collect it once "
                f"it is finished (run again with the state file {state_path})"
            )
        self.files = {f.index: f for f in chosen}
        self.owner = {cid: f.index for f in chosen for cid in f.requests}
        self.seen: dict[str, str] = {}
        self._answers = _AnswerIndex(plan, state_path, config, chosen)
        self._sent = _SentLines(files_folder(state_path), chosen)
        use_cache = config.use_cache and config.cache_path is not None
        self.cache = AnswerCache(config.cache_path) if use_cache and config.cache_path else None

    def results(self, unit: Unit) -> list[Classification]:
        """One result per item of ``unit``, in order."""
        rendered = render_unit(unit, self.registry, self.config, self.seen)
        results = {r.pair_id: r for r in rendered.decided}
        for line in rendered.lines:
            index = self.owner.get(line.custom_id)
            if index is None:
                raise ProviderBatchError(
                    f"{line.custom_id} is in no file of the plan in {self.state_path}: the "
                    "input, prompts or settings changed since it was made; use a new state file"
                )
            if line.text is not None:
                self._sent.check(index, line)
            for result in self._rows(line, self.files[index]):
                results[result.pair_id] = result
        return [results[pair.pair_id] for pair, _ in unit.items]

    def _rows(self, line: Line, file: BatchFile) -> list[Classification]:
        """The request's rows: judged verdicts, or failed rows (raw output kept)."""
        request = line.request
        answer = _answer(self._answers.get(line.custom_id), line.custom_id, file, self.config)
        if answer.text is None:
            error: Exception = LLMRequestError(answer.error)
            return [failed(item.pair, error, self.config, request) for item in request.inputs]
        try:
            verdicts = verdicts_from_text(request, answer.text)
        except ValueError as exc:
            error = LLMAnswerError(
                f"the model's answer is invalid (the Batch API mode does not re-ask): {exc}",
                raw=answer.text[:RAW_KEEP_CHARS],
            )
            usages = split_usage(answer.usage, len(request.inputs))
            return [failed(item.pair, error, self.config, request, usage)
                    for item, usage in zip(request.inputs, usages, strict=True)]  # fmt: skip
        if self.cache is not None:  # an online re-run of these pairs then costs nothing
            self.cache.put(request_key(request, self.config), self.config.model,
                           request.prompt.hash, answer.text)  # fmt: skip
        for verdict in verdicts:
            verdict.notes.append(f"answered through the Batch API ({file.batch_id})")
        started = datetime.fromtimestamp(file.created_at, UTC) if file.created_at else None
        outcome = Outcome(verdicts, answer.usage, cached=False, attempts=1)
        return classifications(request, outcome, self.config, self.registry,
                               started or datetime.now(UTC), 0.0)  # fmt: skip

    def close(self) -> None:
        self._answers.close()
        self._sent.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SentLines:
    """The lines each file sent, read in step with the lines rendered again."""

    def __init__(self, folder: Path, files: list[BatchFile]) -> None:
        self.folder = folder
        self.handles: dict[int, IO[str] | None] = {}
        self.names = {f.index: f.name for f in files}

    def check(self, index: int, line: Line) -> None:
        if index not in self.handles:
            path = self.folder / self.names[index]
            # a plan of an earlier amc kept no copy: its lines cannot be compared
            self.handles[index] = path.open(encoding="utf-8") if path.exists() else None
        handle = self.handles[index]
        if handle is not None and handle.readline() != line.text:
            raise ProviderBatchError(
                f"the request {line.custom_id} is not the one sent in {self.names[index]}: the "
                "input, prompts or settings changed since the plan was made; collect with the "
                "same ones, or use a new state file"
            )

    def close(self) -> None:
        for handle in self.handles.values():
            if handle is not None:
                handle.close()


class _AnswerIndex:
    """custom_id -> where its result line is, over the files' downloaded results."""

    def __init__(
        self, plan: ProviderBatchPlan, state_path: Path, config: LLMSettings, files: list[BatchFile]
    ) -> None:
        self.where: dict[str, tuple[Path, int, int]] = {}
        self.handles: dict[Path, IO[bytes]] = {}
        client: ProviderBatchClient | None = None
        for file in files:
            for kind, file_id in (("errors", file.error_file_id), ("output", file.output_file_id)):
                if not file_id or file.batch_id is None:
                    continue
                copy = result_copy_path(state_path, file, kind)
                copy.parent.mkdir(parents=True, exist_ok=True)
                if not copy.exists():
                    client = client or ProviderBatchClient(config)
                    tmp = copy.with_name(f".{copy.name}.tmp")
                    tmp.write_bytes(client.download(file_id))
                    tmp.replace(copy)
                self._index(copy)

    def _index(self, path: Path) -> None:
        offset = 0
        with path.open("rb") as handle:
            for raw in handle:
                custom_id = _custom_id_of(raw)
                if custom_id is not None:
                    self.where[custom_id] = (path, offset, len(raw))
                offset += len(raw)

    def get(self, custom_id: str) -> dict[str, Any] | None:
        found = self.where.get(custom_id)
        if found is None:
            return None
        path, offset, length = found
        if path not in self.handles:
            self.handles[path] = path.open("rb")
        handle = self.handles[path]
        handle.seek(offset)
        line: dict[str, Any] = json.loads(handle.read(length))
        return line

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _custom_id_of(raw: bytes) -> str | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None  # a malformed line: its pairs are recorded as without a result
    return str(line.get("custom_id")) if isinstance(line, dict) else None


@dataclass(frozen=True)
class _Answer:
    """One request's outcome in the batch: the answer text, or why there is none."""

    text: str | None
    usage: Usage
    error: str = ""


def _answer(
    line: dict[str, Any] | None, custom_id: str, file: BatchFile, config: LLMSettings
) -> _Answer:
    if line is None:
        why = f"; batch errors: {'; '.join(file.errors)}" if file.errors else ""
        return _Answer(None, Usage(), f"batch {file.batch_id} (file {file.index + 1}) ended "
                       f"{file.status} without a result for {custom_id}{why}; submit these "
                       "pairs again (online, only they are asked: the answered ones are "
                       "cached; for a job-store batch, `amc retry ID --failed`)")  # fmt: skip
    response = line.get("response") or {}
    status = response.get("status_code") if response else None
    raw_body = response.get("body")
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    if line.get("error") or status != 200 or not body.get("choices"):
        detail = line.get("error") or body.get("error") or "no response"
        return _Answer(None, Usage(), f"batch line {custom_id} failed (HTTP {status}): {detail}")
    message = body["choices"][0].get("message") or {}
    usage = body.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cost = call_cost(config, prompt, completion, discounted=True)
    spent = Usage(calls=1, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)
    return _Answer(str(message.get("content") or ""), spent)
