"""Batch throughput: embedded (``amc run``) vs one and two Celery workers, LLM tier.

2,000 synthetic pairs (1,000 papers x HST + JWST) against the scripted
OpenAI-compatible server (``tests/llm_server.py``, in its own process so it does
not share our GIL) answering every call after 500 ms. Redis is a private
``redis-server`` on a free port; each mode gets its own SQLite store.

Every mode keeps the same number of LLM calls in flight per process ("slots",
``llm_concurrency``): embedded, and each worker (whose ``worker_concurrency``
task threads, ``task_papers`` papers each, share those slots). On a 2-core
machine a second worker process is only useful because the work is I/O-bound:
both processes mostly wait on the LLM, so "two workers" = twice the calls in flight.

Reported, for the median (by wall time) of ``--repeat`` runs of each mode: wall
time from submit to the batch being done (spooling included), pairs/s, and the
overhead beyond the LLM time. Every call takes exactly ``latency``, so with
``in_flight`` slots the calls go in rounds and the LLM time of the batch is
``ceil(pairs / in_flight) * latency`` (2,000 pairs on 64 slots: 32 rounds, the
last a quarter full whatever the pipeline does). The overhead per pair is
``(wall - LLM time) * in_flight / pairs``: the time each slot spends per pair
beyond its calls (0 would be a perfectly busy pipeline), and "overhead %" is
that over the latency. Also the slots' peak use and the calls the server saw
(both checked), the pairs saved without error, and the CPU time per pair of
the classifying process(es) (this one, or the workers), of this driver while
workers classify (submitting, polling the store), and of the LLM server.

    .venv/bin/python bench/batch.py [--pairs 2000] [--latency 0.5] [--slots 32] [--repeat 3]
                                    [--body-kb 40]  # paper-sized bodies: more CPU per pair
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from benchkit import cpu_s, free_port, server_stats, start_llm_server  # noqa: E402

from amc.jobs.process import run_batch  # noqa: E402
from amc.jobs.submit import submit_batch  # noqa: E402
from amc.settings import Settings, load_settings  # noqa: E402
from amc.store import Store, open_store  # noqa: E402

BODY = (
    "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345. "
    "The images were reduced with the standard pipeline. Earlier JWST spectra are compared."
)


FILLER = (
    "The photometric catalogue was cross-matched with archival data, and the star "
    "formation rates were derived from the ultraviolet and infrared luminosities. "
)


def write_input(path: Path, pairs: int, body_kb: float = 0.0) -> None:
    """``pairs // 2`` papers x HST + JWST; ``body_kb`` pads each body with plain prose
    (no telescope named) to about that size, split around the hits as in a paper."""
    pad = FILLER * max(0, int(body_kb * 1024 / len(FILLER) / 2))
    with path.open("w", encoding="utf-8") as out:
        for i in range(pairs // 2):
            for telescope in ("HST", "JWST"):
                row = {
                    "bibcode": f"2024BENCH{i:05d}",
                    "telescope": telescope,
                    "title": f"Paper {i}",
                    "body": pad + BODY.format(i=i) + " " + pad,
                }
                out.write(json.dumps(row) + "\n")


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
        "AMC_LLM_CHUNK_PAIRS": str(slots * 4),
        "AMC_WORKER_CONCURRENCY": "4",
        "AMC_TASK_PAPERS": "8",
        "AMC_PROGRESS": "false",
    }


@dataclass
class Run:
    """Wall seconds, CPU seconds of the process(es) classifying, and of this driver
    (submitting and polling) when the classifying is done elsewhere (workers)."""

    wall: float
    classify_cpu: float
    driver_cpu: float
    #: pairs with a result and no error (checked, so a fast wrong run cannot pass)
    ok: int
    #: seconds spent submitting (spooling the input, registering papers), within ``wall``
    submit_s: float = 0.0
    server_cpu: float = 0.0
    calls: int = 0
    peak: int = 0


def wait_done(store: Store, batch_id: str, timeout: float = 900) -> None:
    """Poll (every 50 ms) the count of papers not finished: one indexed query, so the
    driver takes little of the CPU the workers and the server share."""
    from sqlalchemy import func, select

    from amc.store.schema import PaperRow

    query = select(func.count()).where(
        PaperRow.batch_id == batch_id, PaperRow.status.in_(("pending", "running"))
    )
    deadline = time.monotonic() + timeout
    while True:
        with store.engine.connect() as conn:
            if not conn.scalar(query):
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch_id} not done after {timeout} s")
        time.sleep(0.05)


def warm_up(settings: Settings) -> None:
    """What a worker does before "ready" (imports, the shared event loop): the runs below
    measure the steady state alike."""
    from amc.classify.llm import warm_up as warm_up_llm

    warm_up_llm(settings.llm)


def run_direct(data: Path, env: dict[str, str]) -> Run:
    """The LLM tier alone (``amc classify``'s path, no store, no spool): the baseline."""
    from amc.classify.stream import classify_stream
    from amc.ingest.pairs import read_pairs
    from amc.registry import load_registry

    settings = load_settings(environ=env)
    warm_up(settings)
    registry = load_registry()
    started, cpu = time.perf_counter(), time.process_time()
    ok = sum(
        c.ok and c.labels is not None
        for c in classify_stream(read_pairs([data], registry, settings), registry, settings)
    )
    return Run(time.perf_counter() - started, time.process_time() - cpu, 0.0, ok)


def ok_pairs(store: Store, batch_id: str) -> int:
    progress = store.batch_progress(batch_id)
    return progress.pairs - progress.pairs_failed


def run_embedded(data: Path, env: dict[str, str]) -> Run:
    settings = load_settings(environ=env)
    warm_up(settings)
    started, cpu = time.perf_counter(), time.process_time()
    with open_store(settings.database_url) as store:
        sub = submit_batch(store, [data], (), settings)
        submitted = time.perf_counter()
        run_batch(store, sub.batch_id, settings)
        wall = time.perf_counter() - started
        run = Run(wall, time.process_time() - cpu, 0.0, ok_pairs(store, sub.batch_id))
    run.submit_s = submitted - started
    return run


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
            submitted = time.perf_counter()
            wait_done(store, sub.batch_id)
            wall = time.perf_counter() - started
            driver_cpu = time.process_time() - cpu
            workers_cpu = sum(cpu_s(p.pid) for p in procs) - workers_cpu
            run = Run(wall, workers_cpu, driver_cpu, ok_pairs(store, sub.batch_id))
        run.submit_s = submitted - started
        return run
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
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (median shown)")
    parser.add_argument("--body-kb", type=float, default=0.0, help="pad bodies to ~this size")
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
            write_input(data, args.pairs, args.body_kb)
            for mode in args.modes.split(","):
                runs = []
                for k in range(args.repeat):
                    broker = f"redis://127.0.0.1:{redis_port}/{len(rows) * args.repeat + k}"
                    env = env_for(work, f"{mode}-{k}", api_base, broker, args.slots)
                    runs.append(run_mode(mode, data, env, work, api_base))
                    print(f"{mode}: {runs[-1].wall:.1f} s", file=sys.stderr)
                in_flight = args.slots * (1 if mode in ("direct", "embedded") else int(mode))
                rows.append((mode, in_flight, sorted(runs, key=lambda r: r.wall)[len(runs) // 2]))
    finally:
        server.terminate()
        redis_proc.terminate()
    print_table(rows, args.pairs, args.latency, args.body_kb)


def run_mode(mode: str, data: Path, env: dict[str, str], work: Path, api_base: str) -> Run:
    server_cpu = server_stats(api_base, reset=True)["cpu_s"]
    if mode in ("direct", "embedded"):
        run = (run_direct if mode == "direct" else run_embedded)(data, env)
    else:
        run = run_workers(data, env, int(mode), work)
    stats = server_stats(api_base)
    run.server_cpu = stats["cpu_s"] - server_cpu
    run.calls, run.peak = int(stats["chat_requests"]), int(stats["max_in_flight"])
    return run


HEADER = ["mode", "slots", "peak in flight", "LLM calls", "pairs ok", "LLM time s", "wall s",
          "submit s", "pairs/s", "overhead/pair ms", "overhead %", "vs 1 worker",
          "CPU ms/pair: classifying", "driver", "LLM server"]  # fmt: skip
NAMES = {"direct": "LLM tier alone (no store)", "embedded": "embedded (amc run)"}


def print_table(
    rows: list[tuple[str, int, Run]], pairs: int, latency: float, body_kb: float
) -> None:
    one = next((run.wall for mode, _, run in rows if mode == "1"), None)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    size = f"bodies ~{body_kb:g} KB" if body_kb else "short bodies"
    print(f"{pairs} pairs, {size}, LLM latency {latency * 1000:.0f} ms, {os.cpu_count()} CPUs, "
          f"load average after the runs {load}")  # fmt: skip
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for mode, in_flight, run in rows:
        llm_time = math.ceil(pairs / in_flight) * latency
        overhead = (run.wall - llm_time) * in_flight / pairs
        cells = [
            NAMES.get(mode, f"{mode} worker(s)"),
            str(in_flight),
            str(run.peak),
            str(run.calls),
            str(run.ok),
            f"{llm_time:.1f}",
            f"{run.wall:.1f}",
            f"{run.submit_s:.2f}" if run.submit_s else "-",
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
