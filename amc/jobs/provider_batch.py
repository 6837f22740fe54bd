"""Job-store batches through the provider's Batch API (``amc submit --batch-api``).

The batch is spooled and registered like any other (its settings say ``batch_api``,
so it is not the batch of the same input submitted to the workers), but its papers
never go to the workers. Its plan is made from the spool, paper by paper in the
store's order (a paper's requests always share a file), and kept in the spool folder
with its files (``<spool_dir>/<content hash>/provider-batch.json``): every machine
that sees the spool and the store can take it further. Each *advance* sends the files
that are due, reads the status of the others and collects every finished file into
the store: its papers' results saved a few papers per transaction and marked done
(a paper whose spool cannot be read is marked failed; the others go on). Papers
whose pairs need no call are saved when the plan is made.

``amc submit --batch-api`` makes the plan, shows it, and advances once; the same
command run again advances again; ``amc beat``'s sweep advances every open one
(``workers.tasks``). The plan's lock keeps two of them from advancing it at once, and
its state never sends a file twice (``amc.classify.llm.provider_batch``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from amc.classify.llm.provider_batch import ProviderBatchPlan, Unit, describe_plan
from amc.classify.llm.provider_batch.collect import Collector
from amc.classify.llm.provider_batch.plan import Planner
from amc.classify.llm.provider_batch.run import Clock, advance_locked
from amc.classify.llm.provider_batch.state import load_state, lock_state, save_state
from amc.domain.errors import ConfigError
from amc.domain.models import Classification, Pair, PairOrFailure
from amc.jobs.process import finish_if_done
from amc.jobs.spool import load_paper
from amc.jobs.submit import batch_settings, registry_for
from amc.registry import Registry
from amc.settings import Settings
from amc.snippets import pair_snippets
from amc.store import BatchInfo, PaperRecord, Store

log = logging.getLogger(__name__)

#: the batch setting that marks a job-store batch as sent through the Batch API
BATCH_API = "batch_api"
#: papers saved in one transaction while collecting
SAVE_AT_ONCE = 64

Show = Callable[[list[str]], None]


def is_provider_batch(batch: BatchInfo) -> bool:
    """Whether the batch goes through the provider's Batch API (not to the workers)."""
    return batch.settings.get(BATCH_API) is True


def plan_path(settings: Settings, batch: BatchInfo) -> Path:
    """Where the batch's plan (and its files) is kept: in its spool folder."""
    return settings.spool_dir / batch.content_hash / "provider-batch.json"


def start_provider_batch(
    store: Store, batch_id: str, settings: Settings, show: Show | None = None
) -> ProviderBatchPlan:
    """Make the batch's plan from the spool (once; later calls find it), save the papers
    that need no call, and show the plan (before anything is sent)."""
    batch = store.get_batch(batch_id)
    if not is_provider_batch(batch):
        raise ConfigError(f"batch {batch_id} was not submitted with --batch-api")
    settings = batch_settings(settings, batch)
    path = plan_path(settings, batch)
    with lock_state(path):
        plan = load_state(path)
        if plan is None:
            plan = _make_plan(store, batch, settings, path)
            save_state(path, plan)
    if show is not None:
        show(describe_plan(plan, time.time()))
    return plan


def advance_provider_batch(
    store: Store, batch_id: str, settings: Settings, *, clock: Clock = time.time
) -> ProviderBatchPlan:
    """Send what is due, read the status of the rest, collect every finished file into the
    store; the batch is closed once no paper is left. ``ProviderBatchBusy`` when another
    process is advancing it."""
    batch = store.get_batch(batch_id)
    settings = batch_settings(settings, batch)
    path = plan_path(settings, batch)
    with lock_state(path):
        plan = advance_locked(path, settings.llm, clock=clock)
        for file in plan.files:
            if file.finished and not file.collected:
                _collect(store, batch, settings, path, plan, file.index)
    finish_if_done(store, batch_id)
    return plan


def _make_plan(store: Store, batch: BatchInfo, settings: Settings, path: Path) -> ProviderBatchPlan:
    registry = registry_for(settings)
    planner = Planner(path, registry, settings.llm)
    spool = settings.spool_dir / batch.content_hash
    decided: list[tuple[int, list[Classification]]] = []
    for paper in store.pending_papers(batch.id):
        try:
            items = load_paper(spool, paper)
        except Exception as exc:
            _failed(store, paper, exc)
            continue
        rendered = planner.add(_unit(items, paper, registry, settings))
        if not rendered.lines:  # nothing to ask: its results are known now
            results = {c.pair_id: c for c in rendered.decided}
            decided.append((paper.id, _in_order(items, results)))
        if len(decided) >= SAVE_AT_ONCE:
            store.save_papers(batch.id, decided)
            decided = []
    store.save_papers(batch.id, decided)
    store.set_batch_status(batch.id, "running")
    return planner.finish(fingerprint=batch.content_hash)


def _collect(
    store: Store,
    batch: BatchInfo,
    settings: Settings,
    path: Path,
    plan: ProviderBatchPlan,
    index: int,
) -> None:
    """Save the results of one finished file's papers, then mark the file collected."""
    registry = registry_for(settings)
    spool = settings.spool_dir / batch.content_hash
    file = plan.files[index]
    group: list[tuple[int, list[Classification]]] = []
    with Collector(plan, path, registry, settings.llm, files=[index]) as collector:
        for paper in store.get_papers(file.papers):
            if paper.status == "done":
                continue  # saved by an earlier, interrupted collection
            try:
                items = load_paper(spool, paper)
                results = collector.results(_unit(items, paper, registry, settings))
            except Exception as exc:
                _failed(store, paper, exc)
                continue
            group.append((paper.id, _in_order(items, {c.pair_id: c for c in results})))
            if len(group) >= SAVE_AT_ONCE:
                store.save_papers(batch.id, group)
                group = []
        store.save_papers(batch.id, group)
    plan.files[index] = file.model_copy(update={"collected": True})
    save_state(path, plan)
    log.info("batch %s: file %d collected (%d papers)", batch.id, index + 1, len(file.papers))


def _unit(
    items: list[PairOrFailure], paper: PaperRecord, registry: Registry, settings: Settings
) -> Unit:
    pairs = [item for item in items if isinstance(item, Pair)]
    return Unit([(p, pair_snippets(p, registry, settings)) for p in pairs], paper.id)


def _in_order(
    items: list[PairOrFailure], results: dict[str, Classification]
) -> list[Classification]:
    return [results[i.pair_id] if isinstance(i, Pair) else i for i in items]


def _failed(store: Store, paper: PaperRecord, exc: Exception) -> None:
    kind = str(getattr(exc, "kind", type(exc).__name__))
    store.mark_paper_failed(paper.id, kind, str(exc) or type(exc).__name__)
