"""Tokens and dollars: pricing a call, keeping a run within budget, estimating before spending.

Prices come from ``LLMSettings.prices`` first, then litellm's bundled price map.
A model with neither has an unknown cost: ``None`` and one warning, never a
crash. The estimate renders the real prompts and counts their tokens offline
(litellm's bundled tokenizers), so it matches what a run would send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import BaseModel

from amc.classify.llm.errors import LLMBudgetExceeded
from amc.classify.llm.planning import plan_requests
from amc.classify.llm.provider.common import ChatMessages
from amc.classify.llm.provider.tokens import bundled_price, count_tokens
from amc.domain.errors import ConfigError
from amc.domain.models import Pair, Snippet, Usage
from amc.registry import Registry
from amc.settings.llm import LLMSettings

log = logging.getLogger(__name__)

#: typical tokens of one telescope's JSON answer (labels, confidences, 2-3 quotes, reason)
ANSWER_TOKENS_PER_TELESCOPE = 220

_warned_unpriced: set[str] = set()


#: OpenAI bills Batch API and flex-processing tokens at half the standard price
DISCOUNTED_PRICE_FACTOR = 0.5


def call_cost(
    config: LLMSettings,
    prompt_tokens: int,
    completion_tokens: int,
    model: str | None = None,
    *,
    discounted: bool | None = None,
) -> float | None:
    """US dollars of one call to ``model`` (default ``config.model``), or None (with a
    warning once per model) when no price is known. ``discounted``: at Batch API / flex
    prices (default: when ``config`` asks for flex processing)."""
    cost = _list_price(config, prompt_tokens, completion_tokens, model or config.model)
    if cost is not None and (config.flex if discounted is None else discounted):
        cost *= DISCOUNTED_PRICE_FACTOR
    return cost


def _list_price(
    config: LLMSettings, prompt_tokens: int, completion_tokens: int, model: str
) -> float | None:
    price = config.prices.get(model)
    if price is not None:
        return (
            prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok
        ) / 1e6
    cost = bundled_price(model, prompt_tokens, completion_tokens)
    if cost is None and model not in _warned_unpriced:
        _warned_unpriced.add(model)
        log.warning(
            "no price known for model %s: costs are recorded as unknown "
            "(set a price per model in the LLM settings to track them)",
            model,
        )
    return cost


def add_usage(total: Usage, more: Usage) -> Usage:
    """Sum of two usages; an unknown cost on either side makes the sum unknown."""
    cost = (
        None if total.cost_usd is None or more.cost_usd is None else total.cost_usd + more.cost_usd
    )
    return Usage(
        calls=total.calls + more.calls,
        prompt_tokens=total.prompt_tokens + more.prompt_tokens,
        completion_tokens=total.completion_tokens + more.completion_tokens,
        cost_usd=cost,
        call_log=[*total.call_log, *more.call_log],
    )


class Budget:
    """The run's money, kept as a hard ceiling (``limit_usd``, None for no limit).

    Before a request is sent its worst case is reserved: the prompt's tokens counted
    locally at the input price plus ``max_output_tokens`` at the output price. A request
    whose worst case does not fit in what is left is not sent: it waits while other
    requests are in flight (they may cost less than reserved), and stops the run
    (``LLMBudgetExceeded``) when none is. After the answer the reservation is settled
    with the usage the provider reported. ``spent_usd`` is the sum of settled costs,
    the same calls and prices the results record; ``unsure_usd`` is the worst case of
    requests that timed out, which a provider may still bill: it counts against the
    ceiling but is not called spent.
    """

    def __init__(self, limit_usd: float | None) -> None:
        self.limit_usd = limit_usd
        self.spent_usd = 0.0
        self.reserved_usd = 0.0
        #: reservations held (requests in flight): counted, as sums of floats drift
        self.held = 0
        self.unsure_usd = 0.0
        self.calls = 0
        self.unpriced_calls = 0

    def try_reserve(self, usd: float) -> bool:
        """Reserve ``usd`` if it fits; False when it must wait for requests in flight to
        settle; ``LLMBudgetExceeded`` when it cannot fit even after they have."""
        if self.limit_usd is None:
            return True
        if self.spent_usd + self.unsure_usd + self.reserved_usd + usd <= self.limit_usd:
            self.reserved_usd += usd
            self.held += 1
            return True
        if self.held:
            return False
        raise LLMBudgetExceeded(self._stop_message(usd), reason="the LLM budget is spent")

    def settle(self, reserved_usd: float, cost_usd: float | None) -> None:
        """A request was answered: its reservation becomes its recorded cost."""
        self._release(reserved_usd)
        self.calls += 1
        if cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.spent_usd += cost_usd

    def cancel(self, reserved_usd: float, maybe_billed: bool = False) -> None:
        """A request got no answer: free its reservation, or keep it as possibly billed
        (``maybe_billed``: it timed out after the provider may have done the work)."""
        self._release(reserved_usd)
        if maybe_billed and self.limit_usd is not None:
            self.unsure_usd += reserved_usd

    def _release(self, reserved_usd: float) -> None:
        if self.limit_usd is None:
            return
        self.held -= 1
        self.reserved_usd = self.reserved_usd - reserved_usd if self.held else 0.0

    def _stop_message(self, next_usd: float) -> str:
        assert self.limit_usd is not None
        unsure = (
            f" (plus up to ${self.unsure_usd:.4f} for requests that timed out)"
            if self.unsure_usd
            else ""
        )
        return (
            f"budget reached: spent ${self.spent_usd:.4f} of the ${self.limit_usd:.4f} budget "
            f"(max_cost_usd) on {self.calls} call(s){unsure}; the next call could cost up to "
            f"${next_usd:.4f}, so it was not sent. Raise --max-cost (AMC_MAX_COST_USD) and "
            "run the same command again to resume: answers already received are cached"
        )


def worst_case_usd(config: LLMSettings, model: str, messages: ChatMessages) -> float | None:
    """The most a request can cost: its prompt tokens, counted locally, and
    ``max_output_tokens`` of answer; None when the model has no known price."""
    return call_cost(config, count_tokens(model, messages), config.max_output_tokens, model)


def require_prices(config: LLMSettings) -> None:
    """With a budget, every model the run calls must have a price: ``ConfigError`` naming
    AMC_PRICES otherwise (a budget that cannot be counted would be silently ignored)."""
    if config.max_cost_usd is None:
        return
    for model in dict.fromkeys([config.model, config.rerank_model or config.model]):
        if model not in config.prices and bundled_price(model, 1000, 1000) is None:
            raise ConfigError(
                f"--max-cost (AMC_MAX_COST_USD) is set but no price is known for model "
                f"{model}, so the spend could not be counted; give its price in AMC_PRICES, "
                f'e.g. AMC_PRICES=\'{{"{model}": {{"input_per_mtok": 0.15, '
                '"output_per_mtok": 0.6}}\' (US dollars per million tokens), or drop the budget'
            )


class CostEstimate(BaseModel):
    """What a run would send and cost, computed before any call."""

    model: str
    pairs: int
    calls: int
    prompt_tokens: int
    #: assumes ``ANSWER_TOKENS_PER_TELESCOPE`` per telescope answered (no re-asks)
    completion_tokens: int
    #: None when the model has no known price
    cost_usd: float | None
    #: pairs with no snippet: decided without a call
    pairs_without_call: int = 0

    @property
    def tokens_per_pair(self) -> float:
        return (self.prompt_tokens + self.completion_tokens) / max(1, self.pairs)


def estimate_cost(
    items: Sequence[tuple[Pair, list[Snippet]]], config: LLMSettings, registry: Registry
) -> CostEstimate:
    """Tokens and dollars a run over ``items`` would cost with ``config`` (no network)."""
    requests, no_call = plan_requests(items, registry, config)
    prompt_tokens = sum(count_tokens(config.model, r.messages) for r in requests)
    completion_tokens = sum(ANSWER_TOKENS_PER_TELESCOPE * len(r.inputs) for r in requests)
    return CostEstimate(
        model=config.model,
        pairs=len(items),
        calls=len(requests),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=call_cost(config, prompt_tokens, completion_tokens),
        pairs_without_call=len(no_call),
    )
