"""What the benchmarks share: the scripted LLM server in its own process, its counters,
the environment of an ``amc`` run against it, a process's CPU time, a free port and a
throwaway PostgreSQL database.

Imported by the scripts of this folder (``python bench/NAME.py`` puts it on the path).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the database the benchmarks create theirs next to (and drop afterwards)
PG_ADMIN_URL = os.environ.get(
    "AMC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


#: a price for the scripted model, so cost accounting runs as it would for a real one
PRICES = json.dumps({"openai/local": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}})


def amc_env(
    api_base: str,
    slots: int,
    work: Path,
    code: Path = ROOT,
    *,
    use_cache: bool = True,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of an ``amc`` run against the scripted server at ``api_base``: the
    LLM tier with ``slots`` calls in flight, its spool and answer cache in ``work``, the
    checkout ``code``'s amc ahead of the installed one. ``base`` is the environment it
    extends (this process's, without its ``AMC_*`` settings, by default)."""
    if base is None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
    return base | {
        "AMC_TIER": "llm",
        "AMC_MODEL": "openai/local",
        "AMC_API_BASE": api_base,
        "AMC_PRICES": PRICES,
        "AMC_USE_CACHE": "true" if use_cache else "false",
        "AMC_LLM_CONCURRENCY": str(slots),
        "AMC_PROGRESS": "false",
        "AMC_SPOOL_DIR": str(work / "spool"),
        "AMC_CACHE_PATH": str(work / "cache.sqlite"),
        "PYTHONPATH": os.pathsep.join([str(code), *filter(None, [base.get("PYTHONPATH")])]),
    }


def start_llm_server(latency: float, *options: str) -> tuple[subprocess.Popen[str], str]:
    """``tests/llm_server.py`` in its own process (so it does not compete for the caller's
    GIL), answering every call after ``latency`` seconds (``options``: its command line's
    others, e.g. ``--frontier-answers``); the process and its api_base."""
    cmd = [sys.executable, str(ROOT / "tests" / "llm_server.py"), "--latency", str(latency),
           *options]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


@contextmanager
def llm_server(latency: float, *options: str) -> Iterator[str]:
    """``start_llm_server`` for a ``with`` block; yields the api_base."""
    proc, api_base = start_llm_server(latency, *options)
    try:
        yield api_base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_stats(api_base: str, reset: bool = False) -> dict[str, float]:
    """The scripted server's chat requests, most in flight at once and CPU seconds."""
    url = f"{api_base}/_stats" + ("/reset" if reset else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.load(response))


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ms(rounds: int = 5) -> float:
    """CPU milliseconds of a fixed workload that does not depend on amc's code (a regex
    union over generated text, a loop of dict and string work), best of ``rounds``:
    the same code's CPU per pair moves with the machine, and this tells how fast the
    machine was (a VM's CPUs differ by up to 2x from one machine to the next here)."""
    import random
    import re
    import time

    rng = random.Random(7)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(400)]  # fmt: skip
    text = " ".join(rng.choice(words) for _ in range(20_000))
    pairs = zip(words[:60], words[60:120], strict=True)
    union = re.compile(r"\b(?=\w)(?:" + "|".join(f"{w}[\\s~]+{v}" for w, v in pairs) + ")", re.A)
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        found = sum(1 for _ in union.finditer(text))
        counts: dict[str, int] = {}
        for word in text.split():
            counts[word.upper()] = counts.get(word.upper(), 0) + found % 2 + 1
        best = min(best, time.process_time() - start)
    return 1000 * best


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database next to ``PG_ADMIN_URL``'s, dropped afterwards; its URL."""
    from sqlalchemy import create_engine, text  # only the benchmarks that use it pay for it

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"amc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
