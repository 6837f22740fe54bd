"""Issue point 3: ``--max-cost`` is a hard ceiling, the stop message tells the true spend,
an unpriced model with a budget is refused, and paid answers are never lost.

The fault server reports the real token usage of each request (the prompt counted with
litellm's tokenizer, as amc counts it locally) and bills it at the price amc is given
(``AMC_PRICES``), so what the provider would charge is known independently of what amc
records. The price makes one call cost about $0.13 (worst case, with ``max_tokens`` of
output, about $0.20): the budget allows a handful of the 40 calls, never all of them.

Today the budget is only checked between chunks of ``AMC_LLM_CHUNK_PAIRS`` (256) pairs:
these 40 pairs all go out ($5.15 billed on $0.60, exit 0); with 300 pairs 256 go out
($32.97) and the stop message says "spent $1.0304".
"""

from __future__ import annotations

import json
import re

import pytest
from chaos_support import (
    Amc,
    batch_id_from,
    llm_args,
    no_traceback,
    only_batch_id,
    read_jsonl,
    record_cost,
    tail,
    write_papers,
)
from fault_server import FaultServer, tokenizer_usage

#: US dollars per million tokens, input and output
PRICE = (100.0, 100.0)
PRICES_ENV = json.dumps({"openai/local": {"input_per_mtok": PRICE[0], "output_per_mtok": PRICE[1]}})
BUDGET = 0.6
#: recorded and printed spends agree to this much (the message rounds)
ROUNDING = 0.01

pytestmark = pytest.mark.timeout(240)


def _priced(stub: FaultServer) -> None:
    stub.usage = tokenizer_usage("openai/local")
    stub.price = PRICE
    stub.latency_s = 0.2


def _printed_spend(stderr: str) -> list[float]:
    """Dollar amounts on the lines that talk about the budget or the spend."""
    amounts = []
    for line in stderr.splitlines():
        if re.search(r"budget|spent|spend|max.cost", line, re.I):
            amounts += [float(x) for x in re.findall(r"\$\s?([0-9]+(?:\.[0-9]+)?)", line)]
    return amounts


def test_classify_budget_is_a_hard_ceiling_and_paid_answers_are_kept(
    amc: Amc, stub: FaultServer
) -> None:
    """8 requests in flight, a budget of a few calls: what the provider bills and what
    amc records stay within the budget, the run exits 4 and its stop message states the
    true spend; every answer paid for is in the output or served from the cache on the
    rerun (a rerun with a larger budget asks none of them again)."""
    _priced(stub)
    data = amc.root / "papers.jsonl"
    pair_ids = write_papers(data, 40)
    env = {"AMC_PRICES": PRICES_ENV, "AMC_LLM_CONCURRENCY": "8"}
    args = ["classify", data, "-o", "out.jsonl", *llm_args(stub.api_base)]
    stopped = amc(*args, "--max-cost", str(BUDGET), **env)
    billed = stub.billed_usd()
    assert billed <= BUDGET, (
        f"the provider billed ${billed:.4f} on a ${BUDGET} budget ({stub.answered} answers)"
    )
    assert stopped.returncode == 4, (stopped.returncode, tail(stopped.stderr))
    assert no_traceback(stopped.stderr)
    records = read_jsonl(amc.root / "out.jsonl")
    recorded = sum(record_cost(r) for r in records)
    assert recorded <= min(BUDGET, billed) + 1e-9, f"recorded ${recorded:.4f}"
    printed = _printed_spend(stopped.stderr)
    assert any(abs(x - recorded) <= ROUNDING for x in printed if x != BUDGET), (
        f"the stop message does not state the spend ${recorded:.4f} recorded in the output "
        f"(billed ${billed:.4f}): {tail(stopped.stderr)}"
    )
    assert 0 < stub.answered < len(pair_ids)

    paid = {e.key for e in stub.entries() if e.answered}
    stub.clear()
    again = amc(*args, "--max-cost", "1000", **env)
    assert again.returncode == 0, (again.returncode, tail(again.stderr))
    asked_again = paid & {e.key for e in stub.entries()}
    assert not asked_again, f"{len(asked_again)} of {len(paid)} paid answers were lost"


def test_run_budget_is_a_hard_ceiling(amc: Amc, stub: FaultServer) -> None:
    """``amc run`` with AMC_MAX_COST_USD (``amc run`` has no --max-cost flag today): the
    provider bills at most the budget, the store records at most the budget, exit 4."""
    _priced(stub)
    data = amc.root / "papers.jsonl"
    write_papers(data, 40)
    env = {"AMC_PRICES": PRICES_ENV, "AMC_LLM_CONCURRENCY": "8", "AMC_MAX_COST_USD": str(BUDGET)}
    stopped = amc("run", data, "-o", "results.jsonl", *llm_args(stub.api_base), **env)
    billed = stub.billed_usd()
    assert billed <= BUDGET, f"the provider billed ${billed:.4f} on a ${BUDGET} budget"
    assert stopped.returncode == 4, (stopped.returncode, tail(stopped.stderr))
    batch_id = batch_id_from(stopped.stderr) or only_batch_id(amc.db)
    exported = amc("results", batch_id, "-o", "export.jsonl")
    assert exported.returncode == 0, exported.stderr
    recorded = sum(record_cost(r) for r in read_jsonl(amc.root / "export.jsonl"))
    assert recorded <= min(BUDGET, billed) + 1e-9, f"recorded ${recorded:.4f}"
    printed = _printed_spend(stopped.stderr)
    assert any(abs(x - recorded) <= ROUNDING for x in printed if x != BUDGET), (
        f"the stop message does not state the spend ${recorded:.4f} (billed ${billed:.4f}): "
        + tail(stopped.stderr)
    )


@pytest.mark.parametrize("command", ["classify", "run"])
def test_unpriced_model_with_a_budget_is_refused_before_any_request(
    amc: Amc, stub: FaultServer, command: str
) -> None:
    """No price for the model and a budget: exit 2 before any request, naming AMC_PRICES
    (today the budget is silently ignored)."""
    data = amc.root / "papers.jsonl"
    write_papers(data, 6)
    args: list[object] = [command, data, "-o", "out.csv", *llm_args(stub.api_base)]
    budget = {"AMC_MAX_COST_USD": "0.01"} if command == "run" else {}
    if command == "classify":
        args += ["--max-cost", "0.01"]
    result = amc(*args, AMC_PRICES=None, **budget)
    assert stub.requests == 0, f"{stub.requests} requests sent with an unpriced budget"
    assert result.returncode == 2, (result.returncode, tail(result.stderr))
    assert "AMC_PRICES" in result.stderr
    assert "amc: error:" in result.stderr and no_traceback(result.stderr)
