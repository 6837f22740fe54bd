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
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
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
    assert json.loads((tmp_path / "state.json").read_text())["batch_id"]

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
