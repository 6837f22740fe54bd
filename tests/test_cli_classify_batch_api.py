"""`amc classify --tier llm --batch-api STATE`: submit, come back later, collect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(batch_polls_to_complete=2) as srv:
        yield srv


def amc(server: ScriptedLLMServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # the suite's autouse fixture cleared AMC_*; a test sets what it needs with monkeypatch
    env = dict(os.environ)
    env.update(
        {
            "AMC_MODEL": "openai/local",
            "AMC_API_BASE": server.api_base,
            "AMC_CACHE_PATH": str(tmp_path / "cache.sqlite"),
            "AMC_BATCH_POLL_S": "0.05",
        }
    )
    command = [sys.executable, "-m", "amc.cli", "classify", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)  # fmt: skip


def test_submit_without_waiting_then_collect(server: ScriptedLLMServer, tmp_path: Path) -> None:
    data = tmp_path / "subset.jsonl"
    data.write_text("".join(SAMPLE.read_text(encoding="utf-8").splitlines(True)[:8]))
    args = [str(data), "--tier", "llm", "--batch-api", "state.json", "-o", "out.jsonl"]
    submitted = amc(server, tmp_path, *args, "--no-wait")
    assert submitted.returncode == 0, submitted.stderr
    assert "still" in submitted.stderr and "state.json" in submitted.stderr
    assert not (tmp_path / "out.jsonl").exists()
    assert json.loads((tmp_path / "state.json").read_text())["files"][0]["batch_id"]

    collected = amc(server, tmp_path, *args)
    assert collected.returncode == 0, collected.stderr
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and all(r["error"] is None for r in rows)
    assert {r["tier"] for r in rows} == {"llm"}
    # one upload and one batch for the two runs: the second resumed from the state file
    assert len(server.paths("POST", "/files")) == 1
    assert len(server.paths("POST", "/batches")) == 1
    assert server.chat_requests == []  # no online call: everything went through the batch


def test_batch_api_needs_the_llm_tier(server: ScriptedLLMServer, tmp_path: Path) -> None:
    result = amc(server, tmp_path, str(SAMPLE), "--batch-api", "state.json")
    assert result.returncode == 2
    assert "--batch-api needs --tier llm" in result.stderr


def papers(tmp_path: Path, n: int) -> Path:
    """``n`` one-telescope papers (each a request of its own)."""
    body = "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."
    rows = [{"bibcode": f"2024CLI{i:04d}", "telescope": "HST", "body": body.format(i=i)}
            for i in range(n)]  # fmt: skip
    data = tmp_path / "papers.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return data


def test_the_plan_is_printed_before_anything_is_sent(
    server: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMC_BATCH_MAX_REQUESTS", "3")
    args = [str(papers(tmp_path, 8)), "--tier", "llm", "--batch-api", "state.json"]
    dry = amc(server, tmp_path, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert server.requests == [] and not (tmp_path / "state.json").exists()
    table = dry.stderr[dry.stderr.index("Batch API plan") :].splitlines()
    assert [line.split()[0] for line in table[2:5]] == ["1", "2", "3"]  # three files
    assert all("day 1: goes out now" in line for line in table[2:5])
    run = amc(server, tmp_path, *args, "-o", "out.jsonl")
    assert run.returncode == 0, run.stderr
    assert run.stderr.index("Batch API plan") < run.stderr.index("wrote")
    assert len(server.uploads()) == 3 and len(server.batches_created()) == 3
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and all(r["error"] is None for r in rows)


def test_files_past_the_daily_budget_wait_for_a_later_run(
    server: ScriptedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMC_BATCH_MAX_REQUESTS", "2")
    monkeypatch.setenv("AMC_BATCH_DAILY_TOKENS", "4000")  # one file of two requests a day
    args = [str(papers(tmp_path, 6)), "--tier", "llm", "--batch-api", "state.json", "--no-wait"]
    first = amc(server, tmp_path, *args)
    assert first.returncode == 0, first.stderr
    assert "day 2: goes out once the earlier days' files have" in first.stderr
    assert "waiting for the daily token budget" in first.stderr
    assert len(server.uploads()) == 1
    again = amc(server, tmp_path, *args)  # the same day: nothing more goes out
    assert again.returncode == 0 and len(server.uploads()) == 1
    state = json.loads((tmp_path / "state.json").read_text())
    assert [f["day"] for f in state["files"]] == [0, 1, 2]
