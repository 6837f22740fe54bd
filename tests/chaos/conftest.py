"""Fixtures of the chaos suite: an ``amc`` runner rooted in tmp_path and a fault server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_support import Amc, Running
from fault_server import FaultServer


@pytest.fixture
def amc(tmp_path: Path) -> Iterator[Amc]:
    """Runs the ``amc`` console script with store, cache, spool and HOME in tmp_path;
    any process a test left running is killed (by pid) afterwards."""
    work = tmp_path / "work"
    work.mkdir()
    try:
        yield Amc(work)
    finally:
        Running.kill_all()


@pytest.fixture
def stub() -> Iterator[FaultServer]:
    """A fault-injecting OpenAI-compatible server on 127.0.0.1 (healthy until told)."""
    with FaultServer() as server:
        yield server
