"""Processing batches: claim papers, classify them, save their results; run a whole batch
in this process; export results.

Plain functions over the store (``amc.store``) and the classifier; the CLI
(``amc.cli.batches``) and the Celery tasks (``workers.tasks``) are thin shells
around them, so a batch gives the same results embedded (``amc run``) or on workers.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from typing import NamedTuple, Protocol

from amc.classify.dispatch import PairClassifier
from amc.classify.estimate import estimate
from amc.classify.llm.errors import RESUMABLE_KINDS, RUN_STOP_KINDS, LLMRunStopped
from amc.domain.errors import AmcError
from amc.domain.models import Classification, Pair, PairOrFailure
from amc.jobs.interrupts import deferred
from amc.jobs.owners import owner_is_dead, this_process
from amc.jobs.spool import load_paper
from amc.jobs.submit import batch_settings, registry_for
from amc.settings import Settings
from amc.store import BatchInfo, BatchProgress, PaperRecord, Store

log = logging.getLogger(__name__)

#: called with each paper's results as they are saved (progress bars)
OnSaved = Callable[[PaperRecord, list[Classification]], None]


class Limiter(Protocol):
    """A rate limit shared by every process calling the LLM (``workers.ratelimit``):
    ``acquire`` blocks until the calls and tokens may be spent (returns seconds waited);
    ``charge`` takes tokens spent beyond the estimate, without waiting."""

    def acquire(self, requests: int, tokens: int) -> float: ...

    def charge(self, tokens: int) -> None: ...


def process_paper(
    store: Store, paper_id: int, settings: Settings, limiter: Limiter | None = None
) -> str:
    """Claim one paper, classify every pair of it, save: ``done``, ``failed`` or ``skipped``
    (``process_papers`` for one paper, with a classifier of its own)."""
    paper = store.get_paper(paper_id)
    batch = store.get_batch(paper.batch_id)
    settings = batch_settings(settings, batch)
    with classifier_for(settings) as classifier:
        outcome = process_papers(store, batch, [paper], settings, classifier, limiter)
    return next(iter(outcome.values()), "skipped")


def classifier_for(settings: Settings) -> PairClassifier:
    """A classifier for these (batch) settings."""
    return PairClassifier(registry_for(settings), settings)


def process_papers(
    store: Store,
    batch: BatchInfo,
    papers: Iterable[PaperRecord],
    settings: Settings,
    classifier: PairClassifier,
    limiter: Limiter | None = None,
    on_saved: OnSaved | None = None,
) -> dict[int, str]:
    """Claim, classify and save papers of one batch; each paper's outcome by id: ``done``,
    ``failed``, or ``skipped`` (another worker has it, or had it: a redelivered message
    is harmless).

    Papers are claimed a few at a time (recording this process as their owner) and
    submitted to ``classifier`` as they are read, keeping about ``llm_chunk_pairs`` pairs
    ahead of the saving, so the LLM slots stay busy while finished papers are saved
    (several per transaction). A paper whose text cannot be read, or whose
    classification breaks, is marked failed and the others go on. When the LLM run
    stops (provider down, budget spent) nothing more is sent, but every paper given
    still gets a row per pair: the pairs left unclassified as rows of the stop's kind,
    their papers marked failed with it (the next ``run_batch`` resumes them); then the
    stop is raised. A refused key or model stops at once: papers not yet submitted are
    given back. If anything else interrupts the run (Ctrl-C, SIGTERM), the papers taken
    and not saved are given back (pending again), so running it again resumes where it
    was; SIGINT/SIGTERM never cut a store transaction in half (``deferred``).
    """
    run = _PaperRun(store, batch, settings, classifier, limiter, on_saved)
    owner = this_process()
    if batch.status == "queued":
        store.set_batch_status(batch.id, "running")
    try:
        for group in _groups(papers, CLAIM_AT_ONCE):
            if run.refused:
                break
            with deferred():
                claimed = set(store.claim_papers([p.id for p in group], owner))
            run.outcome.update({p.id: "skipped" for p in group if p.id not in claimed})
            run.taken.extend(p for p in group if p.id in claimed)
            while run.taken and not run.refused:
                run.submit(run.taken.pop(0))
                run.collect(until_below=settings.llm.chunk_pairs)
        run.drain()
    except BaseException:
        _release(store, run.unsaved())
        raise
    _release(store, run.taken)  # not submitted before a refusal: for the next run
    if run.stop is not None:
        raise run.stop
    return run.outcome


#: papers claimed in one statement
CLAIM_AT_ONCE = 16
#: finished papers are saved together once this many are ready, or this old
SAVE_AT_ONCE = 16
SAVE_EVERY_S = 1.0


class _Submitted(NamedTuple):
    paper: PaperRecord
    items: list[PairOrFailure]
    n_pairs: int
    #: tokens taken from the limiter for it
    wanted: int


class _PaperRun:
    """The papers of one ``process_papers`` call between claim and save.

    ``taken`` (claimed) -> ``window`` (submitted) -> ``ready`` (classified) -> saved.
    Futures report that they are finished through a queue (their callbacks run on
    the LLM loop's thread), so waiting for the next one costs nothing per paper.
    """

    def __init__(
        self,
        store: Store,
        batch: BatchInfo,
        settings: Settings,
        classifier: PairClassifier,
        limiter: Limiter | None,
        on_saved: OnSaved | None,
    ) -> None:
        self.store, self.batch, self.settings = store, batch, settings
        self.classifier, self.limiter, self.on_saved = classifier, limiter, on_saved
        self.spool = settings.spool_dir / batch.content_hash
        self.taken: list[PaperRecord] = []
        self.window: dict[Future[list[Classification]], _Submitted] = {}
        self.finished: queue.SimpleQueue[Future[list[Classification]]] = queue.SimpleQueue()
        self.ready: list[Future[list[Classification]]] = []
        self.ready_since = 0.0
        self.ahead = 0  # pairs submitted and not yet finished
        self.outcome: dict[int, str] = {}

    @property
    def stop(self) -> LLMRunStopped | None:
        return self.classifier.stop

    @property
    def refused(self) -> bool:
        """The provider refused the run (key, model): go no further."""
        return self.stop is not None and not self.stop.resumable

    def submit(self, paper: PaperRecord) -> None:
        try:
            items = load_paper(self.spool, paper)
            pairs = [item for item in items if isinstance(item, Pair)]
            # after a stop nothing is sent: no need to wait for the shared rate limit
            limiter = None if self.stop is not None else self.limiter
            wanted = _acquire(limiter, pairs, self.settings)
            future = self.classifier.submit(pairs)
        except Exception as exc:  # one unreadable paper never stops the others
            self._failed(paper, exc)
            return
        self.window[future] = _Submitted(paper, items, len(pairs), wanted)
        self.ahead += len(pairs)
        future.add_done_callback(self.finished.put)

    def collect(self, until_below: int) -> None:
        """Take the finished papers, waiting while ``until_below`` pairs or more are still
        running; save the ready ones once there are enough of them, or they are old."""
        while True:
            block = self.ahead >= until_below and bool(self.window)
            try:
                future = (
                    self.finished.get(timeout=SAVE_EVERY_S) if block else self.finished.get_nowait()
                )
            except queue.Empty:
                if not block:
                    break
                future = None
            if future is not None:
                self.ahead -= self.window[future].n_pairs
                if not self.ready:
                    self.ready_since = time.monotonic()
                self.ready.append(future)
            if len(self.ready) >= SAVE_AT_ONCE or (
                self.ready and time.monotonic() - self.ready_since >= SAVE_EVERY_S
            ):
                self.save()

    def save(self) -> None:
        """Save the ready papers in one transaction: done, or failed with the kind of the
        pairs of theirs that the next run redoes by itself (left by a run stop, failed by
        the provider); a paper whose work broke is marked failed."""
        saved: list[tuple[PaperRecord, list[Classification]]] = []
        to_redo: dict[int, tuple[str, str]] = {}
        with deferred():
            for future in self.ready:
                paper, items, _, wanted = self.window[future]
                try:
                    results = {c.pair_id: c for c in future.result()}
                except Exception as exc:  # recorded on the paper; `amc retry --failed` redoes it
                    self._failed(paper, exc)
                    del self.window[future]
                    continue
                _charge(self.limiter, results.values(), wanted)
                rows = [results[i.pair_id] if isinstance(i, Pair) else i for i in items]
                saved.append((paper, rows))
                resumable = sorted(filter(_resumable, rows), key=_stop_first)
                if resumable and resumable[0].error is not None:
                    to_redo[paper.id] = (resumable[0].error.kind, resumable[0].error.message)
            if saved:
                self.store.save_papers(self.batch.id, [(p.id, cs) for p, cs in saved], to_redo)
        for future in self.ready:
            self.window.pop(future, None)
        self.ready = []
        for paper, classifications in saved:
            self.outcome[paper.id] = "failed" if paper.id in to_redo else "done"
            if self.on_saved is not None:
                self.on_saved(paper, classifications)

    def drain(self) -> None:
        """Save everything submitted."""
        self.collect(until_below=1)
        self.save()

    def unsaved(self) -> list[PaperRecord]:
        return [*self.taken, *(submitted.paper for submitted in self.window.values())]

    def _failed(self, paper: PaperRecord, exc: BaseException) -> None:
        with deferred():
            _mark_failed(self.store, paper, exc)
        self.outcome[paper.id] = "failed"


def _resumable(c: Classification) -> bool:
    """A pair the next run redoes by itself: left by a stop, or failed by the provider."""
    return c.error is not None and c.error.kind in RESUMABLE_KINDS


def _stop_first(c: Classification) -> bool:
    return c.error is None or c.error.kind not in RUN_STOP_KINDS


def _release(store: Store, papers: list[PaperRecord]) -> None:
    """Give back the papers of an interrupted run; if the store is down too, they stay
    running and the next run (their owner is dead) or the sweep (``task_lease_s``)
    takes them back: the first error is the one reported."""
    if not papers:
        return
    try:
        with deferred():
            store.release_papers([p.id for p in papers])
    except Exception as exc:
        log.warning("could not give back %d papers (%s); they are re-queued after the lease",
                    len(papers), exc)  # fmt: skip


def _groups(papers: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    group: list[PaperRecord] = []
    for paper in papers:
        group.append(paper)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def _mark_failed(store: Store, paper: PaperRecord, exc: BaseException) -> None:
    if not isinstance(exc, AmcError):
        log.error("unexpected error on paper %s", paper.bibcode, exc_info=exc)
    kind = str(getattr(exc, "kind", type(exc).__name__))
    store.mark_paper_failed(paper.id, kind, str(exc) or type(exc).__name__)


def _acquire(limiter: Limiter | None, pairs: Sequence[Pair], settings: Settings) -> int:
    """Take a paper's calls and tokens from the shared limit before submitting it; the
    tokens taken. The estimate is the LLM tier's own (real prompts, offline tokenizer)."""
    if limiter is None or settings.tier in ("rules", "trained") or not pairs:
        return 0

    planned = estimate(pairs, registry_for(settings), settings)
    wanted = planned.prompt_tokens + planned.completion_tokens
    if planned.calls:
        limiter.acquire(planned.calls, wanted)
    return wanted


def _charge(limiter: Limiter | None, results: Iterable[Classification], wanted: int) -> None:
    """Charge the tokens spent beyond the estimate, so the fleet's bucket stays honest."""
    if limiter is None:
        return
    spent = sum(c.usage.prompt_tokens + c.usage.completion_tokens for c in results)
    if spent > wanted:
        limiter.charge(spent - wanted)


# -- whole batches ----------------------------------------------------------------------


def run_batch(
    store: Store,
    batch_id: str,
    settings: Settings,
    limiter: Limiter | None = None,
    on_saved: OnSaved | None = None,
) -> BatchProgress:
    """Embedded mode: process every pending paper of the batch in this process.

    Resumable: run it again after an interruption, a kill or a run stop, and only the
    papers still to do are done: the ones an interrupted run gave back, the ones a run
    stop left unclassified, and the ones held by a process of this host that is dead
    (``kill -9``); papers that failed for their own reason stay failed (``amc retry``).
    Raises the run's ``LLMRunStopped`` after recording it, like ``process_papers``.
    """
    batch = store.get_batch(batch_id)
    settings = batch_settings(settings, batch)
    with deferred():
        store.reset_resumable(batch_id, RESUMABLE_KINDS)
        store.reclaim_dead(batch_id, owner_is_dead)
        store.set_batch_status(batch_id, "running")
    try:
        with classifier_for(settings) as classifier:
            pending = store.pending_papers(batch_id)
            process_papers(store, batch, pending, settings, classifier, limiter, on_saved)
    finally:
        with deferred():
            progress = finish_if_done(store, batch_id)
    return progress


def finish_if_done(store: Store, batch_id: str) -> BatchProgress:
    """Mark the batch done once no paper is pending or running; its progress."""
    progress = store.batch_progress(batch_id)
    if progress.finished and store.get_batch(batch_id).status != "done":
        store.set_batch_status(batch_id, "done")
    return progress


def close_if_finished(store: Store, batch_id: str) -> bool:
    """``finish_if_done`` for a worker after every task: while papers are left, one indexed
    lookup instead of counting the whole batch (which grew with the batch: quadratic)."""
    if store.has_unfinished_papers(batch_id):
        return False
    finish_if_done(store, batch_id)
    return True
