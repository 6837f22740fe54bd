"""Tokens and dollars: pricing a call, keeping a run within budget, estimating before spending.

Prices come from ``LLMSettings.prices`` first, then litellm's bundled price map.
A model with neither has an unknown cost: ``None`` and one warning, never a
crash. The estimate renders the real prompts and counts their tokens offline
(litellm's bundled tokenizers), so it matches what a run would send.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence

from pydantic import BaseModel

from amc.classify.llm.errors import LLMBudgetExceeded
from amc.classify.llm.planning import plan_requests
from amc.classify.llm.prompts import PromptTemplate
from amc.classify.llm.provider.common import ChatMessages
from amc.classify.llm.provider.protocol import initial_style
from amc.classify.llm.provider.tokens import bundled_price, count_text_tokens, count_tokens
from amc.classify.llm.request import FENCE_OPEN, Request
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
    cached: int = 0,
    written: int = 0,
) -> float | None:
    """US dollars of one call to ``model`` (default ``config.model``), or None (with a
    warning once per model) when no price is known. ``discounted``: at Batch API / flex
    prices (default: when ``config`` asks for flex processing). ``cached`` and ``written``
    are the prompt tokens read from and written to the provider's prompt cache (parts of
    ``prompt_tokens``), priced at the model's cache rates."""
    model = model or config.model
    cost = _list_price(config, prompt_tokens, completion_tokens, model, cached, written)
    if cost is not None and (config.flex if discounted is None else discounted):
        cost *= DISCOUNTED_PRICE_FACTOR
    return cost


def _list_price(
    config: LLMSettings,
    prompt_tokens: int,
    completion_tokens: int,
    model: str,
    cached: int = 0,
    written: int = 0,
) -> float | None:
    price = config.prices.get(model)
    if price is not None:
        return price.cost(prompt_tokens, completion_tokens, cached, written)
    cost = bundled_price(model, prompt_tokens, completion_tokens, cached, written)
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
        cached_tokens=total.cached_tokens + more.cached_tokens,
        cache_write_tokens=total.cache_write_tokens + more.cache_write_tokens,
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
    #: typical answer sizes (``typical_answer_tokens``), no re-asks
    completion_tokens: int
    #: None when the model has no known price
    cost_usd: float | None
    #: pairs with no snippet: decided without a call
    pairs_without_call: int = 0
    #: of ``prompt_tokens``, expected from the provider's prompt cache (``PrefixCache``)
    cached_tokens: int = 0

    @property
    def tokens_per_pair(self) -> float:
        return (self.prompt_tokens + self.completion_tokens) / max(1, self.pairs)

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def cost_per_1000_pairs(self) -> float | None:
        return None if self.cost_usd is None else 1000 * self.cost_usd / max(1, self.pairs)


#: typical answer tokens per telescope: a quoting answer (v1 prompts) copies two or three
#: sentences and gives two sentences of reason; a citing one gives numbers and one short
#: sentence, as objects (v2) or as ``"4:science"`` strings (v3): the mean sizes of the
#: blind answers to the dev and sample requests (``bench/prompt_check.py``, README)
TYPICAL_ANSWER_TOKENS = {"quotes": ANSWER_TOKENS_PER_TELESCOPE, "objects": 110, "compact": 90}


def _typical_answer(prompt: PromptTemplate) -> int:
    kind = prompt.citations if prompt.evidence == "sentences" else prompt.evidence
    return TYPICAL_ANSWER_TOKENS[kind]


#: providers cache a repeated prompt start of at least this many tokens, in these steps
CACHE_MIN_TOKENS = 1024
CACHE_STEP = 128


class PrefixCache:
    """Which static prompt starts earlier requests of a run sent, to estimate the prompt
    tokens a provider's automatic prefix caching will bill as cached: the structured-output
    schema (sent before the system message), the system message and the user message up
    to the paper's evidence (the telescope), each counted once per distinct text."""

    def __init__(self, config: LLMSettings) -> None:
        self.config = config
        self._seen: set[str] = set()
        self._tokens: dict[str, int] = {}

    def cached_tokens(self, request: Request) -> int:
        """The cached prompt tokens ``request`` would get after the ones already seen."""
        matched = total = 0
        key = ""
        for part in self._parts(request):
            key = hashlib.sha256(f"{key}|{part}".encode()).hexdigest()
            total += self._count(part)
            if key in self._seen and matched == total - self._count(part):
                matched = total  # every part up to this one was sent before, in this order
            self._seen.add(key)
        steps = matched // CACHE_STEP * CACHE_STEP
        return steps if steps >= CACHE_MIN_TOKENS else 0

    def prompt_tokens(self, request: Request) -> int:
        """The request's prompt tokens, its output schema's included when it is sent as
        ``json_schema`` (the provider reads it as part of the prompt)."""
        schema = self._schema(request)
        return count_tokens(self.config.model, request.messages) + (
            self._count(schema) if schema else 0
        )

    def _parts(self, request: Request) -> list[str]:
        user = request.messages[1]["content"]
        parts = [self._schema(request), request.messages[0]["content"], user.split(FENCE_OPEN)[0]]
        return [p for p in parts if p]

    def _schema(self, request: Request) -> str:
        style = initial_style(self.config)
        return json.dumps(request.schema, separators=(",", ":")) if style == "json_schema" else ""

    def _count(self, text: str) -> int:
        if text not in self._tokens:
            self._tokens[text] = count_text_tokens(self.config.model, text)
        return self._tokens[text]


def estimate_cost(
    items: Sequence[tuple[Pair, list[Snippet]]],
    config: LLMSettings,
    registry: Registry,
    cache: PrefixCache | None = None,
) -> CostEstimate:
    """Tokens and dollars a run over ``items`` would cost with ``config`` (no network).
    ``cache`` carries the prompt starts already counted across calls (a streamed estimate)."""
    cache = cache or PrefixCache(config)
    requests, no_call = plan_requests(items, registry, config)
    prompt_tokens = sum(cache.prompt_tokens(r) for r in requests)
    cached = sum(cache.cached_tokens(r) for r in requests)
    completion_tokens = sum(_typical_answer(r.prompt) * len(r.inputs) for r in requests)
    return CostEstimate(
        model=config.model,
        pairs=len(items),
        calls=len(requests),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=call_cost(config, prompt_tokens, completion_tokens, cached=cached),
        pairs_without_call=len(no_call),
        cached_tokens=cached,
    )
