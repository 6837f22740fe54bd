"""SIGINT and SIGTERM as an exception, raised where it is safe to stop.

``timeout``, systemd and ``docker stop`` send SIGTERM; Python's default for it is
to die on the spot, leaving claimed papers ``running`` and output files half
written. Inside ``signals_raise()`` both signals raise ``Interrupted`` in the main
thread instead, so the same clean-up runs as for Ctrl-C (papers given back,
partial output kept aside). ``deferred()`` holds them while a block that must not
be cut in half runs (a job-store transaction: cut there, SQLite keeps its write
lock until the connection is collected, and giving the papers back then fails
with "database is locked"); the signal is raised as soon as the block ends.

``Interrupted`` is not a ``KeyboardInterrupt``: Typer turns those into a silent
exit 130 before the command line can say how to resume.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: the signals handled, with their exit status (128 + the signal number, as shells do)
HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived (a ``BaseException``: ``except Exception`` lets it by)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


class _State:
    depth = 0  # nesting of ``deferred`` blocks in the main thread
    pending: int | None = None  # a signal that arrived during one


def _handler(signum: int, frame: FrameType | None) -> None:
    if _State.depth:
        _State.pending = _State.pending or signum
        return
    raise Interrupted(signum)


@contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise ``Interrupted`` in the main thread
    (a no-op in other threads, which cannot set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then raise ``Interrupted``. Only the main
    thread receives signals, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
        signum, _State.pending = _State.pending, None
        if signum is not None and _State.depth == 0:
            raise Interrupted(signum)
        _State.pending = _State.pending or signum
