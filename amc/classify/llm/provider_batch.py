"""The LLM tier through the provider's Batch API (a *provider batch*, not a job-store
batch): half the price, answers within 24 hours.

``submit_provider_batch`` writes one JSONL line per request (the exact body the online
path would send, ``response_format`` included; ``custom_id`` = the pair id, or
the bibcode in paper mode), uploads it and creates the batch; ``poll_provider_batch``
waits with backoff; ``collect_provider_batch`` downloads the output and error files and
passes every answer through the same validation, quote checking and
precedence as the online path (``conversation.verdicts_from_text``). A line that
failed or holds an invalid answer becomes a failed ``Classification`` (raw
output kept); the other lines are unaffected. There is no re-ask: a batch is
one shot. ``run_provider_batch`` does all three.

Everything done is recorded in a state file (``provider_batch_state``), so an
interrupted run resumes with the same file: no second upload, no second
batch, and a finished batch is collected again from the saved result files.
Accepted answers go into the answer cache, so a later online run of the same
pairs costs nothing. The LLM reranker needs online calls and is refused here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from amc.classify.llm.cache import AnswerCache
from amc.classify.llm.conversation import RAW_KEEP_CHARS, Outcome, request_key, verdicts_from_text
from amc.classify.llm.cost import call_cost
from amc.classify.llm.errors import (
    LLMAnswerError,
    LLMRequestError,
    ProviderBatchError,
    ProviderBatchPending,
)
from amc.classify.llm.planning import build_requests
from amc.classify.llm.provider.batches import CHAT_ENDPOINT, ProviderBatchClient, provider_model
from amc.classify.llm.provider.protocol import chat_params, initial_style, response_format_for
from amc.classify.llm.provider_batch_state import (
    NOTHING_TO_SUBMIT,
    ProviderBatchState,
    load_state,
    read_jsonl,
    require_state,
    result_copy_path,
    save_state,
    with_batch,
)
from amc.classify.llm.request import Request
from amc.classify.llm.results import classifications, failed, no_hit, split_usage, triage_items
from amc.domain.models import Classification, Pair, PairOrFailure, PairSnippets, Usage
from amc.registry import Registry
from amc.settings import Settings
from amc.settings.llm import LLMSettings
from amc.snippets import pair_snippets

log = logging.getLogger(__name__)

#: OpenAI bills Batch API tokens at half the online price
BATCH_PRICE_FACTOR = 0.5
#: most lines one OpenAI batch accepts
MAX_LINES = 50_000


@dataclass(frozen=True)
class _Plan:
    """The requests of a run by custom_id, the results decided without the model, the JSONL."""

    requests: dict[str, Request]
    decided: list[Classification]
    jsonl: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.jsonl).hexdigest()


def submit_provider_batch(
    items: Sequence[PairSnippets], registry: Registry, config: LLMSettings, state_path: Path
) -> ProviderBatchState:
    """Upload the requests of ``items`` and create the batch, unless ``state_path`` shows
    that this was done already (then the saved state is returned and nothing is sent)."""
    plan = _plan(items, registry, config)
    state = load_state(state_path)
    if state is not None:
        _check_same_input(state, plan, state_path)
        if state.batch_id is not None or state.finished:
            return state
    else:
        state = ProviderBatchState(
            model=config.model,
            input_sha256=plan.sha256,
            requests={cid: [i.pair.pair_id for i in r.inputs] for cid, r in plan.requests.items()},
        )
    if not plan.requests:
        state = state.model_copy(update={"status": NOTHING_TO_SUBMIT})
        save_state(state_path, state)
        return state
    return _upload_and_create(state, plan, config, state_path)


def _upload_and_create(
    state: ProviderBatchState, plan: _Plan, config: LLMSettings, state_path: Path
) -> ProviderBatchState:
    transport = ProviderBatchClient(config)
    if state.input_file_id is None:
        file_id = transport.upload(plan.jsonl, f"amc-{plan.sha256[:16]}.jsonl")
        state = state.model_copy(update={"input_file_id": file_id, "status": "uploaded"})
        save_state(state_path, state)  # a crash now resumes at "create", not "upload"
    assert state.input_file_id is not None
    batch = transport.create(state.input_file_id, {"amc_input_sha256": plan.sha256})
    state = with_batch(state, batch)
    save_state(state_path, state)
    log.info("created batch %s (%d requests)", state.batch_id, len(plan.requests))
    return state


def poll_provider_batch(
    state_path: Path,
    config: LLMSettings,
    *,
    interval_s: float = 30.0,
    max_interval_s: float = 600.0,
    timeout_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ProviderBatchState:
    """Read the batch's status until it is finished, waiting ``interval_s`` (doubling up to
    ``max_interval_s``) between reads; give up after ``timeout_s`` (0: read once) and
    return the state as it is then. Every read is saved to the state file."""
    state = require_state(state_path)
    transport: ProviderBatchClient | None = None
    waited, interval = 0.0, interval_s
    while not state.finished:
        if state.batch_id is None:
            raise ProviderBatchError(f"{state_path} records no batch yet; submit the batch again")
        transport = transport or ProviderBatchClient(config)
        state = with_batch(state, transport.retrieve(state.batch_id))
        save_state(state_path, state)
        if state.finished or (timeout_s is not None and waited >= timeout_s):
            break
        sleep(interval)
        waited += interval
        interval = min(interval * 2, max_interval_s)
    return state


def collect_provider_batch(
    state_path: Path, items: Sequence[PairSnippets], registry: Registry, config: LLMSettings
) -> list[Classification]:
    """One ``Classification`` per item, in order, from a finished batch. Lines that failed,
    are missing or hold an invalid answer are failed rows; the rest go on."""
    plan = _plan(items, registry, config)
    state = require_state(state_path)
    _check_same_input(state, plan, state_path)
    if not state.finished:
        raise ProviderBatchPending(
            f"batch {state.batch_id} is still {state.status}; poll it until it finishes "
            f"(run again with the state file {state_path})"
        )
    lines = _result_lines(state, state_path, config)
    results = {r.pair_id: r for r in plan.decided}
    cache = _open_cache(config)
    try:
        for custom_id, request in plan.requests.items():
            collected = _collect_line(request, lines.get(custom_id), custom_id, state, config)
            for result in _rows(request, collected, state, config, registry, cache):
                results[result.pair_id] = result
    finally:
        if cache is not None:
            cache.close()
    return [results[pair.pair_id] for pair, _ in items]


def run_provider_batch(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    state_path: Path,
    *,
    poll_interval_s: float = 30.0,
    max_poll_interval_s: float = 600.0,
    timeout_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Classification]:
    """Submit (or resume), wait and collect. Raises ``ProviderBatchPending`` when ``timeout_s``
    passes first: run again with the same ``state_path`` to keep waiting."""
    submit_provider_batch(items, registry, config, state_path)
    state = poll_provider_batch(
        state_path,
        config,
        interval_s=poll_interval_s,
        max_interval_s=max_poll_interval_s,
        timeout_s=timeout_s,
        sleep=sleep,
    )
    if not state.finished:
        raise ProviderBatchPending(
            f"batch {state.batch_id} is still {state.status} after waiting {timeout_s} s; "
            f"run again with the state file {state_path} to go on waiting"
        )
    return collect_provider_batch(state_path, items, registry, config)


# -- planning ---------------------------------------------------------------------------


def _plan(items: Sequence[PairSnippets], registry: Registry, config: LLMSettings) -> _Plan:
    if config.rerank == "llm":
        raise ProviderBatchError(
            "rerank='llm' needs one online call per snippet; use rerank='lexical' with the "
            "Batch API, or the online mode"
        )
    model = provider_model(config.model)
    inputs, decided = triage_items(items, registry, config)
    requests, without_text = build_requests(inputs, config)
    decided += [no_hit(item, config, registry) for item in without_text]
    by_id: dict[str, Request] = {}
    for request in requests:  # a repeated item is asked once
        by_id.setdefault(_custom_id(request, config), request)
    if len(by_id) > MAX_LINES:
        raise ProviderBatchError(
            f"{len(by_id)} requests exceed the Batch API's {MAX_LINES} lines per batch; "
            "split the input into smaller batches"
        )
    lines = [_line(cid, request, model, config) for cid, request in by_id.items()]
    return _Plan(by_id, decided, "".join(line + "\n" for line in lines).encode())


def _custom_id(request: Request, config: LLMSettings) -> str:
    first = request.inputs[0].pair
    return first.pair_id if config.mode == "pair" else first.paper.bibcode


def _line(custom_id: str, request: Request, model: str, config: LLMSettings) -> str:
    response_format = response_format_for(initial_style(config), request.schema)
    params = chat_params(config, request.messages, response_format, request.max_tokens)
    body = {"model": model, **params}
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": body}
    return json.dumps(line, ensure_ascii=False, sort_keys=True)


def _check_same_input(state: ProviderBatchState, plan: _Plan, state_path: Path) -> None:
    if state.input_sha256 != plan.sha256:
        raise ProviderBatchError(
            f"batch state file {state_path} belongs to another input (other items, prompts "
            "or settings); use a new state file, or delete this one to start over"
        )


# -- collecting -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One request's outcome in the batch: the answer text, or why there is none."""

    text: str | None
    usage: Usage
    error: str = ""


def _result_lines(
    state: ProviderBatchState, state_path: Path, config: LLMSettings
) -> dict[str, Any]:
    """custom_id -> result line, from the error file then the output file (downloaded once
    and kept next to the state file)."""
    lines: dict[str, Any] = {}
    transport: ProviderBatchClient | None = None
    for kind, file_id in (("errors", state.error_file_id), ("output", state.output_file_id)):
        if not file_id or state.batch_id is None:
            continue
        copy = result_copy_path(state_path, state.batch_id, kind)
        if not copy.exists():
            transport = transport or ProviderBatchClient(config)
            tmp = copy.with_name(f".{copy.name}.tmp")
            tmp.write_bytes(transport.download(file_id))
            tmp.replace(copy)
        for line in read_jsonl(copy.read_bytes()):
            lines[str(line.get("custom_id"))] = line
    return lines


def _collect_line(
    request: Request, line: Any, custom_id: str, state: ProviderBatchState, config: LLMSettings
) -> _Line:
    if line is None:
        why = f"; batch errors: {'; '.join(state.errors)}" if state.errors else ""
        return _Line(
            None,
            Usage(),
            f"batch {state.batch_id} ended {state.status} without a "
            f"result for {custom_id}{why}; submit these pairs again",
        )
    response = line.get("response") or {}
    status = response.get("status_code") if response else None
    raw_body = response.get("body")
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    if line.get("error") or status != 200 or not body.get("choices"):
        detail = line.get("error") or body.get("error") or "no response"
        return _Line(None, Usage(), f"batch line {custom_id} failed (HTTP {status}): {detail}")
    message = body["choices"][0].get("message") or {}
    return _Line(str(message.get("content") or ""), _usage(body, config))


def _usage(body: dict[str, Any], config: LLMSettings) -> Usage:
    usage = body.get("usage") or {}
    prompt, completion = (
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )
    cost = call_cost(config, prompt, completion)
    return Usage(
        calls=1,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=None if cost is None else cost * BATCH_PRICE_FACTOR,
    )


def _rows(
    request: Request,
    line: _Line,
    state: ProviderBatchState,
    config: LLMSettings,
    registry: Registry,
    cache: AnswerCache | None,
) -> list[Classification]:
    """The request's rows: judged verdicts, or failed rows (raw output kept) for every pair."""
    usages = split_usage(line.usage, len(request.inputs))
    if line.text is None:
        error: Exception = LLMRequestError(line.error)
        return [failed(item.pair, error, config, request) for item in request.inputs]
    try:
        verdicts = verdicts_from_text(request, line.text)
    except ValueError as exc:
        error = LLMAnswerError(
            f"the model's answer is invalid (the Batch API mode does not re-ask): {exc}",
            raw=line.text[:RAW_KEEP_CHARS],
        )
        return [
            failed(item.pair, error, config, request, usage)
            for item, usage in zip(request.inputs, usages, strict=True)
        ]
    if cache is not None:  # an online re-run of these pairs then costs nothing
        cache.put(request_key(request, config), config.model, request.prompt.hash, line.text)
    for verdict in verdicts:
        verdict.notes.append(f"answered through the Batch API ({state.batch_id})")
    started = datetime.fromtimestamp(state.created_at, UTC) if state.created_at else None
    outcome = Outcome(verdicts, line.usage, cached=False, attempts=1)
    return classifications(request, outcome, config, registry, started or datetime.now(UTC), 0.0)


def _open_cache(config: LLMSettings) -> AnswerCache | None:
    if config.use_cache and config.cache_path is not None:
        return AnswerCache(config.cache_path)
    return None


def classify_with_provider_batch(
    items: Iterable[PairOrFailure],
    registry: Registry,
    settings: Settings,
    state_path: Path,
    wait: bool = True,
) -> list[Classification]:
    """A stream of pairs through the provider's Batch API, results in input order.

    All pairs are held in memory (a batch is at most 50,000 requests). The state
    file makes it resumable: running again with it never re-uploads or re-creates,
    it polls and, once the batch is finished, collects. With ``wait=False`` it
    submits, reads the status once and raises ``ProviderBatchPending`` if unfinished.
    Failed input rows are returned as they are, in order.
    """
    pending = list(items)
    pairs = [p for p in pending if isinstance(p, Pair)]
    results = run_provider_batch(
        [(p, pair_snippets(p, registry, settings)) for p in pairs],
        registry,
        settings.llm,
        state_path,
        poll_interval_s=settings.llm.batch_poll_s,
        timeout_s=None if wait else 0.0,
    )
    ordered = iter(results)
    return [next(ordered) if isinstance(item, Pair) else item for item in pending]
