"""Batch throughput: embedded (``amc run``) vs one and two Celery workers, LLM tier.

2,000 synthetic pairs (1,000 papers x HST + JWST) against the scripted
OpenAI-compatible server (``tests/llm_server.py``, in its own process so it does
not share our GIL) answering every call after 500 ms. Redis is a private
``redis-server`` on a free port; each mode gets its own SQLite store.

Every mode keeps the same number of LLM calls in flight per process ("slots"):
embedded with ``llm_concurrency = slots``; a worker with ``slots / 2`` threads
(one paper = two pairs = two concurrent calls). On a 2-core machine a second
worker process is only useful because the work is I/O-bound: both processes
mostly wait on the LLM, so "two workers" = twice the calls in flight.

Reported: wall time from submit to the batch being done (spooling included),
pairs/s, and overhead per pair beyond the LLM time,
``wall * in_flight / pairs - latency``: the time each in-flight slot spends
per pair, less the latency (0 would be a perfectly busy pipeline). Also the
CPU time per pair of the classifying process(es) (this one, or the workers),
of this driver while workers classify (submitting, polling the store), and
of the LLM server, so a reader can see which process a 2-core limit binds.

    .venv/bin/python bench/batch.py [--pairs 2000] [--latency 0.5] [--slots 32]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from amc.batches import run_batch, submit_batch  # noqa: E402
from amc.settings import Settings, load_settings  # noqa: E402
from amc.store import Store, open_store  # noqa: E402

BODY = (
    "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345. "
    "The images were reduced with the standard pipeline. Earlier JWST spectra are compared."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_input(path: Path, pairs: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(pairs // 2):
            for telescope in ("HST", "JWST"):
                row = {
                    "bibcode": f"2024BENCH{i:05d}",
                    "telescope": telescope,
                    "title": f"Paper {i}",
                    "body": BODY.format(i=i),
                }
                out.write(json.dumps(row) + "\n")


def start_llm_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    """``tests/llm_server.py`` in its own process; returns it and its api_base."""
    cmd = [sys.executable, str(ROOT / "tests" / "llm_server.py"), "--latency", str(latency)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def server_cpu_s(api_base: str) -> float:
    with urllib.request.urlopen(f"{api_base}/_stats", timeout=10) as response:
        return float(json.load(response)["cpu_s"])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env_for(work: Path, mode: str, api_base: str, broker: str, slots: int) -> dict[str, str]:
    return {
        "AMC_DATABASE_URL": f"sqlite:///{work / mode / 'amc.sqlite3'}",
        "AMC_BROKER_URL": broker,
        "AMC_SPOOL_DIR": str(work / mode / "spool"),
        "AMC_TIER": "llm",
        "AMC_MODEL": "openai/local",
        "AMC_API_BASE": api_base,
        "AMC_USE_CACHE": "false",
        "AMC_LLM_CONCURRENCY": str(slots),
        "AMC_LLM_CHUNK_PAIRS": str(slots * 16),
        "AMC_WORKER_CONCURRENCY": str(max(1, slots // 2)),
        "AMC_PROGRESS": "false",
    }


@dataclass
class Run:
    """Wall seconds, CPU seconds of the process(es) classifying, and of this driver
    (submitting and polling) when the classifying is done elsewhere (workers)."""

    wall: float
    classify_cpu: float
    driver_cpu: float
    server_cpu: float = 0.0


def wait_done(store: Store, batch_id: str, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not store.batch_progress(batch_id).finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch_id} not done after {timeout} s")
        time.sleep(0.05)


def warm_up(settings: Settings) -> None:
    """What a worker does before "ready" (imports, the shared event loop): the runs below
    measure the steady state alike."""
    from amc.llm import warm_up as warm_up_llm
    from amc.tiers import llm_config

    warm_up_llm(llm_config(settings))


def run_direct(data: Path, env: dict[str, str]) -> Run:
    """The LLM tier alone (``amc classify``'s path, no store, no spool): the baseline."""
    from amc.pipeline import read_pairs
    from amc.registry import load_registry
    from amc.tiers import classify_stream

    settings = load_settings(environ=env)
    warm_up(settings)
    registry = load_registry()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in classify_stream(read_pairs([data], registry, settings), registry, settings):
        pass
    return Run(time.perf_counter() - started, time.process_time() - cpu, 0.0)


def run_embedded(data: Path, env: dict[str, str]) -> Run:
    settings = load_settings(environ=env)
    warm_up(settings)
    started, cpu = time.perf_counter(), time.process_time()
    with open_store(settings.database_url) as store:
        sub = submit_batch(store, [data], (), settings)
        run_batch(store, sub.batch_id, settings)
    return Run(time.perf_counter() - started, time.process_time() - cpu, 0.0)


def start_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "amc.cli", "worker", "-n", f"{name}@%h", "-l", "INFO"]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker {name} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def run_workers(data: Path, env: dict[str, str], n: int, work: Path) -> Run:
    from workers.app import make_app
    from workers.tasks import enqueue_papers

    settings = load_settings(environ=env)
    procs = [start_worker(env, f"bench{i}", work / f"worker{n}-{i}.log") for i in range(n)]
    try:
        app = make_app(settings)
        import redis

        client = redis.Redis.from_url(settings.broker_url)
        workers_cpu = sum(cpu_s(p.pid) for p in procs)
        started, cpu = time.perf_counter(), time.process_time()
        with open_store(settings.database_url) as store:
            sub = submit_batch(store, [data], (), settings)
            enqueue_papers(app, client, sub.batch_id, sub.paper_ids)
            wait_done(store, sub.batch_id)
        wall = time.perf_counter() - started
        workers_cpu = sum(cpu_s(p.pid) for p in procs) - workers_cpu
        return Run(wall, workers_cpu, time.process_time() - cpu)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--slots", type=int, default=32, help="LLM calls in flight per process")
    parser.add_argument("--modes", default="direct,embedded,1,2")
    args = parser.parse_args()
    redis_port = free_port()
    server, api_base = start_llm_server(args.latency)
    redis_cmd = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"]  # fmt: skip
    redis_proc = subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL)
    rows: list[tuple[str, int, Run]] = []
    try:
        time.sleep(1.0)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            data = work / "pairs.jsonl"
            write_input(data, args.pairs)
            for mode in args.modes.split(","):
                broker = f"redis://127.0.0.1:{redis_port}/{len(rows)}"
                env = env_for(work, mode, api_base, broker, args.slots)
                server_cpu = server_cpu_s(api_base)
                if mode in ("direct", "embedded"):
                    run = (run_direct if mode == "direct" else run_embedded)(data, env)
                    in_flight = args.slots
                else:
                    run = run_workers(data, env, int(mode), work)
                    in_flight = int(mode) * max(1, args.slots // 2) * 2
                run.server_cpu = server_cpu_s(api_base) - server_cpu
                rows.append((mode, in_flight, run))
                print(f"{mode}: {run.wall:.1f} s", file=sys.stderr)
    finally:
        server.terminate()
        redis_proc.terminate()
    print_table(rows, args.pairs, args.latency)


HEADER = ["mode", "calls in flight", "wall s", "pairs/s", "overhead/pair ms", "overhead %",
          "vs 1 worker", "CPU ms/pair: classifying", "driver", "LLM server"]  # fmt: skip
NAMES = {"direct": "LLM tier alone (no store)", "embedded": "embedded (amc run)"}


def print_table(rows: list[tuple[str, int, Run]], pairs: int, latency: float) -> None:
    one = next((run.wall for mode, _, run in rows if mode == "1"), None)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{pairs} pairs, LLM latency {latency * 1000:.0f} ms, {os.cpu_count()} CPUs, "
          f"load average after the runs {load}")  # fmt: skip
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for mode, in_flight, run in rows:
        overhead = run.wall * in_flight / pairs - latency
        cells = [
            NAMES.get(mode, f"{mode} worker(s)"),
            str(in_flight),
            f"{run.wall:.1f}",
            f"{pairs / run.wall:.1f}",
            f"{overhead * 1000:.0f}",
            f"{100 * overhead / latency:.1f} %",
            f"{one / run.wall:.2f}x" if one else "-",
            f"{1000 * run.classify_cpu / pairs:.1f}",
            f"{1000 * run.driver_cpu / pairs:.1f}" if run.driver_cpu else "-",
            f"{1000 * run.server_cpu / pairs:.1f}",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
