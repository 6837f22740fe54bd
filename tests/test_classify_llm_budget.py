"""The budget (``amc.classify.llm.cost.Budget``) and how the client keeps it: a request's
worst case (prompt counted locally + max_tokens of answer) is reserved before it is sent,
settled with the reported usage after; a request the rest of the budget cannot cover is
never sent; the stop message states the recorded spend. Over real HTTP to the scripted
server, 8 requests in flight."""

from __future__ import annotations

from typing import Any

import pytest
from llm_server import Reply, ScriptedLLMServer

from amc.classify.llm import LLMBudgetExceeded, classify_pairs_llm_sync, preflight
from amc.classify.llm.cost import Budget
from amc.domain.errors import ConfigError
from amc.domain.models import Pair, Paper
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

BODY = "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."
#: one call costs ~$0.03-0.05 at this price (prompt ~300-500 tokens, answer ~100)
PRICES = {"openai/local": {"input_per_mtok": 100.0, "output_per_mtok": 100.0}}


def test_reserve_waits_for_requests_in_flight_and_stops_when_none_is() -> None:
    budget = Budget(1.0)
    assert budget.try_reserve(0.4) and budget.try_reserve(0.4)
    assert budget.try_reserve(0.4) is False  # 0.8 held: wait for those in flight
    budget.settle(0.4, 0.1)  # the answer cost less than its worst case
    assert budget.try_reserve(0.4)  # 0.1 spent + 0.8 held
    budget.settle(0.4, 0.1)
    budget.cancel(0.4, maybe_billed=True)  # timed out: may still be billed
    assert (budget.spent_usd, budget.unsure_usd, budget.reserved_usd) == pytest.approx(
        (0.2, 0.4, 0.0)
    )
    with pytest.raises(LLMBudgetExceeded, match=r"spent \$0\.2000 of the \$1\.0000") as stop:
        budget.try_reserve(0.5)  # nothing in flight: it can never fit
    assert "up to $0.4000 for requests that timed out" in str(stop.value)
    assert stop.value.resumable and "--max-cost" in str(stop.value)


def test_settling_everything_leaves_nothing_held_whatever_the_float_sums() -> None:
    """0.1 + 0.2 - 0.1 - 0.2 is not 0 in floats: a waiter must not wait for a request that
    is no longer in flight (it did, forever, before reservations were counted)."""
    budget = Budget(1.0)
    for worst in (0.1, 0.2, 0.3):
        assert budget.try_reserve(worst)
    for worst in (0.1, 0.2, 0.3):
        budget.settle(worst, 0.3)
    assert budget.held == 0 and budget.reserved_usd == 0.0
    with pytest.raises(LLMBudgetExceeded):
        budget.try_reserve(0.2)  # 0.9 spent: stop now, not "wait"


def test_without_a_limit_everything_fits_and_is_still_counted() -> None:
    budget = Budget(None)
    assert budget.try_reserve(1e9)
    budget.settle(0.0, 0.25)
    budget.settle(0.0, None)
    assert (budget.spent_usd, budget.calls, budget.unpriced_calls) == (0.25, 2, 1)


def config(server: ScriptedLLMServer, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": "openai/local", "api_base": server.api_base, "cache_path": None,
        "prices": PRICES, "concurrency": 8, "max_output_tokens": 100, "max_retries": 0,
    }  # fmt: skip
    return LLMSettings(**(values | kw))


def items(registry: Registry, n: int) -> list[Any]:
    papers = [Paper(bibcode=f"2024B{i:03d}", body=BODY.format(i=i)) for i in range(n)]
    return [(Pair(paper=p, telescope="HST"), find_snippets(p, registry.get("HST"))) for p in papers]


def test_the_budget_is_a_hard_ceiling_with_eight_requests_in_flight(registry: Registry) -> None:
    with ScriptedLLMServer(latency_s=0.2) as srv:
        with pytest.raises(LLMBudgetExceeded) as stop:
            classify_pairs_llm_sync(items(registry, 30), registry, config(srv, max_cost_usd=0.2))
        sent = len(srv.chat_requests)
    recorded = sum(c.usage.cost_usd or 0.0 for c in stop.value.completed)
    assert 0 < sent < 30 and sent == sum(c.usage.calls for c in stop.value.completed)
    assert recorded <= 0.2
    assert f"spent ${recorded:.4f} of the $0.2000 budget" in str(stop.value)


def test_a_request_the_rest_cannot_cover_is_not_sent(registry: Registry, server) -> None:
    # every answer costs far more than its worst case says (a provider counting otherwise):
    # after the first, the spend is over the limit and nothing more goes out
    server.script(*[Reply(usage=(10_000, 10)) for _ in range(30)])  # $1 a call
    with pytest.raises(LLMBudgetExceeded):
        classify_pairs_llm_sync(items(registry, 10), registry, config(server, max_cost_usd=0.5))
    assert len(server.chat_requests) == 1  # the first goes alone; then the budget is spent


def test_a_budget_without_a_price_is_refused_naming_amc_prices(server) -> None:
    with pytest.raises(ConfigError, match="AMC_PRICES"):
        preflight(config(server, prices={}, max_cost_usd=1.0))
    preflight(config(server, prices={}))  # no budget: an unknown price is only unknown
