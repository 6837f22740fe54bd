"""`amc classify` with the LLM and cascade tiers, against the scripted server over HTTP."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import Reply, ScriptedLLMServer

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
PRICES = json.dumps({"openai/local": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}})


def amc(server: ScriptedLLMServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return amc_command(server, tmp_path, "classify", *args)


def amc_command(
    server: ScriptedLLMServer, tmp_path: Path, command: str, *args: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")} | extra_env
    env.update(
        {
            "AMC_MODEL": "openai/local",
            "AMC_API_BASE": server.api_base,
            "AMC_PRICES": PRICES,
            "AMC_CACHE_PATH": str(tmp_path / "cache.sqlite"),
            "AMC_LLM_BACKOFF_S": "0.01",
            "AMC_LLM_MAX_RETRIES": "1",
            "AMC_LLM_MAX_CONSECUTIVE_FAILURES": "3",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "amc.cli", command, *args],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip


def sample_subset(tmp_path: Path, n: int) -> Path:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "subset.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def chat_requests(server: ScriptedLLMServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


def test_llm_tier_classifies_records_cost_and_reruns_from_cache(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    data = sample_subset(tmp_path, 12)
    first = amc(server, tmp_path, str(data), "--tier", "llm", "-o", "out.jsonl")
    assert first.returncode == 0, first.stderr
    records = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(records) == 12
    called = [r for r in records if r["usage"]["calls"]]
    assert called and all(r["tier"] == "llm" and r["model"] == "openai/local" for r in called)
    assert all(r["prompt_hash"] and r["usage"]["cost_usd"] > 0 for r in called)
    for r in called:  # every call is logged with its own tokens, cost and latency
        log = r["usage"]["call_log"]
        assert len(log) == r["usage"]["calls"] and all(c["latency_s"] > 0 for c in log)
        assert sum(c["prompt_tokens"] for c in log) == r["usage"]["prompt_tokens"]
    assert chat_requests(server) == sum(r["usage"]["calls"] for r in records)
    assert "LLM: " in first.stderr and "cost $" in first.stderr
    before = chat_requests(server)
    again = amc(server, tmp_path, str(data), "--tier", "llm", "-o", "again.jsonl")
    assert again.returncode == 0, again.stderr
    assert chat_requests(server) == before  # every answer came from the cache
    no_cache = amc(server, tmp_path, str(data), "--tier", "llm", "--no-cache", "-o", "x.csv")
    assert no_cache.returncode == 0 and chat_requests(server) > before


def test_dry_run_estimates_and_calls_nothing(server: ScriptedLLMServer, tmp_path: Path) -> None:
    result = amc(server, tmp_path, str(SAMPLE), "--tier", "llm", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stderr and "LLM calls" in result.stderr and "$" in result.stderr
    assert server.requests == []


def test_cascade_sends_only_unsure_pairs(server: ScriptedLLMServer, tmp_path: Path) -> None:
    result = amc(server, tmp_path, str(SAMPLE), "--tier", "cascade", "-o", "out.csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    tiers = [r["tier"] for r in rows]
    assert 0 < tiers.count("llm") < len(rows)
    assert chat_requests(server) <= tiers.count("llm")
    assert "pairs decided without an LLM call" in result.stderr


def test_provider_outage_stops_cleanly_keeps_finished_pairs_and_resumes(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    data = sample_subset(tmp_path, 10)
    server.script(Reply(), Reply())  # two normal answers, then an outage
    server.script(*[Reply.server_error(503) for _ in range(50)])
    stopped = amc(server, tmp_path, str(data), "--tier", "llm", "-o", "out.jsonl",
                  "--skip-bad-rows")  # fmt: skip
    assert stopped.returncode == 4  # stopped early, resumable
    assert "Traceback" not in stopped.stderr
    assert "to resume, run the same command again: amc classify" in stopped.stderr
    kept = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(kept) == 10  # every pair, the unfinished ones as error rows
    assert 1 <= sum(not r["error"] for r in kept) < 10
    server.reset()
    resumed = amc(server, tmp_path, str(data), "--tier", "llm", "-o", "out.jsonl")
    assert resumed.returncode == 0, resumed.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 10
    # the answers received before the outage were not asked for again
    assert chat_requests(server) < 10


CACHED_PRICES = json.dumps(
    {"openai/local": {"input_per_mtok": 0.4, "cached_input_per_mtok": 0.1, "output_per_mtok": 1.6}}
)


def test_summary_and_dry_run_report_the_cached_share_and_dollars_per_1000_pairs(
    tmp_path: Path,
) -> None:
    data = sample_subset(tmp_path, 20)
    with ScriptedLLMServer(provider=True) as provider:
        dry = amc_command(provider, tmp_path, "classify", str(data), "--tier", "llm", "--dry-run",
                          AMC_PRICES=CACHED_PRICES)  # fmt: skip
        run = amc_command(provider, tmp_path, "classify", str(data), "--tier", "llm", "-o",
                          "out.jsonl", "--no-cache", AMC_PRICES=CACHED_PRICES)  # fmt: skip
        billed = dict(provider.billed)
    assert dry.returncode == 0 and run.returncode == 0, dry.stderr + run.stderr
    estimate = re.search(
        r"~(\d+)% from the provider's prompt cache\).*\(\$([\d.]+) per 1,000 pairs", dry.stderr
    )
    summary = re.search(
        r"\((\d+)% of prompt tokens cached\), cost \$[\d.]+ \(\$([\d.]+) per 1,000 pairs",
        run.stderr,
    )
    assert estimate and summary, dry.stderr + run.stderr
    share = round(100 * billed["cached_tokens"] / billed["prompt_tokens"])
    assert int(summary[1]) == share > 40 and abs(int(estimate[1]) - share) <= 10
    assert float(estimate[2]) == pytest.approx(float(summary[2]), rel=0.2)
    assert re.search(r"prompt tokens per pair: median [\d,]+, p90 [\d,]+, max", run.stderr)


def test_calibrate_then_cascade_with_the_calibration(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm = amc(server, tmp_path, str(SAMPLE), "--tier", "llm", "-o", "llm.jsonl")
    assert llm.returncode == 0, llm.stderr
    options = ["--verdicts", "llm.jsonl", "--target", "0.9", "--folds", "3", "--out", "cal.json"]
    calibrated = amc_command(server, tmp_path, "calibrate", "--data", str(SAMPLE), *options)
    assert calibrated.returncode == 0, calibrated.stderr
    assert (
        "decided without a call" in calibrated.stderr
        and "AMC_CASCADE_CALIBRATION" in calibrated.stderr
    )
    calibration = json.loads((tmp_path / "cal.json").read_text())
    assert calibration["tier"] == "rules" and calibration["reference"].startswith("LLM verdicts")
    server.reset()
    use = {"AMC_CASCADE_CALIBRATION": str(tmp_path / "cal.json")}
    cascade = amc_command(server, tmp_path, "classify", str(SAMPLE), "--tier", "cascade", "-o",
                          "out.csv", "--no-cache", **use)  # fmt: skip
    assert cascade.returncode == 0, cascade.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert chat_requests(server) == [r["tier"] for r in rows].count("llm")
    broken = amc_command(server, tmp_path, "classify", str(SAMPLE), "--tier", "cascade",
                         AMC_CASCADE_CALIBRATION=str(tmp_path / "llm.jsonl"))  # fmt: skip
    assert (
        broken.returncode == 2
        and "amc calibrate" in broken.stderr
        and "Traceback" not in broken.stderr
    )
