"""Classification tiers behind one function: rules, trained, llm, and the cascade.

``classify_pairs`` takes a chunk of pairs and returns one ``Classification``
per pair, in order, with the tier chosen in the settings:

- ``rules``: tier 0, local and instant (``amc.rules``);
- ``trained``: the scikit-learn model of ``amc train`` (``amc.trained``);
- ``llm``: one LLM call per pair (or per paper), ``amc.llm``;
- ``cascade``: the cheapest tier first (trained when a model is configured,
  else rules); only pairs it is not confident about go to the LLM.

``classify_stream`` feeds a stream of pairs through it in chunks, so the
LLM tier sees enough pairs at once to keep its concurrency busy while the
output still streams.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from amc.models import NONE_TELESCOPE, Classification, Pair, Snippet
from amc.pipeline import classify_pair, pair_snippets
from amc.registry import Registry
from amc.settings import Settings

if TYPE_CHECKING:
    from amc.llm import CostEstimate, LLMConfig


def llm_config(settings: Settings) -> LLMConfig:
    """The LLM tier's configuration, from the one settings object."""
    from amc.llm import LLMConfig, ModelPrice

    return LLMConfig(
        model=settings.model,
        api_base=settings.api_base,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        transport=settings.llm_transport,
        concurrency=settings.llm_concurrency,
        timeout_s=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        backoff_base_s=settings.llm_backoff_s,
        max_consecutive_failures=settings.llm_max_consecutive_failures,
        mode=settings.llm_mode,
        rerank=settings.rerank,
        response_format=settings.response_format,
        cache_path=settings.cache_path,
        use_cache=settings.use_cache,
        prices={k: ModelPrice(**v) for k, v in settings.prices.items()},
        max_cost_usd=settings.max_cost_usd,
    )


def _with_snippets(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> list[tuple[Pair, list[Snippet]]]:
    return [(p, pair_snippets(p, registry, settings)) for p in pairs]


def classify_pairs(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> list[Classification]:
    """One classification per pair, in order, with ``settings.tier``.

    The LLM tier may raise ``amc.llm.LLMRunStopped`` (provider unusable, budget
    spent) carrying the pairs it finished; everything else is recorded per pair.
    """
    if not pairs:
        return []
    if settings.tier == "rules":
        return [classify_pair(p, registry, settings) for p in pairs]
    if settings.tier == "llm":
        from amc.llm import classify_pairs_llm_sync

        items = _with_snippets(pairs, registry, settings)
        return classify_pairs_llm_sync(items, registry, llm_config(settings))
    if settings.tier == "trained":
        from amc.trained import classify_pairs_trained

        return classify_pairs_trained(pairs, registry, settings)
    if settings.tier == "cascade":
        return _cascade(pairs, registry, settings)
    raise NotImplementedError(f"tier {settings.tier!r} is not available yet")


def _cheap_tier(
    items: Sequence[tuple[Pair, list[Snippet]]], registry: Registry, settings: Settings
) -> list[Classification]:
    """The cascade's first tier: the trained model when one is configured, else the rules."""
    if settings.model_path is not None:
        from amc.trained import classify_pairs_trained

        return classify_pairs_trained([p for p, _ in items], registry, settings)
    return [classify_pair(p, registry, settings, snippets) for p, snippets in items]


def _cascade(pairs: Sequence[Pair], registry: Registry, settings: Settings) -> list[Classification]:
    """Cheap tier for all; the LLM for pairs the cheap tier is unsure of. Snippets are
    found once and shared by both tiers."""
    from amc.llm import classify_pairs_llm_sync

    items = _with_snippets(pairs, registry, settings)
    first = _cheap_tier(items, registry, settings)
    unsure = [i for i, c in enumerate(first) if _needs_llm(c, pairs[i], settings)]
    if not unsure:
        return first
    second = classify_pairs_llm_sync([items[i] for i in unsure], registry, llm_config(settings))
    for i, result in zip(unsure, second, strict=True):
        first[i] = result
    return first


def _needs_llm(c: Classification, pair: Pair, settings: Settings) -> bool:
    if pair.telescope == NONE_TELESCOPE or not c.ok or c.labels is None:
        return False
    if c.n_snippets == 0:  # no hit at all: nothing for a model to read
        return False
    return c.confidence.decided(c.labels) < settings.cascade_threshold


def classify_stream(
    items: Iterable[Pair | Classification], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    """Classify a stream of pairs in chunks; failed input rows pass through in order.

    If the LLM run has to stop (provider unusable, budget spent), the pairs it
    finished are still yielded before ``LLMRunStopped`` is raised, so an output
    file keeps them; a re-run then finds their answers in the cache.
    """
    chunk_size = 1 if settings.tier == "rules" else settings.llm_chunk_pairs
    pending: list[Pair | Classification] = []
    n_pairs = 0
    for item in items:
        pending.append(item)
        n_pairs += isinstance(item, Pair)
        if n_pairs >= chunk_size:
            yield from _flush(pending, registry, settings)
            pending, n_pairs = [], 0
    yield from _flush(pending, registry, settings)


def _flush(
    pending: list[Pair | Classification], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    pairs = [p for p in pending if isinstance(p, Pair)]
    if settings.tier == "rules":
        results = classify_pairs(pairs, registry, settings)
    else:
        from amc.llm.errors import LLMRunStopped

        try:
            results = classify_pairs(pairs, registry, settings)
        except LLMRunStopped as stop:
            done = {c.pair_id: c for c in stop.completed}
            yield from (
                item if isinstance(item, Classification) else done[item.pair_id]
                for item in pending
                if isinstance(item, Classification) or item.pair_id in done
            )
            raise
    ordered = iter(results)
    for item in pending:
        yield next(ordered) if isinstance(item, Pair) else item


def estimate(
    items: Iterable[Pair | Classification], registry: Registry, settings: Settings
) -> CostEstimate:
    """Tokens and dollars an LLM run would spend on these pairs, without calling anything.

    Streams in chunks (a dry run over a large input must not hold every paper).
    In the cascade only the pairs the cheap tier is unsure of are counted.
    """
    from amc.llm import CostEstimate, estimate_cost

    config = llm_config(settings)
    total = CostEstimate(model=config.model, pairs=0, calls=0, prompt_tokens=0,
                         completion_tokens=0, cost_usd=0.0)  # fmt: skip
    chunk: list[tuple[Pair, list[Snippet]]] = []
    for item in chain(items, [None]):
        if isinstance(item, Pair) and item.telescope == NONE_TELESCOPE:
            total = total.model_copy(
                update={
                    "pairs": total.pairs + 1,
                    "pairs_without_call": total.pairs_without_call + 1,
                }
            )
        elif isinstance(item, Pair):
            (pair_item,) = _with_snippets([item], registry, settings)
            keep = settings.tier != "cascade" or _needs_llm(
                _cheap_tier([pair_item], registry, settings)[0], item, settings
            )
            chunk.extend([pair_item] if keep else [])
        if chunk and (item is None or len(chunk) >= settings.llm_chunk_pairs):
            total = _add(total, estimate_cost(chunk, config, registry))
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
            "cost_usd": cost,
            "pairs_without_call": a.pairs_without_call + b.pairs_without_call,
        }
    )


def classify_batch_api(
    items: Iterable[Pair | Classification],
    registry: Registry,
    settings: Settings,
    state_path: Path,
    wait: bool = True,
) -> list[Classification]:
    """The LLM tier through the provider's Batch API (half price, results within 24 h).

    All pairs are held in memory (a batch is at most 50,000 requests). The state
    file makes it resumable: running again with it never re-uploads or re-creates,
    it polls and, once the batch is finished, collects. With ``wait=False`` it
    submits, reads the status once and raises ``LLMBatchPending`` if unfinished.
    Failed input rows are returned as they are, in order.
    """
    from amc.llm import run_batch

    pending = list(items)
    pairs = [p for p in pending if isinstance(p, Pair)]
    results = run_batch(
        _with_snippets(pairs, registry, settings),
        registry,
        llm_config(settings),
        state_path,
        poll_interval_s=settings.batch_poll_s,
        timeout_s=None if wait else 0.0,
    )
    ordered = iter(results)
    return [next(ordered) if isinstance(item, Pair) else item for item in pending]
