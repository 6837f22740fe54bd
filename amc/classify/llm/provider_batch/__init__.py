"""The LLM tier through the provider's Batch API (a *provider batch*, not a job-store
batch): half the price, answers within 24 hours, any number of pairs.

A run is a *plan* (``plan``): the requests, rendered exactly as the online path would
send them (``custom_id`` = the pair id, or the bibcode in paper mode), cut into
JSONL files within the provider's limits (``batch_max_requests`` lines,
``batch_max_bytes`` bytes) and given the day each goes out on under
``batch_daily_tokens``; every file's requests, tokens and dollars are known, and
shown (``describe_plan``), before anything is sent. ``run`` sends the files in
order as their day comes and polls their batches; ``collect`` turns the answers
into classifications with the online path's checks. The state file records all
of it (``state``): running again with it resumes, across restarts and days, and
never uploads a file or creates a batch twice.

Entry points: ``classify_with_provider_batch`` (a stream of pairs, results in input
order: ``amc classify --batch-api``), ``amc.jobs.provider_batch`` for job-store
batches (``amc submit --batch-api``), and for a list of (pair, snippets) items
``run_provider_batch`` or its steps ``submit_provider_batch``,
``poll_provider_batch``, ``collect_provider_batch``.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from amc.classify.llm.errors import ProviderBatchError
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.provider_batch.collect import Collector
from amc.classify.llm.provider_batch.plan import (
    Unit,
    describe_plan,
    make_plan,
    render_unit,
)
from amc.classify.llm.provider_batch.run import advance, advance_until_finished
from amc.classify.llm.provider_batch.state import (
    BatchFile,
    ProviderBatchBusy,
    ProviderBatchPlan,
    load_state,
    lock_state,
    require_state,
    save_state,
)
from amc.domain.models import Classification, Pair, PairOrFailure, PairSnippets
from amc.registry import Registry
from amc.settings import Settings
from amc.settings.llm import LLMSettings
from amc.snippets import pair_snippets

__all__ = [
    "BatchFile",
    "ProviderBatchBusy",
    "ProviderBatchPlan",
    "Unit",
    "advance",
    "advance_until_finished",
    "classify_with_provider_batch",
    "collect_provider_batch",
    "describe_plan",
    "ensure_plan",
    "load_state",
    "poll_provider_batch",
    "preview_plan",
    "request_settings",
    "run_provider_batch",
    "submit_provider_batch",
]

Units = Callable[[], Iterable[Unit]]
Show = Callable[[list[str]], None]


def ensure_plan(
    units: Units,
    state_path: Path,
    registry: Registry,
    config: LLMSettings,
    fingerprint: str,
) -> tuple[ProviderBatchPlan, bool]:
    """The plan saved at ``state_path``, or a new one made from ``units`` and saved; and
    whether it is new. ``fingerprint`` ties the state file to its input: another one is
    refused (``ProviderBatchError``) before anything is sent."""
    with lock_state(state_path):
        plan = load_state(state_path)
        if plan is None:
            plan = make_plan(units(), state_path, registry, config, fingerprint)
            save_state(state_path, plan)
            return plan, True
    if plan.fingerprint not in (None, fingerprint):
        raise ProviderBatchError(
            f"batch state file {state_path} belongs to another input (other items, prompts "
            "or settings); use a new state file, or delete this one (and its .files folder) "
            "to start over"
        )
    return plan, False


def lines_digest(units: Iterable[Unit], registry: Registry, config: LLMSettings) -> str:
    """A fingerprint of items by their rendered requests (no token counting)."""
    digest, seen = hashlib.sha256(), dict[str, str]()
    for unit in units:
        for line in render_unit(unit, registry, config, seen).lines:
            digest.update((line.text or line.custom_id).encode())
    return digest.hexdigest()


# -- a stream of pairs (amc classify --batch-api) ---------------------------------------


def units_of(
    items: Iterable[PairOrFailure], registry: Registry, settings: Settings
) -> Iterator[Unit | Classification]:
    """Consecutive pairs of one paper as a unit (with their snippets); failed input rows
    in place."""
    pending: list[PairSnippets] = []
    for item in items:
        if isinstance(item, Pair) and pending and item.paper.bibcode == pending[0][0].paper.bibcode:
            pending.append((item, pair_snippets(item, registry, settings)))
            continue
        if pending:
            yield Unit(pending)
            pending = []
        if isinstance(item, Pair):
            pending.append((item, pair_snippets(item, registry, settings)))
        else:
            yield item
    if pending:
        yield Unit(pending)


def classify_with_provider_batch(
    items: Callable[[], Iterable[PairOrFailure]],
    registry: Registry,
    settings: Settings,
    state_path: Path,
    *,
    wait: bool = True,
    fingerprint: str | None = None,
    show: Show | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Classification]:
    """Classify a stream of pairs through the Batch API; results in input order, failed
    input rows in place. ``items`` is called again for each pass (plan, collect), so the
    pairs are never all in memory.

    The plan is made (or found) and shown (``show``) before anything is sent; then the
    due files are sent and polled until the plan is finished, or once with ``wait=False``
    (``ProviderBatchPending`` says what is left). The results are streamed after that.
    """
    config = settings.llm

    def units() -> Iterator[Unit]:
        return (u for u in units_of(items(), registry, settings) if isinstance(u, Unit))

    fingerprint = fingerprint or lines_digest(units(), registry, config)
    plan, _ = ensure_plan(units, state_path, registry, config, fingerprint)
    if show is not None:
        show(describe_plan(plan, clock()))
    plan = advance_until_finished(
        state_path, config, interval_s=config.batch_poll_s, timeout_s=None if wait else 0.0,
        clock=clock, sleep=sleep,
    )  # fmt: skip
    return _results(items, plan, state_path, registry, settings)


def _results(
    items: Callable[[], Iterable[PairOrFailure]],
    plan: ProviderBatchPlan,
    state_path: Path,
    registry: Registry,
    settings: Settings,
) -> Iterator[Classification]:
    with Collector(plan, state_path, registry, settings.llm) as collector:
        for piece in units_of(items(), registry, settings):
            if isinstance(piece, Unit):
                yield from collector.results(piece)
            else:
                yield piece


def preview_plan(
    items: Callable[[], Iterable[PairOrFailure]], registry: Registry, settings: Settings
) -> list[str]:
    """The plan of these pairs, described; made in a scratch folder, nothing kept or sent
    (``amc classify --batch-api STATE --dry-run``)."""
    with tempfile.TemporaryDirectory() as scratch:
        units = (u for u in units_of(items(), registry, settings) if isinstance(u, Unit))
        plan = make_plan(units, Path(scratch) / "plan.json", registry, settings.llm)
        return describe_plan(plan, time.time())


#: settings that change the requests sent (with the inputs, the registry and the prompts)
REQUEST_SETTINGS = (
    "model", "mode", "temperature", "max_output_tokens", "max_snippets", "max_snippet_chars",
    "max_prompt_chars", "response_format", "prompt_name", "paper_prompt_name", "prompts_dir",
    "rerank", "batch_max_requests", "batch_max_bytes", "batch_daily_tokens",
)  # fmt: skip


def request_settings(settings: Settings, registry: Registry) -> dict[str, object]:
    """What, besides the input files, decides the requests of a plan (for a fingerprint)."""
    llm = settings.llm.model_dump(mode="json")
    return {
        **{name: llm[name] for name in REQUEST_SETTINGS},
        "window_sentences": settings.window_sentences,
        "include_references": settings.include_references,
        "registry": registry.content_hash,
        "prompts": [load_prompt(n, settings.llm.prompts_dir).hash
                    for n in (settings.llm.prompt_name, settings.llm.paper_prompt_name)],
    }  # fmt: skip


# -- a list of (pair, snippets) items ---------------------------------------------------


def _units_of_items(items: Sequence[PairSnippets]) -> Units:
    def units() -> Iterator[Unit]:
        pending: list[PairSnippets] = []
        for item in items:
            if pending and item[0].paper.bibcode != pending[0][0].paper.bibcode:
                yield Unit(pending)
                pending = []
            pending.append(item)
        if pending:
            yield Unit(pending)

    return units


def submit_provider_batch(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    state_path: Path,
    *,
    clock: Callable[[], float] = time.time,
) -> ProviderBatchPlan:
    """Plan ``items`` (unless ``state_path`` has the plan) and send the files that are due;
    what was sent before is never sent again."""
    units = _units_of_items(items)
    ensure_plan(units, state_path, registry, config, lines_digest(units(), registry, config))
    return advance(state_path, config, clock=clock)


def poll_provider_batch(
    state_path: Path,
    config: LLMSettings,
    *,
    interval_s: float = 30.0,
    max_interval_s: float = 600.0,
    timeout_s: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> ProviderBatchPlan:
    """Advance the plan until it is finished, waiting ``interval_s`` (doubling up to
    ``max_interval_s``) between steps; after ``timeout_s`` (0: one step) return it as it is."""
    try:
        return advance_until_finished(
            state_path, config, interval_s=interval_s, max_interval_s=max_interval_s,
            timeout_s=timeout_s, clock=clock, sleep=sleep,
        )  # fmt: skip
    except ProviderBatchError as exc:
        if exc.kind != "llm_batch_pending":
            raise
        return require_state(state_path)


def collect_provider_batch(
    state_path: Path, items: Sequence[PairSnippets], registry: Registry, config: LLMSettings
) -> list[Classification]:
    """One ``Classification`` per item, in order, from a finished plan (``ProviderBatchPending``
    while a batch is unfinished). Failed, missing and invalid lines are failed rows."""
    plan = require_state(state_path)
    with Collector(plan, state_path, registry, config) as collector:
        return [r for unit in _units_of_items(items)() for r in collector.results(unit)]


def run_provider_batch(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    state_path: Path,
    *,
    poll_interval_s: float = 30.0,
    max_poll_interval_s: float = 600.0,
    timeout_s: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Classification]:
    """Plan (or resume), send, wait and collect. ``ProviderBatchPending`` when ``timeout_s``
    passes first: run again with the same ``state_path`` to keep waiting."""
    units = _units_of_items(items)
    ensure_plan(units, state_path, registry, config, lines_digest(units(), registry, config))
    advance_until_finished(
        state_path, config, interval_s=poll_interval_s, max_interval_s=max_poll_interval_s,
        timeout_s=timeout_s, clock=clock, sleep=sleep,
    )  # fmt: skip
    return collect_provider_batch(state_path, items, registry, config)
