"""Celery tasks: thin shells over ``amc.batches`` (transport and retries only).

- ``amc.process_papers(batch_id, paper_ids)``: claim, classify, save a few papers
  (``task_papers``); the tasks running in one worker share one classifier per batch,
  so their LLM calls share ``llm_concurrency`` slots and keep them all busy;
- ``amc.sweep``: every ``sweep_interval_s`` (beat), re-queue papers a dead worker
  left ``running`` past the lease, re-send every pending paper of a batch whose
  queue Redis lost (a restart without persistence), close finished batches, and
  advance the batches sent through the provider's Batch API (send due files, poll,
  collect into the store);
- ``amc.run_audit``: the incremental audit, at ``audit_cron`` (beat).

Whether Redis still has a batch's messages is told by a marker key written when
they were sent: it vanishes with them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_init
from kombu.exceptions import OperationalError as BrokerDown
from sqlalchemy.exc import OperationalError as DatabaseDown

from amc.classify.dispatch import PairClassifier
from amc.classify.llm import warm_up as warm_up_llm
from amc.classify.llm.planning import prepare_registry
from amc.classify.llm.provider_batch import ProviderBatchBusy
from amc.domain.errors import AmcError
from amc.jobs.process import classifier_for, close_if_finished, finish_if_done, process_papers
from amc.jobs.provider_batch import advance_provider_batch, is_provider_batch
from amc.jobs.submit import batch_settings, registry_for
from amc.settings import Settings
from amc.store import BatchInfo, Store, open_store
from workers.ratelimit import RedisTokenBucket

log = logging.getLogger(__name__)

PROCESS_TASK = "amc.process_papers"
SWEEP_TASK = "amc.sweep"
AUDIT_TASK = "amc.run_audit"
MARKER_TTL_S = 30 * 86400


class BrokerError(AmcError):
    """Redis (the broker) cannot be reached."""

    kind = "broker"


def queued_key(batch_id: str) -> str:
    """Redis key present while the broker holds the batch's messages."""
    return f"amc:batch:{batch_id}:queued"


class WorkerContext:
    """What a worker process opens once: the store, a Redis client, the shared limiter.

    Opened lazily and again after a fork (prefork pool children must not share
    the parent's database connections).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pid = -1
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._redis: redis.Redis | None = None
        self.classifiers = SharedClassifiers()

    def _open(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._store = open_store(self.settings.database_url)
                self._redis = redis.Redis.from_url(self.settings.broker_url)
                self._pid = os.getpid()

    @property
    def store(self) -> Store:
        self._open()
        assert self._store is not None
        return self._store

    @property
    def redis(self) -> redis.Redis:
        self._open()
        assert self._redis is not None
        return self._redis

    def limiter(self) -> RedisTokenBucket | None:
        """The fleet-wide LLM limit, or None when no ``llm_rpm``/``llm_tpm`` is set."""
        s = self.settings
        if s.llm.rpm is None and s.llm.tpm is None:
            return None
        return RedisTokenBucket(self.redis, s.llm.rpm, s.llm.tpm, name=s.llm.model)


@dataclass
class _Entry:
    classifier: PairClassifier
    pid: int
    users: int = 0
    retired: bool = False


class SharedClassifiers:
    """One ``PairClassifier`` per batch in this worker process, shared by its threads: the
    tasks running at once submit to the same LLM session, so ``llm_concurrency`` slots
    serve them all and stay busy while each task reads and saves its papers.

    A classifier whose LLM run stopped (provider down) is replaced for the next task,
    so a later retry meets a fresh one; unused ones beyond ``keep`` are closed.
    """

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    @contextmanager
    def use(self, batch_id: str, settings: Settings) -> Iterator[PairClassifier]:
        with self._lock:
            entry = self._entries.get(batch_id)
            if entry is None or entry.classifier.stopped or entry.pid != os.getpid():
                if entry is not None:
                    entry.retired = True
                entry = self._entries[batch_id] = _Entry(classifier_for(settings), os.getpid())
            entry.users += 1
            self._entries[batch_id] = self._entries.pop(batch_id)  # most recent last
            idle = [k for k, e in self._entries.items() if e.users == 0]
            retire = idle[: max(0, len(self._entries) - self.keep)]
            closing = [self._entries.pop(k) for k in retire]
        for old in closing:
            old.classifier.close()
        try:
            yield entry.classifier
        finally:
            with self._lock:
                entry.users -= 1
                close = entry.retired and entry.users == 0
            if close:
                entry.classifier.close()


def register_tasks(app: Celery, settings: Settings) -> None:
    """Define the amc tasks on ``app``; they use ``settings`` (built at worker start)."""
    context = WorkerContext(settings)
    worker_init.connect(lambda **_: warm_up(settings), weak=False, dispatch_uid="amc-warm-up")

    @app.task(
        name=PROCESS_TASK,
        shared=False,  # bound to this app and its settings only
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=(DatabaseDown,),  # the store is briefly down: try again later
        retry_backoff=True,
        max_retries=8,
    )
    def process_papers(batch_id: str, paper_ids: list[int]) -> dict[str, int]:
        # closing a finished batch is the sweep's job (it counts the whole batch, too
        # dear to do after every task of a large one)
        return run_papers(context, batch_id, paper_ids)

    @app.task(name=SWEEP_TASK, shared=False)
    def sweep() -> int:
        return sweep_batches(app, context.store, context.redis, settings)

    @app.task(name=AUDIT_TASK, shared=False)
    def audit() -> Any:
        return run_audit(settings)


def run_papers(context: WorkerContext, batch_id: str, paper_ids: Sequence[int]) -> dict[str, int]:
    """The task's work: the papers' outcomes counted (``done``, ``failed``, ``skipped``)."""
    store = context.store
    batch = store.get_batch(batch_id)
    settings = batch_settings(context.settings, batch)
    papers = store.get_papers(paper_ids)
    with context.classifiers.use(batch.id, settings) as classifier:
        try:
            outcome = process_papers(store, batch, papers, settings, classifier, context.limiter())
        except AmcError as exc:  # the provider stopped the run: the papers are marked failed
            log.warning("batch %s: papers %s failed: %s", batch_id, list(paper_ids), exc)
            close_if_finished(store, batch_id)
            return {"failed": len(paper_ids)}
    close_if_finished(store, batch_id)  # the last task of a batch closes it
    return dict(Counter(outcome.values()))


def warm_up(settings: Settings) -> None:
    """Load the LLM client and compile the registry's patterns before taking work: they
    take seconds, and a worker that says "ready" should be ready (first tasks would
    otherwise all stall on them)."""
    if settings.tier in ("llm", "cascade"):
        warm_up_llm(settings.llm)
        prepare_registry(registry_for(settings))  # the patterns its papers are read with
    open_store(settings.database_url).close()  # migrations once, before the threads start


def enqueue_papers(
    app: Celery,
    client: redis.Redis,
    batch_id: str,
    paper_ids: Sequence[int],
    per_task: int | None = None,
) -> None:
    """Send one ``amc.process_papers`` message per ``per_task`` papers (default: the
    app's ``task_papers``), then mark the batch as queued."""
    size = per_task or app.conf.get("amc_task_papers") or 1
    try:
        client.ping()  # fail fast and clearly rather than inside kombu's retries
        with app.producer_or_acquire() as producer:
            for start in range(0, len(paper_ids), size):
                group = list(paper_ids[start : start + size])
                app.send_task(PROCESS_TASK, args=[batch_id, group], producer=producer,
                              ignore_result=True)  # fmt: skip
        client.set(queued_key(batch_id), len(paper_ids), ex=MARKER_TTL_S)
    except (BrokerDown, redis.RedisError, OSError) as exc:
        raise BrokerError(
            f"cannot reach the broker at {app.conf.broker_url} ({exc}); start Redis, or use "
            "`amc run FILE` to classify in this process; the batch is saved and `amc beat` "
            "queues it once Redis is back"
        ) from None


def sweep_batches(app: Celery, store: Store, client: redis.Redis, settings: Settings) -> int:
    """Recover lost papers of every active batch and close finished ones; papers re-sent.
    A batch sent through the provider's Batch API is advanced instead (its papers never
    go to the workers)."""
    sent = 0
    for batch in active_batches(store):
        if is_provider_batch(batch):
            advance_through_provider(store, batch, settings)
            continue
        lost = not client.exists(queued_key(batch.id))
        ids = recover_papers(store, batch.id, settings.task_lease_s, lost)
        if ids or lost:
            if ids:
                log.warning("batch %s: re-queueing %d lost papers", batch.id, len(ids))
            enqueue_papers(app, client, batch.id, ids)
            sent += len(ids)
        finish_if_done(store, batch.id)
    return sent


def advance_through_provider(store: Store, batch: BatchInfo, settings: Settings) -> None:
    """Send a Batch API batch's due files, poll, collect; a failure is logged and the next
    sweep tries again (nothing is ever sent twice)."""
    try:
        advance_provider_batch(store, batch.id, settings)
    except ProviderBatchBusy:
        pass  # another sweep (or `amc submit --batch-api`) is at it
    except AmcError as exc:
        log.warning("batch %s: the Batch API step failed (%s); retried at the next sweep",
                    batch.id, exc)  # fmt: skip


def recover_papers(store: Store, batch_id: str, lease_s: float, queue_lost: bool) -> list[int]:
    """Papers needing a new message: stale ``running`` ones (their worker died), made
    pending again, plus every pending one when the broker lost its queue (Redis restart)."""
    before = {p.id for p in store.pending_papers(batch_id)}
    stale = store.requeue_stale(batch_id, timedelta(seconds=lease_s))
    if not stale and not queue_lost:
        return []
    pending = [p.id for p in store.pending_papers(batch_id)]
    return pending if queue_lost else [pid for pid in pending if pid not in before]


def active_batches(store: Store, limit: int = 1000) -> list[BatchInfo]:
    """Batches that may still have work (queued or running)."""
    return [b for b in store.list_batches(limit) if b.status in ("queued", "running")]


def run_audit(settings: Settings) -> Any:
    """Run the incremental audit (``eval.incremental``; scikit-learn is imported only when
    the schedule fires)."""
    try:
        from eval.incremental import run_incremental_audit
    except ImportError as exc:
        raise AmcError(f"the incremental audit is not available in this install ({exc})") from None
    return run_incremental_audit(settings)
