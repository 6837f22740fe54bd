"""SIGINT and SIGTERM as ``Interrupted`` (``amc.jobs.interrupts``): raised in the main
thread, held while a ``deferred`` block (a store transaction) runs, exit status 128+n."""

from __future__ import annotations

import os
import signal

import pytest

from amc.jobs.interrupts import Interrupted, deferred, signals_raise


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_raises_interrupted_with_its_exit_status(signum: int, code: int) -> None:
    with pytest.raises(Interrupted) as raised, signals_raise():
        os.kill(os.getpid(), signum)
        signal.sigtimedwait([], 0.5)  # a bytecode boundary for the handler to run at
    assert raised.value.exit_code == code and raised.value.signum == signum
    assert not isinstance(raised.value, Exception | KeyboardInterrupt)


def test_a_deferred_block_runs_to_its_end_then_the_signal_is_raised() -> None:
    finished = []
    with pytest.raises(Interrupted) as raised, signals_raise(), deferred():
        with deferred():  # nested: held until the outer block ends too
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.2)
            finished.append("inner")
        finished.append("outer")
    assert finished == ["inner", "outer"] and raised.value.name == "SIGTERM"


def test_the_previous_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with signals_raise():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
