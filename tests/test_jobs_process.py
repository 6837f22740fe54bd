"""Batches in embedded mode (``amc.batches``, ``amc run``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import Reply, ScriptedLLMServer
from sqlalchemy import func, select
from typer.testing import CliRunner

from amc.classify.llm import LLMUnavailableError
from amc.classify.stream import classify_papers
from amc.cli.main import app
from amc.domain.errors import InputError
from amc.domain.models import Classification, Pair
from amc.jobs.process import SAVE_AT_ONCE, process_paper, run_batch
from amc.jobs.spool import load_paper
from amc.jobs.submit import batch_settings, submit_batch
from amc.registry import load_registry
from amc.settings import Settings, load_settings
from amc.store import Store, open_store
from amc.store.schema import ClassificationRow
from workers.tasks import WorkerContext, run_papers

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
runner = CliRunner()
SCIENCE = "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    return load_settings(environ={}, spool_dir=tmp_path / "spool", progress=False, **values)


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def science_rows(n: int, telescope: str = "HST") -> list[dict[str, Any]]:
    return [
        {"bibcode": f"2024TEST{i:04d}", "telescope": telescope, "body": SCIENCE.format(i=i)}
        for i in range(n)
    ]


def labels_by_pair(results: list[Classification]) -> dict[str, dict[str, bool] | None]:
    return {c.pair_id: (c.labels.as_dict() if c.labels else None) for c in results}


def result_rows(store: Store, batch_id: str) -> int:
    with store.engine.connect() as conn:
        query = select(func.count()).select_from(ClassificationRow).filter_by(batch_id=batch_id)
        return int(conn.scalar(query) or 0)


# -- embedded runs ----------------------------------------------------------------------


def test_embedded_batch_gives_the_same_labels_as_classify(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    sub = submit_batch(store, [SAMPLE], (), settings)
    progress = run_batch(store, sub.batch_id, settings)
    direct = list(classify_papers([SAMPLE], load_registry(), settings))
    stored = list(store.iter_results(sub.batch_id))
    assert labels_by_pair(stored) == labels_by_pair(direct)
    assert progress.papers["done"] == sub.n_papers == len({c.bibcode for c in direct})
    assert progress.pairs == len(direct) and store.get_batch(sub.batch_id).status == "done"


def test_same_submission_twice_is_detected_and_not_redone(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = submit_batch(store, [SAMPLE], (), settings)
    run_batch(store, first.batch_id, settings)
    again = submit_batch(store, [SAMPLE], (), settings)
    saved: list[Any] = []
    run_batch(store, again.batch_id, settings, on_saved=lambda *a: saved.append(a))
    assert (again.batch_id, again.created, again.paper_ids) == (first.batch_id, False, [])
    assert saved == [] and len(store.list_batches()) == 1
    # a verdict-changing setting is a different submission
    other = submit_batch(store, [SAMPLE], (), make_settings(tmp_path, window_sentences=1))
    assert other.created and other.batch_id != first.batch_id
    # a new budget is not: the same batch goes on with it (a budget stop is resumed)
    richer = submit_batch(store, [SAMPLE], (), make_settings(tmp_path, max_cost_usd=9.0))
    assert richer.batch_id == first.batch_id
    stored = batch_settings(settings, store.get_batch(first.batch_id))
    assert stored.llm.max_cost_usd == 9.0


def test_a_paper_is_every_row_of_a_bibcode_across_files(store: Store, tmp_path: Path) -> None:
    hst = write_rows(tmp_path / "hst.jsonl", science_rows(3, "HST"))
    jwst = write_rows(tmp_path / "jwst.jsonl", science_rows(3, "JWST"))
    settings = make_settings(tmp_path)
    sub = submit_batch(store, [hst, jwst], (), settings)
    batch = store.get_batch(sub.batch_id)
    papers = store.pending_papers(sub.batch_id)
    items = load_paper(settings.spool_dir / batch.content_hash, papers[1])
    assert sub.n_papers == 3 and len(papers) == 3
    assert [i.pair_id for i in items] == ["2024TEST0001_HST", "2024TEST0001_JWST"]
    run_batch(store, sub.batch_id, settings)
    assert result_rows(store, sub.batch_id) == 6


def test_the_spool_holds_each_papers_text_once(store: Store, tmp_path: Path) -> None:
    body = SCIENCE.format(i=7) + " Later JWST spectra and Chandra images agree. " * 50
    rows = [{"bibcode": "2024SPOOL", "telescope": t, "body": body} for t in ("HST", "JWST")]
    rows.append({"bibcode": "2024SPOOL", "telescope": "CHANDRA", "body": body + " Erratum."})
    settings = make_settings(tmp_path)
    sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", rows)], (), settings)
    spool = settings.spool_dir / store.get_batch(sub.batch_id).content_hash
    text = (spool / "pairs.jsonl").read_text(encoding="utf-8")
    assert text.count("Later JWST spectra") == 2 * 50  # HST's text, and CHANDRA's other one
    [paper] = store.pending_papers(sub.batch_id)
    items = load_paper(spool, paper)
    assert [i.pair_id for i in items] == ["2024SPOOL_HST", "2024SPOOL_JWST", "2024SPOOL_CHANDRA"]
    papers = [i.paper for i in items if isinstance(i, Pair)]
    assert [p.body for p in papers] == [body, body, body + " Erratum."]
    assert [p.source.rsplit("=", 1)[1] for p in papers] == ["1", "2", "3"]  # each row's own
    progress = run_batch(store, sub.batch_id, settings)
    assert progress.pairs == 3 and progress.papers["done"] == 1


def test_bad_row_stops_the_submit_before_any_batch_exists(store: Store, tmp_path: Path) -> None:
    rows = [*science_rows(2), {"bibcode": "", "telescope": "HST", "body": "x"}]
    data = write_rows(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InputError, match=r"bad\.jsonl"):
        submit_batch(store, [data], (), make_settings(tmp_path))
    assert store.list_batches() == []
    settings = make_settings(tmp_path, skip_bad_rows=True)
    sub = submit_batch(store, [data], (), settings)
    run_batch(store, sub.batch_id, settings)
    errors = [c for c in store.iter_results(sub.batch_id) if c.error]
    assert len(errors) == 1 and errors[0].error is not None
    assert errors[0].error.kind == "input" and result_rows(store, sub.batch_id) == 3


def test_unreadable_paper_is_recorded_and_the_rest_go_on(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", science_rows(4))], (), settings)
    spool = settings.spool_dir / store.get_batch(sub.batch_id).content_hash / "pairs.jsonl"
    original = spool.read_bytes()
    spool.write_bytes(original[:-20])  # the last paper's line is cut short
    progress = run_batch(store, sub.batch_id, settings)
    failed = store.failed_papers(sub.batch_id)
    assert progress.papers == {"pending": 0, "running": 0, "done": 3, "failed": 1}
    assert failed[0].error_kind == "spool" and "spool_dir" in (failed[0].error_message or "")
    spool.write_bytes(original)
    assert store.reset_failed(sub.batch_id) == 1
    assert run_batch(store, sub.batch_id, settings).papers["done"] == 4


def test_an_interrupted_run_resumes_without_redoing_papers(store: Store, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm_chunk_pairs=2)
    n = 3 * SAVE_AT_ONCE
    sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", science_rows(n))], (), settings)

    def stop_after_four(paper: Any, saved: Any) -> None:
        if len(list(store.iter_results(sub.batch_id))) >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(store, sub.batch_id, settings, on_saved=stop_after_four)
    papers = store.batch_progress(sub.batch_id).papers
    saved = result_rows(store, sub.batch_id)
    # the papers taken and not saved are given back: none is left running
    assert 4 <= saved < n and papers == {"pending": n - saved, "running": 0, "done": saved,
                                         "failed": 0}  # fmt: skip
    run_batch(store, sub.batch_id, settings)
    papers = [store.get_paper(pid) for pid in sub.paper_ids]
    assert {p.status for p in papers} == {"done"} and {p.attempts for p in papers} == {1}
    assert result_rows(store, sub.batch_id) == n


# -- the LLM tier and the shared limit ------------------------------------------------------


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


def llm_settings(tmp_path: Path, server: ScriptedLLMServer, **values: Any) -> Settings:
    return make_settings(
        tmp_path,
        tier="llm",
        model="openai/local",
        api_base=server.api_base,
        use_cache=False,
        llm_max_retries=0,
        **values,
    )


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired: list[tuple[int, int]] = []
        self.charged: list[int] = []

    def acquire(self, requests: int, tokens: int) -> float:
        self.acquired.append((requests, tokens))
        return 0.0

    def charge(self, tokens: int) -> None:
        self.charged.append(tokens)


def test_llm_calls_are_taken_from_the_limiter_first(
    tmp_path: Path, llm_server: ScriptedLLMServer
) -> None:
    settings = llm_settings(tmp_path, llm_server)
    sub_rows = science_rows(3)
    with open_store(tmp_path / "amc.db") as store:
        sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", sub_rows)], (), settings)
        limiter = RecordingLimiter()
        outcomes = [process_paper(store, pid, settings, limiter) for pid in sub.paper_ids]
        results = list(store.iter_results(sub.batch_id))
    assert outcomes == ["done"] * 3 and len(llm_server.chat_requests) == 3
    assert [r for r, _ in limiter.acquired] == [1, 1, 1]
    assert all(tokens > 50 for _, tokens in limiter.acquired)
    assert all(c.tier == "llm" and c.labels and c.labels.science for c in results)


def test_each_llm_call_is_recorded_with_its_tokens_and_cost(
    tmp_path: Path, llm_server: ScriptedLLMServer
) -> None:
    prices = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
    settings = llm_settings(tmp_path, llm_server, prices=prices)
    with open_store(tmp_path / "amc.db") as store:
        sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", science_rows(3))], (), settings)
        run_batch(store, sub.batch_id, settings)
        calls, tokens, cost = store.llm_call_totals(sub.batch_id)
        results = list(store.iter_results(sub.batch_id))
    assert calls == len(llm_server.chat_requests) == 3
    assert tokens == sum(c.usage.prompt_tokens + c.usage.completion_tokens for c in results)
    assert cost == pytest.approx(sum(c.usage.cost_usd or 0.0 for c in results)) and cost > 0


def test_provider_down_fails_the_papers_and_stops_the_run(
    tmp_path: Path, llm_server: ScriptedLLMServer
) -> None:
    llm_server.script(*[Reply.server_error(401, "invalid api key")] * 20)
    settings = llm_settings(tmp_path, llm_server)
    with open_store(tmp_path / "amc.db") as store:
        sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", science_rows(2))], (), settings)
        with pytest.raises(Exception, match=r"(?i)key") as stopped:
            run_batch(store, sub.batch_id, settings)
        failed = store.failed_papers(sub.batch_id)
    assert hasattr(stopped.value, "completed")
    assert len(failed) == 2 and failed[0].error_kind == getattr(stopped.value, "kind", None)


def test_a_stopped_run_records_every_pair_and_running_it_again_resumes(
    tmp_path: Path, llm_server: ScriptedLLMServer
) -> None:
    """The breaker opens after two answers: every pair still has a row (the unfinished ones
    as errors of a resumable kind, their papers failed with it, none left running), and
    the next run_batch redoes exactly those papers."""
    llm_server.script(Reply(), Reply(), *[Reply.server_error(500)] * 50)
    settings = llm_settings(tmp_path, llm_server, llm_max_consecutive_failures=3,
                            llm_concurrency=1)  # fmt: skip
    n = 12
    with open_store(tmp_path / "amc.db") as store:
        sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", science_rows(n))], (), settings)
        with pytest.raises(LLMUnavailableError, match="3 requests in a row"):
            run_batch(store, sub.batch_id, settings)
        results = list(store.iter_results(sub.batch_id))
        papers = store.batch_progress(sub.batch_id).papers
        assert len(llm_server.chat_requests) == 5  # 2 answers + 3 failures, then nothing
        assert sorted(c.pair_id for c in results) == sorted(
            f"2024TEST{i:04d}_HST" for i in range(n)
        )
        kinds = sorted(c.error.kind for c in results if c.error)
        assert kinds == ["llm_request"] * 2 + ["llm_unavailable"] * (n - 4)
        assert papers == {"pending": 0, "running": 0, "done": 2, "failed": n - 2}
        llm_server.reset()
        progress = run_batch(store, sub.batch_id, settings)
        assert progress.papers["done"] == n and progress.pairs_failed == 0
        assert len(llm_server.chat_requests) == n - 2  # the two finished were not redone


def test_papers_held_by_a_dead_process_are_taken_back_by_the_next_run(
    store: Store, tmp_path: Path
) -> None:
    """``kill -9`` leaves claimed papers running; the next run on this host sees their
    owner is dead and does them now, not after the lease."""
    import subprocess
    import sys

    settings = make_settings(tmp_path)
    sub = submit_batch(store, [write_rows(tmp_path / "p.jsonl", science_rows(6))], (), settings)
    code = "from amc.jobs.owners import this_process; print(this_process())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()  # fmt: skip
    store.claim_papers(sub.paper_ids[:4], owner=dead)
    store.claim_papers(sub.paper_ids[4:5], owner="another-host/1/1")  # left to the lease
    progress = run_batch(store, sub.batch_id, settings)
    assert progress.papers == {"pending": 0, "running": 1, "done": 5, "failed": 0}


# -- the CLI ------------------------------------------------------------------------------


def test_cli_run_status_results_and_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AMC_HOME", str(tmp_path / "home"))  # the default store and spool
    ran = runner.invoke(app, ["run", str(SAMPLE), "-o", "out.csv", "--no-progress"])
    assert ran.exit_code == 0, ran.output
    batch_id = ran.output.split("batch ", 1)[1].split(":")[0]
    assert (tmp_path / "home" / "amc.sqlite3").is_file() and "cell macro-F1" in ran.output
    status = runner.invoke(app, ["status", batch_id, "--once"])
    assert "done 37" in status.output and "57 saved, 0 failed" in status.output
    listed = runner.invoke(app, ["status"])
    assert batch_id in listed.output and "done" in listed.output
    kaggle = runner.invoke(app, ["results", batch_id, "--format", "kaggle", "-o", "sub.csv"])
    lines = (tmp_path / "sub.csv").read_text().splitlines()
    assert (
        kaggle.exit_code == 0
        and lines[0] == "Id,telescope,science,instrumentation,mention,not_telescope"
        and len(lines) == 58
    )
    retry = runner.invoke(app, ["retry", batch_id, "--failed", "--embedded"])
    assert retry.exit_code == 0 and "0 papers re-run" in retry.output


def test_unknown_batch_is_a_one_line_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'amc.db'}", "PATH": "/usr/bin:/bin"}
    open_store(env["AMC_DATABASE_URL"]).close()  # a store, without that batch
    done = subprocess.run(
        [sys.executable, "-m", "amc.cli", "status", "nosuchbatch"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("amc: error: no batch 'nosuchbatch'")


@pytest.mark.parametrize(
    "command", ["submit", "status", "results", "retry", "run", "worker", "beat"]
)
def test_every_batch_command_has_help_with_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_tasks_close_their_batch_without_counting_it_after_every_task(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker checks after every task whether its batch is finished. Counting the whole
    batch each time (papers by state, sums over every result) grew with the batch: 2,500
    tasks of a 20,000-pair batch counted it 2,500 times. One indexed lookup while papers
    remain; the count once, when the last paper is saved."""
    settings = make_settings(tmp_path)
    data = write_rows(tmp_path / "in.jsonl", science_rows(6))
    sub = submit_batch(store, [data], (), settings)
    counted: list[str] = []
    real = store.batch_progress
    monkeypatch.setattr(store, "batch_progress", lambda b: counted.append(b) or real(b))
    context = WorkerContext(settings)
    context._store, context._pid = store, os.getpid()  # the test's store, not a new one
    for paper_id in sub.paper_ids:  # one task per paper, as a worker would run them
        run_papers(context, sub.batch_id, [paper_id])
        assert store.has_unfinished_papers(sub.batch_id) == (paper_id != sub.paper_ids[-1])
    assert store.get_batch(sub.batch_id).status == "done"
    assert len(counted) == 1  # when the last one was saved
