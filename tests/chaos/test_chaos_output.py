"""Issue point 9: an existing output file is never destroyed by a failed run.

``keep.csv`` holds known bytes; a run with an unknown telescope, a missing input or
one interrupted with SIGINT mid-run, all writing to ``-o keep.csv``, must leave it
byte-identical (a partial result may be kept beside it under another name).
"""

from __future__ import annotations

import signal

import pytest
from chaos_support import Amc, llm_args, no_traceback, tail, write_papers
from fault_server import FaultServer

KEEP = (
    b"Id,telescope,science,instrumentation,mention,not_telescope\n"
    b"X_HST,HST,True,False,False,False\n"
)

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("command", ["classify", "run"])
@pytest.mark.parametrize("problem", ["unknown-telescope", "missing-input"])
def test_a_run_that_cannot_start_leaves_the_output_untouched(
    amc: Amc, command: str, problem: str
) -> None:
    """``-t FOO`` (no such telescope) or a missing input path: exit 2 with one error line
    and keep.csv byte-identical (today ``amc classify`` truncates it to 0 bytes)."""
    data = amc.root / "papers.jsonl"
    write_papers(data, 3)
    keep = amc.root / "keep.csv"
    keep.write_bytes(KEEP)
    if problem == "unknown-telescope":
        args = [command, data, "-t", "FOO", "-o", keep]
    else:
        args = [command, amc.root / "no-such-file.jsonl", "-o", keep]
    result = amc(*args)
    assert keep.read_bytes() == KEEP, f"keep.csv is now {keep.stat().st_size} bytes"
    assert result.returncode == 2, (result.returncode, tail(result.stderr))
    assert "amc: error:" in result.stderr and no_traceback(result.stderr)


@pytest.mark.slow
def test_an_interrupted_classify_leaves_the_output_untouched(amc: Amc, stub: FaultServer) -> None:
    """SIGINT in the middle of an LLM ``amc classify -o keep.csv``: exit 130 and keep.csv
    byte-identical (today it holds the pairs finished so far, its old content lost)."""
    data = amc.root / "papers.jsonl"
    write_papers(data, 40)
    keep = amc.root / "keep.csv"
    keep.write_bytes(KEEP)
    stub.latency_s = 0.4
    running = amc.start("classify", data, "-o", keep, *llm_args(stub.api_base),
                        AMC_LLM_CONCURRENCY="4")  # fmt: skip
    assert stub.wait_for(lambda: stub.answered >= 8, timeout_s=90) and running.alive, tail(
        running.stderr
    )
    running.signal(signal.SIGINT)
    code = running.wait(timeout=60)
    assert keep.read_bytes() == KEEP, f"keep.csv is now {keep.stat().st_size} bytes"
    assert code == 130, (code, tail(running.stderr))
