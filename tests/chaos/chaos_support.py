"""Helpers of the chaos suite: run the ``amc`` console script as a subprocess with every
file under the test's tmp folder, make inputs, read outputs and the job store.

Nothing here imports ``amc``: the suite talks to it only through its command line,
HTTP, files and SQL, so it keeps working while the package is restructured.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

#: price of the fake model; cheap enough that nothing but the budget tests cares
DEFAULT_PRICES = {"openai/local": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}
#: provider variables the developer's shell might have: a test must not see them
_PROVIDER_VARS = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "ANTHROPIC_API_KEY",
    "AZURE_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "COHERE_API_KEY",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)  # fmt: skip

SCIENCE_TEXT = {
    "HST": "We observed NGC {n} with the Hubble Space Telescope (HST) using WFC3/UVIS in "
    "the F606W and F814W filters. The HST images were reduced with the standard pipeline.",
    "JWST": "We also observed NGC {n} with the James Webb Space Telescope (JWST) using "
    "NIRCam. The JWST data were reduced with the jwst pipeline.",
    "CHANDRA": "We observed NGC {n} with the Chandra X-ray Observatory using ACIS-S. "
    "The Chandra data were reduced with CIAO.",
}


def amc_executable() -> str:
    """The installed ``amc`` console script of this environment (never ``python -m``)."""
    beside = Path(sys.executable).with_name("amc")
    if beside.exists():
        return str(beside)
    found = shutil.which("amc")
    if found is None:
        raise RuntimeError("the amc console script is not installed (pip install -e .)")
    return found


@dataclass
class Amc:
    """Runs ``amc`` with every file (store, cache, spool, HOME) under ``root``."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AMC_") and k not in _PROVIDER_VARS
        }
        base.update(
            {
                "HOME": str(self.root / "home"),
                "AMC_DATABASE_URL": f"sqlite:///{self.root / 'amc.sqlite3'}",
                "AMC_CACHE_PATH": str(self.root / "cache" / "llm.sqlite"),
                "AMC_SPOOL_DIR": str(self.root / "spool"),
                "AMC_PROGRESS": "false",
                "AMC_PRICES": json.dumps(DEFAULT_PRICES),
                "AMC_LLM_BACKOFF_S": "0",
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "NO_COLOR": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(self.env)
        self.env = base

    @property
    def db(self) -> str:
        """The job store's URL (for SQL on it)."""
        return self.env["AMC_DATABASE_URL"]

    def with_env(self, **extra: str | None) -> dict[str, str]:
        env = dict(self.env)
        for key, value in extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def __call__(
        self, *args: str | Path, timeout: float = 180, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``amc ARGS`` to the end (killed past ``timeout``)."""
        return subprocess.run(
            [amc_executable(), *map(str, args)],
            capture_output=True,
            text=True,
            env=self.with_env(**env),
            cwd=self.root,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start(self, *args: str | Path, track: bool = True, **env: str | None) -> Running:
        """Start ``amc ARGS`` in the background (its output goes to files); a tracked
        process is killed when the test ends (``Running.kill_all``)."""
        argv = [amc_executable(), *map(str, args)]
        return Running(argv, self.with_env(**env), self.root, track)


class Running:
    """A background ``amc`` process; ``stop``ped by the test or killed at cleanup."""

    _all: ClassVar[list[Running]] = []
    _started: ClassVar[int] = 0

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, track: bool = True) -> None:
        Running._started += 1
        n = Running._started
        self.out_path, self.err_path = cwd / f"proc{n}.out", cwd / f"proc{n}.err"
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._out, stderr=self._err,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if track:
            Running._all.append(self)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 120) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._out.close()
            self._err.close()

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL this process (by its pid) if it still runs; close its output files."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for handle in (self._out, self._err):
            handle.close()

    @classmethod
    def kill_all(cls) -> None:
        """Kill every tracked process a test started and left running."""
        for running in cls._all:
            running.kill()
        cls._all.clear()


# -- inputs ------------------------------------------------------------------------------


def paper_rows(
    n: int, telescopes: Sequence[str] = ("HST",), prefix: str = "2024CHAOS"
) -> list[dict[str, Any]]:
    """``n`` papers, one JSONL row per (paper, telescope), each saying it observed with it."""
    rows = []
    for i in range(n):
        bibcode = f"{prefix}{i:04d}X"
        body = " ".join(SCIENCE_TEXT[t].format(n=1000 + i) for t in telescopes)
        for tel in telescopes:
            rows.append({"bibcode": bibcode, "telescope": tel, "title": f"Paper {i}",
                         "abstract": f"A study of NGC {1000 + i}.", "body": body})  # fmt: skip
    return rows


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_papers(
    path: Path, n: int, telescopes: Sequence[str] = ("HST",), prefix: str = "2024CHAOS"
) -> list[str]:
    """Write ``n`` papers to ``path`` (JSONL); their pair ids."""
    rows = paper_rows(n, telescopes, prefix)
    write_jsonl(path, rows)
    return [f"{r['bibcode']}_{r['telescope']}" for r in rows]


def llm_args(api_base: str, model: str = "openai/local") -> list[str]:
    return ["--tier", "llm", "--model", model, "--api-base", api_base]


# -- outputs -----------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def record_cost(record: dict[str, Any]) -> float:
    """The recorded dollars of one JSONL ``Classification`` record (0 when unknown)."""
    usage = record.get("usage") or {}
    cost = usage.get("cost_usd", record.get("cost_usd"))
    return float(cost or 0.0)


def batch_id_from(stderr: str) -> str | None:
    match = re.search(r"\bbatch ([0-9a-f]{8,})\b", stderr)
    return match[1] if match else None


def _query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def paper_states(database_url: str) -> dict[str, int]:
    """Papers of the job store by status (SQL on the store, SQLite or PostgreSQL)."""
    rows = _query(database_url, "SELECT status, count(*) FROM papers GROUP BY status")
    return {str(status): int(n) for status, n in rows}


def only_batch_id(database_url: str) -> str:
    ids = [str(row[0]) for row in _query(database_url, "SELECT id FROM batches")]
    assert len(ids) == 1, f"expected one batch in the store, found {ids}"
    return ids[0]


def no_traceback(stderr: str) -> bool:
    return "Traceback (most recent call last)" not in stderr


def wait_until(predicate: Any, timeout_s: float, every_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return bool(predicate())


def tail(text: str, n: int = 1500) -> str:
    return text[-n:]


# -- PostgreSQL ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
