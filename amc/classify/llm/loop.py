"""One event loop per process, in a daemon thread, for the synchronous entry points.

``classify_pairs_llm_sync`` used to build (and tear down) an event loop and an
LLM client on every call; a Celery worker calls it once per paper, and closing
the loop alone was a fifth of a task's CPU. Here every synchronous call, from
any thread, submits its coroutine to the same loop, where open connections
(``TransportPool``) are kept between calls.

Fork-safe: a forked child (Celery's prefork pool, multiprocessing) does not
have the parent's loop thread, so it starts its own on first use (the process
id is checked, and the lock is replaced after a fork in case another thread
held it at that moment).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from amc.classify.llm.provider.chat import TransportPool

T = TypeVar("T")


@dataclass
class SharedLoop:
    """The running loop, its thread and its connections, in process ``pid``."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    pool: TransportPool = field(default_factory=TransportPool)
    pid: int = field(default_factory=os.getpid)


_lock = threading.Lock()
_shared: SharedLoop | None = None
#: loops inherited through fork: kept referenced so that their (unusable) sessions are
#: never garbage-collected with "unclosed session" warnings in the child
_inherited: list[SharedLoop] = []


def shared_loop() -> SharedLoop:
    """This process's shared loop, started on first use (and again in a forked child)."""
    global _shared
    with _lock:
        if _shared is None or _shared.pid != os.getpid():
            if _shared is not None:
                _inherited.append(_shared)
            _shared = _start()
        return _shared


def run(make: Callable[[TransportPool], Coroutine[Any, Any, T]]) -> T:
    """Run ``make(pool)`` on the shared loop and wait for its result in this thread.

    If the waiting thread is interrupted (Ctrl-C), the coroutine is cancelled.
    """
    shared = shared_loop()
    future = asyncio.run_coroutine_threadsafe(make(shared.pool), shared.loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()  # no-op when it is already done
        raise


def _start() -> SharedLoop:
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    thread = threading.Thread(target=serve, name="amc-llm-loop", daemon=True)
    thread.start()
    ready.wait()
    return SharedLoop(loop, thread)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork


def _close_at_exit() -> None:
    """Close the pooled connections cleanly (no "unclosed session" noise at exit)."""
    shared = _shared
    if shared is None or shared.pid != os.getpid() or not shared.thread.is_alive():
        return
    # exiting anyway: a slow or failed close must not hang or crash the exit
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(shared.pool.aclose(), shared.loop).result(timeout=2)
    shared.loop.call_soon_threadsafe(shared.loop.stop)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_close_at_exit)
