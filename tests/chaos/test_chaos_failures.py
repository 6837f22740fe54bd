"""Issue points 7 and 8: failed pairs never look like verdicts, and exit codes mean
something (0 all verdicts, 2 cannot run as asked, 3 some pairs failed).

Failures come from the fault server (an answer that is not JSON for every JWST
question, or for everything; 401 and 404 answers) or from an unreadable PDF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chaos_support import (
    Amc,
    llm_args,
    no_traceback,
    read_csv,
    tail,
    write_papers,
)
from fault_server import ConnectionCounter, Fault, FaultServer
from llm_answers import request_telescopes

pytestmark = pytest.mark.timeout(180)

NO_BREAKER = {
    "AMC_LLM_MAX_CONSECUTIVE_FAILURES": "1000",
    "AMC_LLM_MAX_RETRIES": "0",
    "AMC_LLM_CONCURRENCY": "4",
}


def _jwst_not_json(request: dict[str, Any]) -> Fault | None:
    return Fault.not_json() if "JWST" in request_telescopes(request) else None


def _kaggle_command(
    command: str, data: Path, stub: FaultServer
) -> tuple[list[Any], dict[str, str]]:
    if command == "eval submit":  # no --api-base flag: the environment says where
        env = {"AMC_MODEL": "openai/local", "AMC_API_BASE": stub.api_base}
        return ["eval", "submit", data, "-o", "sub.csv", "--tier", "llm"], env
    return [command, data, "--format", "kaggle", "-o", "sub.csv", *llm_args(stub.api_base)], {}


def _all_false(row: dict[str, str]) -> bool:
    labels = ("science", "instrumentation", "mention", "not_telescope")
    return all(row.get(k, "").strip().lower() in ("false", "0") for k in labels)


def _check_failed_pairs_visible(amc: Amc, stderr: str, failed: set[str]) -> None:
    """Not in sub.csv as all-False rows, named on stderr, listed in a side file."""
    sub = amc.root / "sub.csv"
    rows = read_csv(sub) if sub.exists() else []
    disguised = sorted(r["Id"] for r in rows if r["Id"] in failed and _all_false(r))
    assert disguised == [], f"failed pairs written as all-False verdicts: {disguised}"
    unnamed = sorted(i for i in failed if i not in stderr)
    assert unnamed == [], f"failed pairs not named on stderr: {unnamed}: {tail(stderr)}"
    sides = [
        p
        for p in amc.root.iterdir()
        if p.is_file() and p != sub and any(w in p.name.lower() for w in ("fail", "error"))
    ]
    listing = [p for p in sides if all(i in p.read_text(errors="replace") for i in failed)]
    assert listing, f"no side file beside sub.csv lists the failed pairs (found {sides})"


@pytest.mark.parametrize("command", ["classify", "run", "eval submit"])
def test_kaggle_output_never_disguises_llm_failures(
    amc: Amc, stub: FaultServer, command: str
) -> None:
    """Every JWST answer is not JSON: exit 3; the failed JWST Ids are not written as
    all-False rows (today they are), stderr names them, a side file lists them."""
    data = amc.root / "papers.jsonl"
    pair_ids = write_papers(data, 6, telescopes=("HST", "JWST"))
    failed = {i for i in pair_ids if i.endswith("_JWST")}
    stub.fault = _jwst_not_json
    args, env = _kaggle_command(command, data, stub)
    result = amc(*args, **NO_BREAKER, **env)
    assert no_traceback(result.stderr), tail(result.stderr)
    rows = read_csv(amc.root / "sub.csv") if (amc.root / "sub.csv").exists() else []
    good = {r["Id"] for r in rows} - failed
    assert good == set(pair_ids) - failed, "the pairs that got a verdict are missing"
    _check_failed_pairs_visible(amc, result.stderr, failed)
    assert result.returncode == 3, (result.returncode, tail(result.stderr))


def _folder_with_broken_pdf(root: Path) -> Path:
    folder = root / "papers"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "We observed NGC 4258 with the Hubble Space Telescope using WFC3/UVIS.", encoding="utf-8"
    )
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not")
    return folder


def test_kaggle_output_never_disguises_an_unreadable_pdf(amc: Amc) -> None:
    """Rules tier, a good text and a broken PDF: the CSV keeps the PDF's error row and
    exits 3; the Kaggle output does not write it as all-False, names it and lists it in
    a side file, and exits 3 (today 0 with an all-False row)."""
    folder = _folder_with_broken_pdf(amc.root)
    full = amc("classify", folder, "-o", "full.csv")
    rows = read_csv(amc.root / "full.csv")
    failed = {r["Id"] for r in rows if r["error_kind"]}
    assert failed, "the broken PDF left no error row in the CSV"
    assert full.returncode == 3, (full.returncode, tail(full.stderr))
    result = amc("classify", folder, "--format", "kaggle", "-o", "sub.csv")
    _check_failed_pairs_visible(amc, result.stderr, failed)
    assert result.returncode == 3, (result.returncode, tail(result.stderr))


@pytest.mark.parametrize("command", ["classify", "run"])
def test_every_pair_failing_exits_3_and_lists_them(
    amc: Amc, stub: FaultServer, command: str
) -> None:
    """6 pairs, every answer not JSON: exit 3 (today 0), error rows written, every failed
    pair id listed on stderr."""
    data = amc.root / "papers.jsonl"
    pair_ids = write_papers(data, 6)
    stub.fault = lambda request: Fault.not_json()
    result = amc(command, data, "-o", "out.csv", *llm_args(stub.api_base), **NO_BREAKER)
    rows = read_csv(amc.root / "out.csv")
    assert sorted(r["Id"] for r in rows if r["error_kind"]) == sorted(pair_ids)
    assert result.returncode == 3, (result.returncode, tail(result.stderr))
    unnamed = [i for i in pair_ids if i not in result.stderr]
    assert unnamed == [], f"failed pairs not listed on stderr: {unnamed}"


def _names_a_real_setting(stderr: str) -> bool:
    return any(name in stderr for name in ("OPENAI_API_KEY", "AMC_API_KEY", "--api-base"))


@pytest.mark.parametrize("command", ["classify", "run"])
@pytest.mark.parametrize("status", [401, 404])
def test_auth_and_model_errors_fail_fast_after_one_request(
    amc: Amc, stub: FaultServer, command: str, status: int
) -> None:
    """401 (bad key) or 404 (no such model): exit 2 after exactly one request, whatever
    the concurrency (8) and retries (4); one ``amc: error:`` line naming a setting that
    exists, never the non-existent --api-key."""
    data = amc.root / "papers.jsonl"
    write_papers(data, 20)
    message = "Incorrect API key provided" if status == 401 else "The model `local` does not exist"
    stub.fault = lambda request: Fault.http(status, message)
    stub.latency_s = 0.05
    result = amc(command, data, "-o", "out.csv", *llm_args(stub.api_base),
                 AMC_LLM_CONCURRENCY="8", AMC_LLM_MAX_RETRIES="4")  # fmt: skip
    seen = f"exit {result.returncode}, {stub.requests} requests; {tail(result.stderr)}"
    assert result.returncode == 2, seen
    assert "amc: error:" in result.stderr and no_traceback(result.stderr), seen
    assert "--api-key" not in result.stderr, seen
    assert _names_a_real_setting(result.stderr), seen
    assert stub.requests == 1, f"requests for a {status} that no retry fixes: {seen}"


@pytest.mark.parametrize("command", ["classify", "run"])
def test_missing_api_key_fails_before_any_request(amc: Amc, command: str) -> None:
    """``--model openai/gpt-4o-mini`` with no key and no --api-base: exit 2 with no
    connection anywhere (every proxy points at a counting sink), naming OPENAI_API_KEY
    and not --api-key (today: retried per pair, message suggests --api-key)."""
    data = amc.root / "papers.jsonl"
    write_papers(data, 4)
    with ConnectionCounter() as sink:
        proxies = {k: sink.url for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
        result = amc(command, data, "-o", "out.csv", "--tier", "llm",
                     "--model", "openai/gpt-4o-mini", NO_PROXY="", no_proxy="",
                     AMC_LLM_MAX_RETRIES="4", AMC_LLM_TIMEOUT_S="5", timeout=120,
                     **proxies)  # fmt: skip
        connections = sink.connections
    seen = f"exit {result.returncode}, {connections} connections; {tail(result.stderr)}"
    assert result.returncode == 2, seen
    assert "OPENAI_API_KEY" in result.stderr and "--api-key" not in result.stderr, seen
    assert "amc: error:" in result.stderr and no_traceback(result.stderr), seen
    assert connections == 0, f"connections attempted without a key: {seen}"
