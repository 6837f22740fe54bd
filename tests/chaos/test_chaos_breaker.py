"""Issue points 2, 4 and 8: the failure breaker stops the work already queued (exit 4),
its advice to run the same command again is true, and nothing finished is lost.

The fault server answers 500 to everything (or after a few good answers); the
breaker threshold is 10, 8 requests in flight, no retries.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from chaos_support import (
    Amc,
    batch_id_from,
    duplicates,
    llm_args,
    no_traceback,
    only_batch_id,
    read_csv,
    read_jsonl,
    tail,
    write_papers,
)
from fault_server import Fault, FaultServer

THRESHOLD = 10
CONCURRENCY = 8
BREAKER_ENV = {
    "AMC_LLM_MAX_CONSECUTIVE_FAILURES": str(THRESHOLD),
    "AMC_LLM_CONCURRENCY": str(CONCURRENCY),
    "AMC_LLM_MAX_RETRIES": "0",
    "AMC_LLM_BACKOFF_S": "0",
}

pytestmark = pytest.mark.timeout(240)


def _always_500(request: dict[str, Any]) -> Fault:
    return Fault.http(500, "the provider is down")


def _good_then_500(good: int) -> Any:
    """The first ``good`` requests get normal answers, every later one a 500."""
    counter = itertools.count()
    lock = threading.Lock()

    def rule(request: dict[str, Any]) -> Fault | None:
        with lock:
            n = next(counter)
        return None if n < good else Fault.http(500, "the provider is down")

    return rule


def _says_resume(stderr: str, command: str) -> bool:
    """The stop message names the way to resume: the same command, or the exact one."""
    text = stderr.lower()
    return "same command" in text or f"amc {command}" in text


@pytest.mark.parametrize("command", ["classify", "run"])
def test_breaker_stops_the_work_already_queued(amc: Amc, stub: FaultServer, command: str) -> None:
    """With every request failing, at most threshold + in-flight requests go out before
    the run stops (today: every queued pair is still sent); exit 4, resumable."""
    data = amc.root / "papers.jsonl"
    write_papers(data, 120)
    stub.fault = _always_500
    stub.latency_s = 0.05
    out = "out.csv"
    result = amc(command, data, "-o", out, *llm_args(stub.api_base), **BREAKER_ENV)
    assert stub.requests <= THRESHOLD + CONCURRENCY, (
        f"{stub.requests} requests went out after the breaker's threshold of {THRESHOLD} "
        f"with {CONCURRENCY} in flight"
    )
    assert result.returncode == 4, (result.returncode, tail(result.stderr))
    assert no_traceback(result.stderr)
    assert _says_resume(result.stderr, command), tail(result.stderr)


def test_run_stopped_by_the_breaker_lists_every_pair_and_resumes(
    amc: Amc, stub: FaultServer
) -> None:
    """``amc run`` stopped by the breaker: right after the stop the output file and
    ``amc results`` hold every pair (the unfinished ones as error rows); the same command
    against the healed provider finishes every pair once and exits 0."""
    data = amc.root / "papers.jsonl"
    pair_ids = write_papers(data, 40)
    stub.fault = _good_then_500(6)
    args = ["run", data, "-o", "results.csv", *llm_args(stub.api_base)]
    stopped = amc(*args, **BREAKER_ENV)
    assert stopped.returncode == 4, (stopped.returncode, tail(stopped.stderr))
    assert no_traceback(stopped.stderr)
    assert _says_resume(stopped.stderr, "run"), tail(stopped.stderr)
    batch_id = batch_id_from(stopped.stderr) or only_batch_id(amc.db)

    # before healing: every pair is listed, the unfinished ones as error rows
    exported = amc("results", batch_id, "-o", "after_stop.csv")
    assert exported.returncode == 0, exported.stderr
    for name in ("after_stop.csv", "results.csv"):
        path = amc.root / name
        assert path.exists(), f"{name} was not written by the stopped run"
        rows = read_csv(path)
        ids = [r["Id"] for r in rows]
        assert duplicates(ids) == [] and sorted(ids) == sorted(pair_ids), (
            f"{name}: {len(set(ids))} of {len(pair_ids)} pairs after the stop"
        )
        failed = [r for r in rows if r["error_kind"]]
        verdicts = [r for r in rows if not r["error_kind"]]
        assert failed, f"{name}: no error rows although the run stopped"
        assert all(r["science"] in ("", "None") for r in failed), "failed pairs have labels"
        assert len(verdicts) <= 6

    # healed: the same command resumes and finishes every pair
    stub.heal()
    stub.clear()
    resumed = amc(*args, **BREAKER_ENV)
    assert resumed.returncode == 0, (resumed.returncode, tail(resumed.stderr))
    assert stub.requests > 0, "the rerun did nothing (no request for the unfinished pairs)"
    exported = amc("results", batch_id, "-o", "final.csv")
    assert exported.returncode == 0, exported.stderr
    for name in ("final.csv", "results.csv"):
        rows = read_csv(amc.root / name)
        ids = [r["Id"] for r in rows]
        assert duplicates(ids) == [] and sorted(ids) == sorted(pair_ids), name
        assert [r["Id"] for r in rows if r["error_kind"]] == [], f"{name}: error rows remain"


def test_classify_stopped_by_the_breaker_resumes_without_paying_twice(
    amc: Amc, stub: FaultServer
) -> None:
    """``amc classify`` stopped by the breaker exits 4 and says how to resume; the same
    command against the healed provider finishes every pair once, and no question
    answered before the stop is asked again."""
    data = amc.root / "papers.jsonl"
    pair_ids = write_papers(data, 30)
    stub.fault = _good_then_500(5)
    args = ["classify", data, "-o", "out.jsonl", *llm_args(stub.api_base)]
    stopped = amc(*args, **BREAKER_ENV)
    assert stopped.returncode == 4, (stopped.returncode, tail(stopped.stderr))
    assert _says_resume(stopped.stderr, "classify"), tail(stopped.stderr)
    paid = {e.key for e in stub.entries() if e.answered}
    assert len(paid) == 5

    stub.heal()
    stub.clear()
    resumed = amc(*args, **BREAKER_ENV)
    assert resumed.returncode == 0, (resumed.returncode, tail(resumed.stderr))
    asked_again = paid & {e.key for e in stub.entries()}
    assert not asked_again, f"{len(asked_again)} paid answers were asked for again"
    records = read_jsonl(amc.root / "out.jsonl")
    ids = [r["pair_id"] for r in records]
    assert duplicates(ids) == [] and sorted(ids) == sorted(pair_ids)
    assert all(not r.get("error") for r in records)
