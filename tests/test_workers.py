"""Celery workers on a real Redis: real ``amc worker``/``amc beat`` subprocesses, crash tests.

Each module run starts its own ``redis-server`` on a free 127.0.0.1 port (no
persistence, like the project's Redis) so a test can restart it mid-batch
without disturbing anyone else's Redis; every process started here is killed
in a ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from llm_server import ScriptedLLMServer
from sqlalchemy import func, select

from amc.domain.errors import ConfigError
from amc.jobs.process import run_batch
from amc.jobs.submit import submit_batch
from amc.settings import Settings, load_settings
from amc.store import Store, open_store
from amc.store.schema import ClassificationRow
from workers.app import make_app, parse_cron
from workers.ratelimit import RedisTokenBucket
from workers.tasks import queued_key, run_audit, sweep_batches

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
SCIENCE = "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."

pytestmark = pytest.mark.services


class RedisServer:
    """A private redis-server that a test may stop and start again on the same port."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.tmp),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_until(lambda: _pings(client), 10, "redis-server to start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # a crash: nothing saved
            self.proc.wait(timeout=10)
            self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_redis(redis_server: RedisServer) -> RedisServer:
    if redis_server.proc is None:
        redis_server.start()
    redis.Redis(port=redis_server.port).flushall()  # our private server only
    return redis_server


class Fleet:
    """``amc worker`` / ``amc beat`` subprocesses sharing one environment."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")} | env
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, ready: bytes = b"ready.") -> subprocess.Popen[bytes]:
        log = self.tmp / f"{args[0]}-{len(self.procs)}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "amc.cli", *args],
                cwd=self.tmp,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        wait_until(lambda: ready in log.read_bytes() or proc.poll() is not None, 120, args[0])
        assert proc.poll() is None, log.read_text()[-3000:]
        return proc

    def worker(self, name: str, concurrency: int = 4) -> subprocess.Popen[bytes]:
        return self.start("worker", "-n", f"{name}@%h", "-c", str(concurrency))

    def beat(self) -> subprocess.Popen[bytes]:
        return self.start("beat", ready=b"beat: Starting")

    def amc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "amc.cli", *args],
            cwd=self.tmp,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait(timeout=30)


@pytest.fixture
def fleet_env(tmp_path: Path, fresh_redis: RedisServer) -> dict[str, str]:
    return {
        "AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'amc.sqlite3'}",
        "AMC_BROKER_URL": fresh_redis.url,
        "AMC_SPOOL_DIR": str(tmp_path / "spool"),
        "AMC_PROGRESS": "false",
    }


@pytest.fixture
def fleet(fleet_env: dict[str, str], tmp_path: Path) -> Iterator[Fleet]:
    started = Fleet(fleet_env, tmp_path)
    try:
        yield started
    finally:
        started.stop()


def settings_of(env: dict[str, str]) -> Settings:
    return load_settings(environ=env)


def wait_for_batch(store: Store, batch_id: str, timeout: float = 240) -> None:
    wait_until(lambda: store.batch_progress(batch_id).finished, timeout, f"batch {batch_id}")


def one_result_per_pair(store: Store, batch_id: str) -> bool:
    with store.engine.connect() as conn:
        query = select(ClassificationRow.pair_id, func.count()).filter_by(batch_id=batch_id)
        counts = [n for _, n in conn.execute(query.group_by(ClassificationRow.pair_id))]
    return bool(counts) and set(counts) == {1}


# -- a batch on workers -------------------------------------------------------------------


@pytest.mark.slow
def test_submitted_batch_matches_embedded_and_duplicate_is_not_requeued(
    fleet: Fleet, fleet_env: dict[str, str], tmp_path: Path
) -> None:
    fleet.worker("w1")
    submitted = fleet.amc("submit", str(SAMPLE))
    batch_id = submitted.stdout.strip()
    assert submitted.returncode == 0 and "37 papers queued" in submitted.stderr
    settings = settings_of(fleet_env)
    with open_store(settings.database_url) as store:
        wait_for_batch(store, batch_id)
        again = fleet.amc("submit", str(SAMPLE))
        time.sleep(1.0)  # anything wrongly queued would be claimed by now
        papers = [store.get_paper(pid) for pid in range(1, 38)]
        on_workers = {c.pair_id: c.labels for c in store.iter_results(batch_id)}
    assert again.stdout.strip() == batch_id and "already submitted" in again.stderr
    assert {p.attempts for p in papers} == {1} and {p.status for p in papers} == {"done"}
    embedded_env = fleet_env | {"AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'embedded.db'}"}
    with open_store(embedded_env["AMC_DATABASE_URL"]) as other:
        sub = submit_batch(other, [SAMPLE], (), settings_of(embedded_env))
        run_batch(other, sub.batch_id, settings_of(embedded_env))
        assert {c.pair_id: c.labels for c in other.iter_results(sub.batch_id)} == on_workers
    status = fleet.amc("status", batch_id, "--once")
    assert "done 37" in status.stdout and status.returncode == 0


def llm_batch(tmp_path: Path, server: ScriptedLLMServer, n: int = 200) -> tuple[Path, dict]:
    data = tmp_path / "papers.jsonl"
    rows = [
        {"bibcode": f"2024CRASH{i:04d}", "telescope": "HST", "body": SCIENCE.format(i=i)}
        for i in range(n)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {
        "AMC_TIER": "llm",
        "AMC_MODEL": "openai/local",
        "AMC_API_BASE": server.api_base,
        "AMC_USE_CACHE": "false",
        "AMC_TASK_LEASE_S": "4",
        "AMC_SWEEP_INTERVAL_S": "1",
    }
    return data, env


def assert_complete(store: Store, batch_id: str, n: int) -> None:
    progress = store.batch_progress(batch_id)
    assert progress.papers == {"pending": 0, "running": 0, "done": n, "failed": 0}
    assert progress.pairs == n and progress.pairs_failed == 0
    assert one_result_per_pair(store, batch_id)


@pytest.mark.slow
def test_kill_9_a_worker_mid_batch_and_another_finishes_it(
    fleet: Fleet, fleet_env: dict[str, str], tmp_path: Path
) -> None:
    with ScriptedLLMServer(latency_s=0.15) as server:
        data, llm_env = llm_batch(tmp_path, server)
        fleet.env |= llm_env
        settings = settings_of(fleet_env | llm_env)
        victim = fleet.worker("victim")
        fleet.beat()
        batch_id = fleet.amc("submit", str(data)).stdout.strip()
        with open_store(settings.database_url) as store:
            wait_until(lambda: store.batch_progress(batch_id).papers["done"] >= 30, 120, "work")
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            interrupted = store.batch_progress(batch_id).papers
            fleet.worker("rescuer")
            wait_for_batch(store, batch_id)
            assert_complete(store, batch_id, 200)
            attempts = [store.get_paper(p).attempts for p in range(1, 201)]
            # the sweep (beat, every second here) closes the finished batch
            wait_until(lambda: store.get_batch(batch_id).status == "done", 15, "batch closed")
    assert interrupted["done"] < 200 and interrupted["running"] >= 1  # it died mid-paper
    assert max(attempts) == 2  # the papers it held were redone once, by the rescuer


@pytest.mark.slow
def test_redis_restart_mid_batch_and_the_batch_still_completes(
    fleet: Fleet, fleet_env: dict[str, str], tmp_path: Path, fresh_redis: RedisServer
) -> None:
    with ScriptedLLMServer(latency_s=0.15) as server:
        data, llm_env = llm_batch(tmp_path, server)
        fleet.env |= llm_env
        settings = settings_of(fleet_env | llm_env)
        fleet.worker("w1")
        fleet.beat()
        batch_id = fleet.amc("submit", str(data)).stdout.strip()
        with open_store(settings.database_url) as store:
            wait_until(lambda: store.batch_progress(batch_id).papers["done"] >= 30, 120, "work")
            fresh_redis.stop()  # every queued message is lost: no persistence
            time.sleep(1.0)
            fresh_redis.start()
            wait_for_batch(store, batch_id)
            assert_complete(store, batch_id, 200)
    # at most the papers the worker held (its tasks' papers) were redone
    held = settings.worker_concurrency * settings.task_papers
    assert len(server.chat_requests) <= 200 + held
    logs = "".join(p.read_text() for p in tmp_path.glob("worker-*.log"))
    assert "lost papers" in logs  # the queue really was lost, and the sweep refilled it


# -- pieces, against the same Redis, without workers -------------------------------------


def test_sweep_requeues_stale_papers_and_refills_a_lost_queue(
    fresh_redis: RedisServer, tmp_path: Path
) -> None:
    env = {
        "AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'amc.db'}",
        "AMC_BROKER_URL": fresh_redis.url,
        "AMC_SPOOL_DIR": str(tmp_path / "spool"),
        "AMC_TASK_LEASE_S": "0.2",
    }
    settings = settings_of(env)
    app, client = make_app(settings), redis.Redis(port=fresh_redis.port)
    with open_store(settings.database_url) as store:
        sub = submit_batch(store, [SAMPLE], (), settings)
        assert sweep_batches(app, store, client, settings) == 37  # never queued: all sent
        messages = -(-37 // settings.task_papers)  # a message per task_papers papers
        assert messages > 1 and client.llen("celery") == messages
        assert client.exists(queued_key(sub.batch_id))
        assert sweep_batches(app, store, client, settings) == 0  # queue intact: nothing
        store.claim_paper(sub.paper_ids[0])  # a worker took it ... and died
        time.sleep(0.3)
        assert sweep_batches(app, store, client, settings) == 1
        assert store.get_paper(sub.paper_ids[0]).status == "pending"
        assert client.llen("celery") == messages + 1


def test_token_bucket_is_shared_and_limits_requests_and_tokens(fresh_redis: RedisServer) -> None:
    first = RedisTokenBucket(redis.Redis(port=fresh_redis.port), rpm=120, tpm=6000, name="t")
    second = RedisTokenBucket(redis.Redis(port=fresh_redis.port), rpm=120, tpm=6000, name="t")
    assert first.acquire(119, 100) == 0.0  # a full minute's allowance to start with
    started = time.monotonic()
    second.acquire(2, 10)  # the other process sees the same bucket: one request short
    assert 0.3 < time.monotonic() - started < 2.0  # 120/min = one request per 0.5 s
    first.charge(6000)  # the answers were longer than estimated: the bucket goes negative
    started = time.monotonic()
    second.acquire(1, 100)  # the deficit plus 100 tokens, at 100 tokens/s, must be earned
    assert 1.0 < time.monotonic() - started < 3.5
    other_model = RedisTokenBucket(redis.Redis(port=fresh_redis.port), 120, 6000, name="u")
    assert other_model.acquire(100, 5000) == 0.0


def test_beat_schedules_the_sweep_and_the_audit_from_settings(tmp_path: Path) -> None:
    labels = str(tmp_path / "historical.parquet")
    settings = load_settings(
        environ={}, audit_cron="30 3 * * 1", audit_labels_path=labels, sweep_interval_s=7
    )
    schedule = make_app(settings).conf.beat_schedule
    assert schedule["amc-sweep"]["schedule"] == 7
    audit = schedule["amc-audit"]["schedule"]
    assert schedule["amc-audit"]["task"] == "amc.run_audit"
    assert audit.hour == {3} and audit.minute == {30} and audit.day_of_week == {1}
    assert "amc-audit" not in make_app(load_settings(environ={})).conf.beat_schedule
    # a schedule with nothing to audit is off (compose sets the cron, the labels are yours)
    no_labels = {"AMC_AUDIT_CRON": "0 3 * * *", "AMC_AUDIT_LABELS_PATH": ""}
    assert "amc-audit" not in make_app(load_settings(environ=no_labels)).conf.beat_schedule
    with pytest.raises(ConfigError, match="5 fields"):
        parse_cron("0 3 * *")
    with pytest.raises(ConfigError, match="not a valid cron"):
        parse_cron("99 3 * * *")


@pytest.mark.slow
def test_worker_health_check_answers_for_this_hosts_worker_only(fleet: Fleet) -> None:
    """``python -m workers.health`` (compose's worker healthcheck): exit 0 once the worker of
    this host (Celery's default name, as in compose) answers, 1 for a name nobody has."""
    fleet.start("worker", "-c", "1")

    def health(*names: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workers.health", *names], env=fleet.env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    assert health().returncode == 0, health().stderr
    missing = health(f"nobody@{socket.gethostname()}")
    assert missing.returncode == 1 and "no reply from nobody@" in missing.stderr
    broker_down = subprocess.run(
        [sys.executable, "-m", "workers.health"], capture_output=True, text=True, timeout=60,
        env=fleet.env | {"AMC_BROKER_URL": "redis://127.0.0.1:1/0"},
    )  # fmt: skip
    assert broker_down.returncode == 1 and "amc worker health:" in broker_down.stderr


def test_audit_task_runs_the_incremental_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    import eval.incremental

    seen: list[Settings] = []
    monkeypatch.setattr(eval.incremental, "run_incremental_audit", lambda s: seen.append(s) or "ok")
    settings = load_settings(environ={})
    assert run_audit(settings) == "ok" and seen == [settings]
    app = make_app(settings)
    assert app.tasks["amc.run_audit"].apply().get() == "ok" and len(seen) == 2


def test_submit_without_redis_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
    env |= {
        "AMC_BROKER_URL": "redis://127.0.0.1:1/0",
        "AMC_SPOOL_DIR": str(tmp_path / "s"),
        "AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'amc.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "amc.cli", "submit", str(SAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot reach the broker" in done.stderr and "amc run" in done.stderr
