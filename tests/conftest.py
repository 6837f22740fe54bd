"""Suite-wide fixtures: no network but loopback, a clean AMC_* environment, and job
stores on SQLite and on the real PostgreSQL (``db_url``, ``store``).

PostgreSQL tests each get a throwaway database; if the server is unreachable they
FAIL, unless ``AMC_TEST_SKIP_POSTGRES=1`` is set."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import ScriptedLLMServer
from pgdb import postgres_database

from amc.registry import Registry, load_registry
from amc.store import Store, open_store

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach the network: {address!r} (loopback only)")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that opens a non-loopback connection."""
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    yield


@pytest.fixture(autouse=True)
def _clean_amc_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Tests see no AMC_* variables from the developer's shell, and a per-user data folder
    of their own (``XDG_DATA_HOME``, which platformdirs reads; inherited by the commands a
    test runs): the defaults never touch the developer's real job store or cache."""
    for key in list(os.environ):
        if key.startswith("AMC_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


# --- job stores ------------------------------------------------------------------

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'amc.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with open_store(db_url) as opened:
        yield opened


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The bundled telescope registry (read-only: shared by the whole suite)."""
    return load_registry()


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    """A scripted OpenAI-compatible server on 127.0.0.1, for this test alone."""
    with ScriptedLLMServer() as srv:
        yield srv
