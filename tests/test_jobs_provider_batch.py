"""Job-store batches through the provider's Batch API (``amc submit --batch-api``): the plan
made from the spool, files sent as their day comes, answers collected into the store,
resumable and idempotent, on SQLite and PostgreSQL, against the scripted server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from llm_server import ScriptedLLMServer

from amc.classify.llm.provider_batch import ProviderBatchBusy, load_state
from amc.classify.llm.provider_batch.state import lock_state
from amc.domain.errors import ConfigError
from amc.jobs.provider_batch import (
    advance_provider_batch,
    plan_path,
    start_provider_batch,
)
from amc.jobs.submit import submit_batch
from amc.settings import Settings, load_settings
from amc.store import Store
from workers.app import make_app
from workers.tasks import queued_key, sweep_batches

DAY = 86_400.0
PRICES = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
SCIENCE = "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(batch_polls_to_complete=2) as srv:
        yield srv


def settings_for(server: ScriptedLLMServer, tmp_path: Path, **values: Any) -> Settings:
    return load_settings(
        environ={}, tier="llm", model="openai/local", api_base=server.api_base,
        spool_dir=tmp_path / "spool", cache_path=str(tmp_path / "cache.sqlite"),
        prices=PRICES, progress=False, llm_max_retries=0, **values,
    )  # fmt: skip


def write_papers(path: Path, n: int) -> Path:
    """``n`` papers naming HST (science), one naming nothing a telescope (no call)."""
    rows = [{"bibcode": f"2024BAPI{i:04d}", "telescope": "HST", "body": SCIENCE.format(i=i)}
            for i in range(n)]  # fmt: skip
    rows.append({"bibcode": "2024NOTEL", "telescope": "HST", "body": "Nothing to see here."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_batch_goes_through_the_plan_into_the_store(
    store: Store, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    settings = settings_for(server, tmp_path, batch_max_requests=2)
    sub = submit_batch(store, [write_papers(tmp_path / "in.jsonl", 5)], (), settings,
                       batch_api=True)  # fmt: skip
    shown: list[tuple[int, list[str]]] = []

    def show(lines: list[str]) -> None:
        shown.append((len(server.requests), lines))

    plan = start_provider_batch(store, sub.batch_id, settings, show=show)
    assert [len(f.requests) for f in plan.files] == [2, 2, 1]
    assert shown[0][0] == 0 and "5 requests in 3 file(s)" in shown[0][1][0]  # before any call
    assert store.batch_progress(sub.batch_id).papers["done"] == 1  # the paper needing no call
    plan = advance_provider_batch(store, sub.batch_id, settings)  # all sent, polled once
    assert len(server.uploads()) == 3 and not any(f.collected for f in plan.files)
    plan = advance_provider_batch(store, sub.batch_id, settings)  # finished: collected
    assert all(f.collected for f in plan.files)
    progress = store.batch_progress(sub.batch_id)
    assert progress.papers["done"] == 6 and progress.pairs == 6 and progress.pairs_failed == 0
    assert store.get_batch(sub.batch_id).status == "done"
    results = {c.pair_id: c for c in store.iter_results(sub.batch_id)}
    assert results["2024BAPI0000_HST"].labels.science  # type: ignore[union-attr]
    assert "Batch API" in results["2024BAPI0000_HST"].reason
    assert results["2024NOTEL_HST"].labels.not_telescope  # type: ignore[union-attr]
    assert results["2024BAPI0000_HST"].usage.cost_usd is not None  # at Batch API prices
    advance_provider_batch(store, sub.batch_id, settings)
    assert len(server.uploads()) == 3 and len(server.batches_created()) == 3  # nothing twice


def test_days_under_the_daily_budget_and_a_resubmission_sends_nothing_twice(
    store: Store, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    now = [1_700_000_000.0]
    server.clock = lambda: now[0]
    probe = settings_for(server, tmp_path / "probe", batch_max_requests=1)
    probe_sub = submit_batch(store, [write_papers(tmp_path / "p.jsonl", 1)], (), probe,
                             batch_api=True)  # fmt: skip
    one_file = start_provider_batch(store, probe_sub.batch_id, probe).files[0].tokens
    settings = settings_for(server, tmp_path, batch_max_requests=1, batch_daily_tokens=one_file)
    data = write_papers(tmp_path / "in.jsonl", 3)
    sub = submit_batch(store, [data], (), settings, batch_api=True)
    plan = start_provider_batch(store, sub.batch_id, settings)
    assert [f.day for f in plan.files] == [0, 1, 2]
    for day in range(3):
        again = submit_batch(store, [data], (), settings, batch_api=True)
        assert again.batch_id == sub.batch_id and not again.created
        advance_provider_batch(store, sub.batch_id, settings, clock=lambda: now[0])
        assert len(server.uploads()) == day + 1
        now[0] += DAY
    advance_provider_batch(store, sub.batch_id, settings, clock=lambda: now[0])
    assert store.batch_progress(sub.batch_id).papers["done"] == 4


def test_batch_api_batches_need_the_llm_tier(store: Store, tmp_path: Path) -> None:
    settings = load_settings(environ={}, spool_dir=tmp_path / "spool", tier="rules")
    with pytest.raises(ConfigError, match="--batch-api needs --tier llm"):
        submit_batch(store, [write_papers(tmp_path / "in.jsonl", 1)], (), settings, batch_api=True)


def test_busy_plan_is_left_alone(store: Store, server: ScriptedLLMServer, tmp_path: Path) -> None:
    settings = settings_for(server, tmp_path)
    sub = submit_batch(store, [write_papers(tmp_path / "in.jsonl", 2)], (), settings,
                       batch_api=True)  # fmt: skip
    start_provider_batch(store, sub.batch_id, settings)
    path = plan_path(settings, store.get_batch(sub.batch_id))
    with lock_state(path), pytest.raises(ProviderBatchBusy):
        advance_provider_batch(store, sub.batch_id, settings)
    assert server.uploads() == []


@pytest.mark.services
def test_the_sweep_advances_batch_api_batches_and_never_queues_their_papers(
    store: Store, server: ScriptedLLMServer, tmp_path: Path
) -> None:
    settings = settings_for(server, tmp_path, broker_url="redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(settings.broker_url)
    client.flushdb()
    sub = submit_batch(store, [write_papers(tmp_path / "in.jsonl", 2)], (), settings,
                       batch_api=True)  # fmt: skip
    start_provider_batch(store, sub.batch_id, settings)
    app = make_app(settings)
    assert sweep_batches(app, store, client, settings) == 0  # nothing queued for workers
    assert not client.exists(queued_key(sub.batch_id)) and client.llen("celery") == 0
    assert len(server.uploads()) == 1  # but the plan went on: its file is sent
    sweep_batches(app, store, client, settings)
    assert store.get_batch(sub.batch_id).status == "done"
    plan = load_state(plan_path(settings, store.get_batch(sub.batch_id)))
    assert plan is not None and plan.finished and all(f.collected for f in plan.files)


def amc(server: ScriptedLLMServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
    env |= {
        "AMC_MODEL": "openai/local", "AMC_API_BASE": server.api_base,
        "AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'amc.sqlite3'}",
        "AMC_SPOOL_DIR": str(tmp_path / "spool"), "AMC_CACHE_PATH": str(tmp_path / "c.sqlite"),
        "AMC_PRICES": json.dumps(PRICES), "AMC_BATCH_MAX_REQUESTS": "2",
    }  # fmt: skip
    command = [sys.executable, "-m", "amc.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)  # fmt: skip


def test_amc_submit_batch_api_prints_the_plan_and_goes_on_when_run_again(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    data = str(write_papers(tmp_path / "in.jsonl", 3))
    first = amc(server, tmp_path, "submit", data, "--tier", "llm", "--batch-api")
    assert first.returncode == 0, first.stderr
    batch_id = first.stdout.strip()
    assert "3 requests in 2 file(s)" in first.stderr and "goes out now" in first.stderr
    assert "run the same command again" in first.stderr
    second = amc(server, tmp_path, "submit", data, "--tier", "llm", "--batch-api")
    assert second.returncode == 0 and second.stdout.strip() == batch_id
    assert "4 of 4 papers done" in second.stderr
    status = amc(server, tmp_path, "status", batch_id, "--once")
    assert "done" in status.stdout and "batch_1: completed" in status.stdout
    out = tmp_path / "out.jsonl"
    assert amc(server, tmp_path, "results", batch_id, "-o", str(out)).returncode == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(r["error"] is None for r in rows)
    assert len(server.uploads()) == 2 and len(server.batches_created()) == 2
