"""Who runs the batches submitted through the web app.

``celery``: the papers are queued with ``workers.queue.enqueue`` for the
``amc worker`` fleet, exactly like ``amc submit``. ``embedded``: the server runs
them itself with ``amc.jobs.process.run_batch`` in one background thread, one batch at
a time, like ``amc run`` (no Redis needed). ``auto`` (the default of
``AMC_WEB_WORKERS``) chooses Celery when the broker answers and at least one worker
replies to a ping, and re-checks at most once a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import ModuleType
from typing import Literal

from amc.jobs.process import run_batch
from amc.settings import Settings
from amc.store import Store

log = logging.getLogger(__name__)

#: who runs web-submitted batches
RunnerKind = Literal["celery", "embedded"]
#: how long an ``auto`` decision is reused
RECHECK_S = 60.0


def _workers() -> ModuleType:
    """``workers.queue`` (the ``workers`` extra: Celery and Redis), imported on first use."""
    import workers.queue

    return workers.queue


def celery_ready(settings: Settings) -> bool:
    """True when the broker answers and a worker replies to a ping (within about 2 s)."""
    try:
        return bool(_workers().workers_ready(settings))
    except ImportError:  # Celery is not installed: no workers
        return False


class BatchRunner:
    """Starts submitted batches on Celery workers or in a background thread."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._decided: tuple[float, RunnerKind] | None = None

    def mode(self) -> RunnerKind:
        """``celery`` or ``embedded``: the setting, or for ``auto`` what is reachable now."""
        if self.settings.web_workers != "auto":
            return self.settings.web_workers
        with self._lock:
            if self._decided is None or time.monotonic() - self._decided[0] > RECHECK_S:
                mode: RunnerKind = "celery" if celery_ready(self.settings) else "embedded"
                self._decided = (time.monotonic(), mode)
            return self._decided[1]

    def start(self, batch_id: str, paper_ids: list[int]) -> str:
        """Queue or start the batch's papers; returns who runs them (``none``: nothing new)."""
        if not paper_ids:
            return "none"
        mode = self.mode()
        if mode == "celery":
            self._enqueue(batch_id, paper_ids)
        else:
            self._submit(batch_id)
        return mode

    def resume(self) -> int:
        """Embedded mode at start-up: run again the batches a stopped server left unfinished."""
        lease = timedelta(seconds=self.settings.task_lease_s)
        resumed = 0
        for batch in self.store.list_batches(limit=1000):
            if batch.status in ("queued", "running"):
                self.store.requeue_stale(batch.id, lease)
                if self.store.pending_papers(batch.id):
                    self._submit(batch.id)
                    resumed += 1
        return resumed

    def close(self) -> None:
        """Drop queued batches (they stay pending in the store); a batch being run finishes
        its current chunk in the thread. A later ``start`` starts a new thread."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _submit(self, batch_id: str) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="amc-batch")
            self._executor.submit(self._run, batch_id)

    def _run(self, batch_id: str) -> None:
        try:
            run_batch(self.store, batch_id, self.settings)
        except Exception:  # recorded on the papers' rows; `amc retry --failed` redoes them
            log.exception("embedded run of batch %s stopped", batch_id)

    def _enqueue(self, batch_id: str, paper_ids: list[int]) -> None:
        _workers().enqueue(self.settings, batch_id, paper_ids)
