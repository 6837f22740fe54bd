"""What an LLM run would cost, before anything is spent (``--dry-run``)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

from amc.classify.cascade import cheap_tier, needs_llm
from amc.classify.dispatch import with_snippets
from amc.classify.llm.cost import CostEstimate, PrefixCache, estimate_cost
from amc.domain.models import NONE_TELESCOPE, Pair, PairOrFailure, PairSnippets
from amc.registry import Registry
from amc.settings import Settings


def estimate(
    items: Iterable[PairOrFailure], registry: Registry, settings: Settings
) -> CostEstimate:
    """Tokens and dollars an LLM run would spend on these pairs, without calling anything.

    Streams in chunks (a dry run over a large input must not hold every paper).
    In the cascade only the pairs the cheap tier is unsure of are counted.
    """
    config = settings.llm
    total = CostEstimate(model=config.model, pairs=0, calls=0, prompt_tokens=0,
                         completion_tokens=0, cost_usd=0.0)  # fmt: skip
    cache = PrefixCache(config)  # what the provider will have cached, across chunks
    chunk: list[PairSnippets] = []
    for item in chain(items, [None]):
        if isinstance(item, Pair) and item.telescope == NONE_TELESCOPE:
            total = total.model_copy(
                update={
                    "pairs": total.pairs + 1,
                    "pairs_without_call": total.pairs_without_call + 1,
                }
            )
        elif isinstance(item, Pair):
            (pair_item,) = with_snippets([item], registry, settings)
            keep = settings.tier != "cascade" or needs_llm(
                cheap_tier([pair_item], registry, settings)[0], item, settings
            )
            chunk.extend([pair_item] if keep else [])
        if chunk and (item is None or len(chunk) >= settings.llm.chunk_pairs):
            total = _add(total, estimate_cost(chunk, config, registry, cache))
            chunk = []
    return total


def _add(a: CostEstimate, b: CostEstimate) -> CostEstimate:
    cost = None if a.cost_usd is None or b.cost_usd is None else a.cost_usd + b.cost_usd
    return a.model_copy(
        update={
            "pairs": a.pairs + b.pairs,
            "calls": a.calls + b.calls,
            "prompt_tokens": a.prompt_tokens + b.prompt_tokens,
            "completion_tokens": a.completion_tokens + b.completion_tokens,
            "cached_tokens": a.cached_tokens + b.cached_tokens,
            "cost_usd": cost,
            "pairs_without_call": a.pairs_without_call + b.pairs_without_call,
        }
    )
