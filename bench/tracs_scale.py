"""Throughput at TRACS scale: ``amc classify --tier llm`` and ``amc submit`` + two workers.

Both runs use the real commands, as a librarian would, against the scripted
OpenAI-compatible server (``tests/llm_server.py``) in its own process, which
answers every call after ``--latency`` (500 ms) as a frontier model answers the
prompt (``--frontier-answers``: the labels, cited sentences and the link fields):

- **classify**: ``amc classify DIR --tier llm -o out.csv`` over the 9,194 pairs of
  the TRACS test split's shape (four ``*_reference_test.parquet`` files), with
  paper-sized bodies (60 KB) naming several telescopes (``bench/tracs_data.py``),
  64 calls in flight;
- **submit**: ``amc submit DIR --tier llm`` of 20,000 pairs with 12 KB bodies to two
  ``amc worker`` processes (32 calls in flight each) on PostgreSQL (a throwaway
  database next to ``test``) and a private ``redis-server``; the wall time runs
  from the submit to the last paper saved.

The limit is ``slots / latency`` calls per second; "% of limit" is the ideal LLM
time (``ceil(calls / slots) * latency``, the rounds of calls a perfectly busy
pipeline needs) over the wall time, start-up included. "CPU ms/pair" is the
process CPU time (user + system, so contention from other processes on the
machine does not inflate it much) of the amc processes (``amc classify``; or
``amc submit`` plus both workers) over the pairs; the LLM server's own CPU is
shown apart. Every run checks its output (all pairs present, no errors) so a
fast wrong run cannot pass, and the load average is printed with the table:
the machine is shared.

    .venv/bin/python bench/tracs_scale.py [--runs classify,submit] [--repeat 3]
        [--pairs 9194 --body-kb 60 --slots 64]
        [--submit-pairs 20000 --submit-body-kb 12 --workers 2 --worker-slots 32]
        [--code OLD_CHECKOUT --code .]

The same code's CPU per pair moves by up to a third between series on this shared
VM (its CPUs change speed under it): the table gives a machine reference (CPU ms
of a fixed workload, ``benchkit.machine_ms``) before and after, and ``--code``
(repeated) runs several checkouts' ``amc`` (with the installed dependencies)
alternately in one series, so a before/after comparison sees the same machine.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchkit import (  # noqa: E402
    amc_env,
    cpu_s,
    free_port,
    llm_server,
    machine_ms,
    postgres_database,
    server_stats,
)
from tracs_data import write_tracs  # noqa: E402


@dataclass
class Run:
    name: str
    pairs: int
    calls: int
    slots: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    peak_in_flight: int
    ok: int
    #: 1-minute load average before the run and after it (the machine is shared)
    load: tuple[float, float]
    #: of ``cpu_s``, the part spent by ``amc submit`` (reading and queueing), if any
    submit_cpu_s: float = 0.0

    def ideal_s(self, latency: float) -> float:
        return math.ceil(self.calls / self.slots) * latency


def base_env(api_base: str, slots: int, work: Path) -> dict[str, str]:
    return amc_env(api_base, slots, work, CODE, use_cache=USE_CACHE) | EXTRA_ENV


#: the checkout whose amc the runs use (``--code``; this one by default)
CODE: Path = ROOT
#: settings given with --set NAME=VALUE, as AMC_NAME variables of every amc process
EXTRA_ENV: dict[str, str] = {}
#: the answer cache as users have it (on; a fresh file per run, so nothing is found in it)
USE_CACHE = True
#: set by --profile: every amc process runs under ``py-spy record --gil`` into this folder
PROFILE_DIR: Path | None = None


def amc_command(*args: str, profile: bool = True) -> list[str]:
    command = [sys.executable, "-m", "amc.cli", *args]
    if PROFILE_DIR is None or not profile:
        return command
    out = PROFILE_DIR / f"{args[0]}-{uuid.uuid4().hex[:6]}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    return [
        str(spy),
        "record",
        "--gil",
        "--subprocesses",
        "-r",
        "100",
        "-f",
        "raw",
        "-o",
        str(out),
        "--",
        *command,
    ]


def run_classify(data: Path, api_base: str, slots: int, work: Path) -> Run:
    load_before = os.getloadavg()[0]
    out = work / "out.csv"
    env = base_env(api_base, slots, work)
    server_cpu = server_stats(api_base, reset=True)["cpu_s"]
    before = os.times()
    started = time.perf_counter()
    proc = subprocess.run(amc_command("classify", str(data), "-o", str(out)), env=env,
                          cwd=work, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    after = os.times()
    if proc.returncode != 0:
        raise RuntimeError(f"amc classify failed:\n{proc.stderr[-3000:]}")
    stats = server_stats(api_base)
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return Run("amc classify --tier llm", len(rows), int(stats["chat_requests"]), slots, wall,
               cpu, stats["cpu_s"] - server_cpu, int(stats["max_in_flight"]),
               sum(not r["error"] for r in rows), (load_before, os.getloadavg()[0]))  # fmt: skip


@contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        proc = subprocess.Popen(amc_command("worker", "-n", f"{name}@%h", "-l", "INFO"),
                                env=env, stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 180
    while b"ready." not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker {name} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process; under py-spy, its child, so that py-spy writes its profile."""
    if PROFILE_DIR is None:
        proc.terminate()
        return
    for task in Path(f"/proc/{proc.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            os.kill(int(child), 15)


def run_submit(data: Path, api_base: str, slots: int, workers: int, work: Path) -> Run:
    from sqlalchemy import func, select

    from amc.store import open_store
    from amc.store.schema import ClassificationRow, PaperRow

    load_before = os.getloadavg()[0]
    with postgres_database() as db_url, redis_server() as broker:
        env = base_env(api_base, slots, work) | {
            "AMC_DATABASE_URL": db_url,
            "AMC_BROKER_URL": broker,
        }
        procs = [start_worker(env, f"bench{i}", work / f"worker{i}.log") for i in range(workers)]
        try:
            workers_cpu = sum(cpu_s(p.pid) for p in procs)
            server_cpu = server_stats(api_base, reset=True)["cpu_s"]
            before = os.times()
            started = time.perf_counter()
            sub = subprocess.run(amc_command("submit", str(data), profile=False), env=env, cwd=work,
                                 capture_output=True, text=True)  # fmt: skip
            after = os.times()
            if sub.returncode != 0:
                raise RuntimeError(f"amc submit failed:\n{sub.stderr[-3000:]}")
            batch_id = sub.stdout.strip().splitlines()[-1]
            with open_store(db_url) as store:
                waiting = select(func.count()).where(
                    PaperRow.batch_id == batch_id, PaperRow.status.in_(("pending", "running"))
                )
                deadline = time.monotonic() + 3600
                while True:
                    with store.engine.connect() as conn:
                        if not conn.scalar(waiting):
                            break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"batch {batch_id} not done after an hour")
                    time.sleep(0.1)
                wall = time.perf_counter() - started
                cpu = sum(cpu_s(p.pid) for p in procs) - workers_cpu
                stats = server_stats(api_base)
                with store.engine.connect() as conn:
                    pairs = conn.scalar(
                        select(func.count()).where(ClassificationRow.batch_id == batch_id)
                    )
                    ok = conn.scalar(
                        select(func.count()).where(
                            ClassificationRow.batch_id == batch_id,
                            ClassificationRow.error_kind.is_(None),
                        )
                    )
        finally:
            for proc in procs:
                stop(proc)
            for proc in procs:
                proc.wait(timeout=60)
    submit_cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return Run(f"amc submit + {workers} workers", int(pairs or 0), int(stats["chat_requests"]),
               slots * workers, wall, cpu + submit_cpu, stats["cpu_s"] - server_cpu,
               int(stats["max_in_flight"]), int(ok or 0),
               (load_before, os.getloadavg()[0]), submit_cpu)  # fmt: skip


def wait_for_quiet(max_load: float | None, patience_s: float = 3600) -> None:
    """Wait (at most ``patience_s``) until the 1-minute load average is below ``max_load``:
    wall-clock figures on a shared machine mean little otherwise."""
    deadline = time.monotonic() + patience_s
    while max_load is not None and os.getloadavg()[0] > max_load:
        if time.monotonic() > deadline:
            print(f"load still {os.getloadavg()[0]:.1f}; running anyway", file=sys.stderr)
            return
        time.sleep(15)


HEADER = ["run", "pairs", "ok", "LLM calls", "calls in flight (peak)", "ideal s", "wall s",
          "% of limit", "CPU ms/pair (amc)", "CPU ms/pair (LLM server)",
          "load before / after"]  # fmt: skip


def row(run: Run, latency: float) -> list[str]:
    ideal = run.ideal_s(latency)
    return [run.name, f"{run.pairs:,}", f"{run.ok:,}", f"{run.calls:,}",
            f"{run.slots} ({run.peak_in_flight})", f"{ideal:.1f}", f"{run.wall_s:.1f}",
            f"{100 * ideal / run.wall_s:.0f} %", f"{1000 * run.cpu_s / run.pairs:.1f}",
            f"{1000 * run.server_cpu_s / run.pairs:.1f}",
            f"{run.load[0]:.1f} / {run.load[1]:.1f}"]  # fmt: skip


def run_one(name: str, code: Path, args: argparse.Namespace, api_base: str) -> Run:
    """One run of ``classify`` or ``submit`` with the amc of checkout ``code``."""
    global CODE
    CODE = code
    wait_for_quiet(args.max_load)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if name == "classify":
            data = write_tracs(args.data_dir / f"tracs-{args.pairs}-{args.body_kb:g}",
                               args.pairs, args.body_kb)  # fmt: skip
            run = run_classify(data, api_base, args.slots, work)
        else:
            data = write_tracs(
                args.data_dir / f"tracs-{args.submit_pairs}-{args.submit_body_kb:g}",
                args.submit_pairs, args.submit_body_kb,
            )  # fmt: skip
            run = run_submit(data, api_base, args.worker_slots, args.workers, work)
        shutil.rmtree(work / "spool", ignore_errors=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="classify,submit")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--pairs", type=int, default=9194)
    parser.add_argument("--body-kb", type=float, default=60)
    parser.add_argument("--slots", type=int, default=64)
    parser.add_argument("--submit-pairs", type=int, default=20_000)
    parser.add_argument("--submit-body-kb", type=float, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-slots", type=int, default=32)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "amc-bench")
    parser.add_argument("--profile", type=Path, help="py-spy profiles (raw) into this folder")
    parser.add_argument("--no-cache", action="store_true", help="run with AMC_USE_CACHE=false")
    parser.add_argument("--max-load", type=float, help="wait for a lower 1-minute load first")
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="a checkout whose amc to run (repeat it to compare checkouts: "
                             "their runs alternate) [this one]")  # fmt: skip
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an amc setting for every run (flat name: worker_concurrency=8)",
    )
    args = parser.parse_args()
    for setting in args.set:
        name, equals, value = setting.partition("=")
        if not (name and equals):
            parser.error(f"--set {setting!r}: give NAME=VALUE (worker_concurrency=8)")
        EXTRA_ENV[f"AMC_{name.upper()}"] = value
    global PROFILE_DIR, USE_CACHE
    PROFILE_DIR, USE_CACHE = args.profile, not args.no_cache
    if PROFILE_DIR is not None:
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    codes = [c.resolve() for c in args.code] or [ROOT]
    machine = [machine_ms()]
    with llm_server(args.latency, "--frontier-answers") as api_base:
        for name in args.runs.split(","):
            for _ in range(args.repeat):
                for code in codes:  # alternated, so the machine's drift hits each alike
                    run = run_one(name, code, args, api_base)
                    if len(codes) > 1:
                        run.name += f" [{code.name}]"
                    runs.append(run)
                    print(" | ".join(row(run, args.latency)), file=sys.stderr, flush=True)
    machine.append(machine_ms())
    print(f"LLM latency {args.latency * 1000:.0f} ms, {os.cpu_count()} CPUs; "
          f"{args.repeat} run(s) each, median by wall time; machine reference "
          f"{machine[0]:.1f} / {machine[1]:.1f} ms before / after "
          "(benchkit.machine_ms)\n")  # fmt: skip
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for name in dict.fromkeys(r.name for r in runs):
        same = sorted((r for r in runs if r.name == name), key=lambda r: r.wall_s)
        print("| " + " | ".join(row(same[len(same) // 2], args.latency)) + " |")
        if len(same) > 1:
            walls = ", ".join(f"{r.wall_s:.1f}" for r in same)
            cpus = ", ".join(f"{1000 * r.cpu_s / r.pairs:.1f}" for r in same)
            print(f"|  all runs: wall s {walls}; CPU ms/pair {cpus} |")
        if any(r.submit_cpu_s for r in same):
            parts = ", ".join(f"{1000 * r.submit_cpu_s / r.pairs:.1f}" for r in same)
            print(f"|  of the CPU ms/pair, `amc submit` itself: {parts} |")


if __name__ == "__main__":
    main()
