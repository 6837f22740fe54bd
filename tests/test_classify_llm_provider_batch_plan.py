"""Large Batch API runs: a plan of files within the provider's limits, sent in order as
their day comes under the daily token budget, resumable across days and restarts, and
never uploading a file or creating a batch twice, against the scripted server's files
and batches endpoints (with its limits, lost answers and failures)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import ScriptedLLMServer

from amc.classify.llm import LLMRequestError
from amc.classify.llm.provider.batches import ProviderBatchClient
from amc.classify.llm.provider_batch import (
    advance,
    advance_until_finished,
    classify_with_provider_batch,
    collect_provider_batch,
    ensure_plan,
    lines_digest,
    run_provider_batch,
    submit_provider_batch,
)
from amc.classify.llm.provider_batch.collect import Collector
from amc.classify.llm.provider_batch.plan import Unit, make_plan
from amc.classify.llm.provider_batch.state import (
    ProviderBatchBusy,
    files_folder,
    load_state,
    lock_state,
)
from amc.domain.models import Pair, Paper
from amc.registry import Registry
from amc.settings import load_settings
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

PRICE = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
BODY = (
    "Our targets were selected from the literature. We observed NGC {i} with the Hubble "
    "Space Telescope using WFC3 in program GO 12345. The images were reduced as usual."
)
DAY = 86_400.0


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(batch_polls_to_complete=2) as srv:
        yield srv


class Clock:
    """A clock the test moves on; ``sleep`` moves it too, so waiting takes no time."""

    def __init__(self, server: ScriptedLLMServer) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []
        server.clock = lambda: self.now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def config(server: ScriptedLLMServer, tmp_path: Path, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": "openai/local", "api_base": server.api_base, "prices": PRICE,
        "cache_path": tmp_path / "cache.sqlite", "max_retries": 0, "timeout_s": 5,
    }  # fmt: skip
    return LLMSettings(**(values | kw))


def items(registry: Registry, n: int) -> list[Any]:
    out = []
    for i in range(n):
        paper = Paper(bibcode=f"P{i:03d}", title="A study of clusters", body=BODY.format(i=i))
        out.append((Pair(paper=paper, telescope="HST"), find_snippets(paper, registry.get("HST"))))
    return out


def uploaded(server: ScriptedLLMServer) -> list[list[dict[str, Any]]]:
    return [[json.loads(x) for x in data.splitlines()] for data in server.uploads()]


def file_tokens(registry: Registry, cfg: LLMSettings, tmp_path: Path) -> int:
    """The planned tokens of a one-request file (all requests here are alike)."""
    plan = make_plan([Unit(items(registry, 1))], tmp_path / "probe.json", registry, cfg)
    return plan.files[0].tokens


def test_over_the_line_limit_the_batch_is_split_into_files_sent_in_order(
    server, registry, tmp_path
) -> None:
    cfg = config(server, tmp_path, batch_max_requests=3)
    pairs = items(registry, 7)
    results = run_provider_batch(pairs, registry, cfg, tmp_path / "b.json", sleep=lambda s: None)
    assert [r.pair_id for r in results] == [f"P{i:03d}_HST" for i in range(7)]
    assert all(r.ok and r.labels and r.labels.science for r in results)
    sent = uploaded(server)
    assert [[line["custom_id"] for line in f] for f in sent] == [
        ["P000_HST", "P001_HST", "P002_HST"], ["P003_HST", "P004_HST", "P005_HST"], ["P006_HST"]
    ]  # fmt: skip
    batches = server.batches_created()
    assert [b["metadata"]["amc_part"] for b in batches] == ["1", "2", "3"]
    assert [b["input_file_id"] for b in batches] == ["file-1", "file-2", "file-3"]
    plan = load_state(tmp_path / "b.json")
    assert plan is not None and [len(f.requests) for f in plan.files] == [3, 3, 1]
    # each file's JSONL is kept, byte for byte what was sent
    folder = files_folder(tmp_path / "b.json")
    assert [(folder / f.name).read_bytes() for f in plan.files] == server.uploads()


def test_files_are_cut_within_the_byte_limit(server, registry, tmp_path) -> None:
    probe = make_plan([Unit(items(registry, 1))], tmp_path / "p.json", registry,
                      config(server, tmp_path))  # fmt: skip
    limit = int(probe.files[0].bytes * 2.5)  # two lines fit, three do not
    server.max_file_bytes = limit  # the provider refuses a larger file
    cfg = config(server, tmp_path, batch_max_bytes=limit)
    results = run_provider_batch(items(registry, 5), registry, cfg, tmp_path / "b.json",
                                 sleep=lambda s: None)  # fmt: skip
    assert all(r.ok for r in results)
    assert [len(f) for f in uploaded(server)] == [2, 2, 1]
    assert all(len(data) <= limit for data in server.uploads())


def test_days_follow_the_daily_token_budget_and_a_later_run_sends_the_rest(
    server, registry, tmp_path
) -> None:
    clock, state = Clock(server), tmp_path / "b.json"
    budget = 2 * file_tokens(registry, config(server, tmp_path), tmp_path)
    cfg = config(server, tmp_path, batch_max_requests=1, batch_daily_tokens=budget)
    pairs = items(registry, 5)
    plan = submit_provider_batch(pairs, registry, cfg, state, clock=clock)
    assert [f.day for f in plan.files] == [0, 0, 1, 1, 2]
    assert len(server.uploads()) == 2 and len(server.batches_created()) == 2  # day 1 only
    clock.now += 3600  # an hour later: still day 1, nothing more goes out
    assert [f.batch_id for f in advance(state, cfg, clock=clock).files][2:] == [None] * 3
    clock.now += DAY  # the next day
    advance(state, cfg, clock=clock)
    assert len(server.uploads()) == 4 and len(server.batches_created()) == 4
    clock.now += DAY
    plan = advance_until_finished(state, cfg, interval_s=60, clock=clock, sleep=clock.sleep)
    assert plan.finished and len(server.uploads()) == 5 and len(server.batches_created()) == 5
    results = collect_provider_batch(state, pairs, registry, cfg)
    assert all(r.ok for r in results)
    sent_days = [b["created_at"] for b in server.batches_created()]
    assert sent_days[2] - sent_days[0] >= DAY and sent_days[4] - sent_days[2] >= DAY


def test_waiting_runs_across_days_until_every_file_is_answered(server, registry, tmp_path) -> None:
    clock, state = Clock(server), tmp_path / "b.json"
    budget = file_tokens(registry, config(server, tmp_path), tmp_path)
    cfg = config(server, tmp_path, batch_max_requests=1, batch_daily_tokens=budget)
    results = run_provider_batch(items(registry, 3), registry, cfg, state, poll_interval_s=30,
                                 clock=clock, sleep=clock.sleep)  # fmt: skip
    assert all(r.ok for r in results)
    created = [b["created_at"] for b in server.batches_created()]
    assert len(created) == 3 and created[1] - created[0] >= DAY and created[2] - created[1] >= DAY
    assert max(clock.slept) <= 600  # polls back off to 10 minutes, never sleep a day at once


def test_the_plan_is_shown_before_anything_is_sent(server, registry, tmp_path) -> None:
    clock, shown = Clock(server), []
    budget = 2 * file_tokens(registry, config(server, tmp_path), tmp_path)
    settings = load_settings(
        environ={}, tier="llm", model="openai/local", api_base=server.api_base,
        cache_path=str(tmp_path / "c.sqlite"), prices=PRICE, batch_max_requests=1,
        batch_daily_tokens=budget,
    )  # fmt: skip
    pairs = [p for p, _ in items(registry, 3)]

    def show(lines: list[str]) -> None:
        shown.append((len(server.requests), lines))

    with pytest.raises(Exception, match="waiting for the daily token budget"):
        classify_with_provider_batch(lambda: pairs, registry, settings, tmp_path / "b.json",
                                     wait=False, show=show, clock=clock)  # fmt: skip
    [(requests_before, lines)] = shown
    assert requests_before == 0  # nothing sent, not even an upload
    table = "\n".join(lines)
    assert "3 requests in 3 file(s)" in table and "Batch API prices" in table
    files = lines[2:5]
    assert [line.split()[0] for line in files] == ["1", "2", "3"]
    assert all(line.endswith("day 1: goes out now") for line in files[:2])
    assert "day 2: goes out once the earlier days' files have" in files[2]
    requests, megabytes, prompt, answer, dollars = files[0].split()[1:6]
    assert requests == "1" and float(megabytes) >= 0 and int(answer.replace(",", "")) == 220
    assert int(prompt.replace(",", "")) > 100 and float(dollars) > 0


def test_a_lost_upload_answer_is_found_again_not_uploaded_twice(server, registry, tmp_path) -> None:
    cfg, state = config(server, tmp_path, batch_max_requests=2), tmp_path / "b.json"
    pairs = items(registry, 4)
    server.lose_uploads = 1  # the file is stored, the client hears HTTP 500
    with pytest.raises(LLMRequestError, match="upload"):
        submit_provider_batch(pairs, registry, cfg, state)
    assert load_state(state).files[0].status == "uploading"  # type: ignore[union-attr]
    results = run_provider_batch(pairs, registry, cfg, state, sleep=lambda s: None)
    assert all(r.ok for r in results)
    assert len(server.uploads()) == 2  # two files, each uploaded once
    assert len(server.paths("GET", "/files?purpose=batch")) == 1  # looked for once


def test_a_lost_create_answer_is_found_again_within_the_run(server, registry, tmp_path) -> None:
    cfg = config(server, tmp_path, batch_max_requests=2, max_retries=2, backoff_s=0)
    server.lose_batch_creates = 1  # the batch exists, the client hears HTTP 500
    results = run_provider_batch(items(registry, 4), registry, cfg, tmp_path / "b.json",
                                 sleep=lambda s: None)  # fmt: skip
    assert all(r.ok for r in results)
    assert len(server.batches_created()) == 2  # retried by looking first: no second batch
    assert len(server.paths("POST", "/batches")) == 2


def test_an_upload_failing_mid_plan_is_sent_on_the_next_run(server, registry, tmp_path) -> None:
    clock, state = Clock(server), tmp_path / "b.json"
    budget = file_tokens(registry, config(server, tmp_path), tmp_path)
    cfg = config(server, tmp_path, batch_max_requests=1, batch_daily_tokens=budget)
    pairs = items(registry, 3)
    submit_provider_batch(pairs, registry, cfg, state, clock=clock)  # day 1: file 1
    clock.now += DAY
    server.fail_uploads = 1  # day 2: the storage is down
    with pytest.raises(LLMRequestError, match="upload"):
        advance(state, cfg, clock=clock)
    clock.now += 600
    advance(state, cfg, clock=clock)  # the same day, later: file 2 goes out
    clock.now += DAY
    results = run_provider_batch(pairs, registry, cfg, state, clock=clock, sleep=clock.sleep)
    assert all(r.ok for r in results)
    assert len(server.uploads()) == 3 and len(server.batches_created()) == 3


def test_a_file_the_provider_refuses_fails_its_pairs_and_the_others_go_on(
    server, registry, tmp_path
) -> None:
    server.max_file_lines = 2  # the provider's limit is lower than the one configured
    cfg = config(server, tmp_path, batch_max_requests=3)
    results = run_provider_batch(items(registry, 4), registry, cfg, tmp_path / "b.json",
                                 sleep=lambda s: None)  # fmt: skip
    assert [r.ok for r in results] == [False, False, False, True]
    error = results[0].error
    assert error is not None and "ended failed" in error.message
    assert "too_many_requests" in error.message and "submit these pairs again" in error.message


def test_two_processes_never_advance_one_plan_at_once(server, registry, tmp_path) -> None:
    cfg, state = config(server, tmp_path), tmp_path / "b.json"
    units = lambda: iter([Unit(items(registry, 2))])  # noqa: E731
    ensure_plan(units, state, registry, cfg, lines_digest(units(), registry, cfg))
    with lock_state(state), pytest.raises(ProviderBatchBusy, match="another process"):
        advance(state, cfg)
    assert server.requests == []


def test_a_changed_input_is_refused_when_collecting(server, registry, tmp_path) -> None:
    cfg, state = config(server, tmp_path), tmp_path / "b.json"
    pairs = items(registry, 2)
    run_provider_batch(pairs, registry, cfg, state, sleep=lambda s: None)
    plan = load_state(state)
    assert plan is not None
    changed = config(server, tmp_path, max_snippets=1, max_output_tokens=100)
    with (
        Collector(plan, state, registry, changed) as collector,
        pytest.raises(Exception, match="not the one sent"),
    ):
        collector.results(Unit(pairs[:1]))


def test_a_state_file_of_an_earlier_amc_is_resumed(server, registry, tmp_path) -> None:
    """Version 1 kept one batch and no copy of its JSONL: it is read as a plan of one file."""
    cfg, pairs = config(server, tmp_path), items(registry, 2)
    scratch = make_plan([Unit(pairs)], tmp_path / "scratch.json", registry, cfg)
    data = (files_folder(tmp_path / "scratch.json") / scratch.files[0].name).read_bytes()
    client_state = submit_as_version_1(server, cfg, data, scratch)
    state = tmp_path / "old.json"
    state.write_text(json.dumps(client_state))
    results = run_provider_batch(pairs, registry, cfg, state, sleep=lambda s: None)
    assert all(r.ok for r in results)
    assert len(server.uploads()) == 1 and len(server.batches_created()) == 1


def submit_as_version_1(
    server: ScriptedLLMServer, cfg: LLMSettings, data: bytes, scratch: Any
) -> dict[str, Any]:
    client = ProviderBatchClient(cfg)
    file_id = client.upload(data, "amc-old.jsonl")
    batch = client.create(file_id, {"amc_input_sha256": scratch.input_sha256})
    return {
        "version": 1, "model": cfg.model, "input_sha256": scratch.input_sha256,
        "requests": scratch.files[0].requests, "input_file_id": file_id,
        "batch_id": batch["id"], "status": batch["status"], "created_at": batch["created_at"],
        "updated_at": "2025-01-01T00:00:00Z",
    }  # fmt: skip
