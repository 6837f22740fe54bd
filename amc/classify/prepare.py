"""The LLM tier's evidence prepared in another process, so ``amc classify`` uses two cores.

``amc classify --tier llm`` is one process, and its Python work holds the GIL:
reading, finding and ranking snippets, judging link candidates, building the
prompts, parsing answers and writing rows share one core. Of that, finding,
ranking and judging (``pair_snippets`` then ``prepare_input``) and rendering the
requests are about two thirds, and depend on nothing but the pairs. ``PreparePool``
runs them in ``prepare_processes`` child processes, which send back each pair's
``Prepared`` (its ranked snippets and candidates, not the pair) and the requests
``Rendered``; the LLM session rebuilds both and sends them. The requests are the
same, byte for byte.

The pool costs CPU (a process to start, pairs and snippets pickled both ways), so
it starts only where it buys time: when, over the
last ``START_AFTER_PAIRS`` pairs read, this process used at least ``BUSY_SHARE``
of a core (one core is then what holds the run back); a small run, and a run on
a machine fast enough for one core, never start it. It is the helper, never the
only way: it takes a unit only when it is up and has fewer than ``QUEUED_UNITS``
waiting per process (the caller prepares the others itself, so neither side
idles), and a unit it fails on (a child killed, a registry or prompt that differs) is
prepared in the caller as before. A pair whose preparation raises in the child
is prepared again in the caller, where its error is recorded as it always was.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

from amc.classify.llm.planning import Prepared, prepare_input, render_requests
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.request import PairInput, Rendered
from amc.domain.models import NONE_TELESCOPE, Pair
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.snippets import pair_snippets

log = logging.getLogger(__name__)

#: pairs read between two looks at how busy this process is (the first look only starts
#: the count: the run's start, its first pairs prepared at once, says nothing)
START_AFTER_PAIRS = 512
#: the share of a core this process uses, over the last look's pairs, that starts the pool
#: (a run at 95 % of the limit used 52-75 %: the pool, started late, only cost CPU; one at
#: 55 % of the limit used a whole core)
BUSY_SHARE = 0.85
#: units waiting in the pool per process before the caller prepares a unit itself (the
#: caller also talks to the model: it should prepare only when the pool falls behind)
QUEUED_UNITS = 8

T = TypeVar("T")
#: what a child sends back for a unit: each pair's ``Prepared``, and the requests rendered
PreparedUnit = tuple[list[Prepared | None], list[Rendered]]


def prepare_pairs(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> tuple[list[Prepared | None], list[Rendered]]:
    """Each pair's ``Prepared`` (None for a ``NONE`` pair, which needs none, and for a pair
    whose preparation raised: the caller prepares it again and records the error), and
    the requests of those prepared, rendered (none if rendering raised: the caller
    renders them and meets the error where it always did)."""
    inputs: list[PairInput | None] = []
    for pair in pairs:
        if pair.telescope.upper() == NONE_TELESCOPE:
            inputs.append(None)
            continue
        try:
            snippets = pair_snippets(pair, registry, settings)
            inputs.append(prepare_input(pair, snippets, registry, settings.llm))
        except Exception:  # the caller prepares it again and records what it raises
            inputs.append(None)
    try:
        rendered = render_requests([i for i in inputs if i is not None], settings.llm)
    except Exception:  # the caller renders them and raises where it always did
        rendered = []
    return [None if i is None else Prepared.of(i) for i in inputs], rendered


class PreparePool:
    """``prepare_pairs`` in ``settings.prepare_processes`` child processes, for the units
    they have room for. ``submit`` returns a future of the unit's ``PreparedUnit``, or
    None: prepare the unit yourself. Close it when done (``with`` or ``close``)."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.processes = settings.prepare_processes
        self._executor: ProcessPoolExecutor | None = None
        self._ready: Future[tuple[str, ...]] | None = None
        self._expected: tuple[str, ...] = ()
        self._waiting: set[Future[PreparedUnit]] = set()
        self._read = 0
        #: pairs read, wall and CPU seconds at the last look (None before the first)
        self._looked: tuple[int, float, float] | None = None
        self._broken = self.processes < 1
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        """Whether the child processes were started (they may still be starting up)."""
        return self._executor is not None

    @property
    def running(self) -> bool:
        """Whether the child processes are up and take units."""
        ready = self._ready
        return (
            not self._broken
            and ready is not None
            and ready.done()
            and ready.exception() is None
            and ready.result() == self._expected
        )

    def submit(self, pairs: Sequence[Pair]) -> Future[PreparedUnit] | None:
        """The unit's preparation in a child, or None when the pool cannot take it now."""
        self._read += len(pairs)
        if self._broken:
            return None
        if self._executor is None:
            if self._busy():
                self._start()
            return None
        if not self.running:
            if self._ready is not None and self._ready.done():
                self._give_up("did not start, or holds another registry or prompt")
            return None
        with self._lock:
            if len(self._waiting) >= QUEUED_UNITS * self.processes:
                return None
            try:
                future = self._executor.submit(_prepare, list(pairs))
            except RuntimeError as exc:  # broken, or shut down by a close in another thread
                self._give_up(f"refused a unit: {exc}")
                return None
            self._waiting.add(future)
        future.add_done_callback(self._taken)
        return future

    def failed(self, exc: BaseException) -> None:
        """A unit's preparation failed (a child died): prepare everything in the caller."""
        self._give_up(f"failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        with self._lock:
            self._broken = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _busy(self) -> bool:
        """Whether this process used ``BUSY_SHARE`` of a core since the last look, taken
        every ``START_AFTER_PAIRS`` pairs read (False between looks and at the first)."""
        looked = self._looked
        if looked is not None and self._read < looked[0] + START_AFTER_PAIRS:
            return False
        now = (self._read, time.monotonic(), time.process_time())
        self._looked = now
        if looked is None:
            return False
        wall, cpu = now[1] - looked[1], now[2] - looked[2]
        return cpu >= BUSY_SHARE * wall

    def _start(self) -> None:
        log.info("this process is busy: evidence is prepared in %d more", self.processes)
        context = multiprocessing.get_context("spawn")  # never fork a process with threads
        self._executor = ProcessPoolExecutor(
            self.processes, mp_context=context, initializer=_start_child,
            initargs=(self.settings,),
        )  # fmt: skip
        self._expected = fingerprint(self.registry, self.settings)
        self._ready = self._executor.submit(_fingerprint)

    def _taken(self, future: Future[PreparedUnit]) -> None:
        with self._lock:
            self._waiting.discard(future)

    def _give_up(self, why: str) -> None:
        if not self._broken:
            log.warning("evidence is prepared in this process from now on: the pool %s", why)
        self._broken = True


def then_submit(
    prepared: Future[PreparedUnit],
    submit: Callable[[PreparedUnit], Future[T]],
    fallback: Callable[[BaseException], Future[T]],
) -> Future[T]:
    """A future of ``submit(prepared.result())`` (itself a future), or of ``fallback(exc)``
    when the preparation failed; whatever either raises ends up in the returned future."""
    outer: Future[T] = Future()

    def relay(inner: Future[T]) -> None:
        if inner.cancelled():
            outer.cancel()
        elif inner.exception() is not None:
            outer.set_exception(inner.exception())
        else:
            outer.set_result(inner.result())

    def chain(done: Future[PreparedUnit]) -> None:
        try:
            error = done.exception() if not done.cancelled() else RuntimeError("cancelled")
            inner = fallback(error) if error is not None else submit(done.result())
        except BaseException as exc:  # handed to whoever waits on the result
            outer.set_exception(exc)
            return
        inner.add_done_callback(relay)

    prepared.add_done_callback(chain)
    return outer


# --- in the child ------------------------------------------------------------------------

_CHILD: tuple[Registry, Settings] | None = None


def _start_child(settings: Settings) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its children
    global _CHILD
    # its patterns compile as they are first used: only the telescopes of the run's pairs
    # (compiling the whole registry up front took a core-second more)
    _CHILD = (load_registry(settings.registry_files), settings)


def fingerprint(registry: Registry, settings: Settings) -> tuple[str, ...]:
    """The hashes of the registry and the prompts (as this process loaded them): a child
    whose own differ (a file changed since the run started) is not used."""
    config = settings.llm
    names = (config.prompt_name, config.paper_prompt_name)
    return (registry.content_hash, *(load_prompt(n, config.prompts_dir).hash for n in names))


def _fingerprint() -> tuple[str, ...]:
    assert _CHILD is not None
    return fingerprint(*_CHILD)


def _prepare(pairs: list[Pair]) -> PreparedUnit:
    assert _CHILD is not None
    registry, settings = _CHILD
    return prepare_pairs(pairs, registry, settings)
