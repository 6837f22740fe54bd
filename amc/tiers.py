"""Classification tiers behind one function: rules, trained, llm, and the cascade.

``classify_pairs`` takes a chunk of pairs and returns one ``Classification``
per pair, in order, with the tier chosen in the settings:

- ``rules``: tier 0, local and instant (``amc.rules``);
- ``trained``: the scikit-learn model of ``amc train`` (``amc.trained``);
- ``llm``: one LLM call per pair (or per paper), ``amc.llm``;
- ``cascade``: the cheapest tier first (trained when a model is configured,
  else rules); only pairs it is not confident about go to the LLM.

``PairClassifier`` is the same for a stream of small submissions (a paper at
a time) whose LLM calls share one session; ``classify_stream`` uses it to keep
``llm_chunk_pairs`` pairs submitted ahead of its ordered output, so the LLM
tier's concurrency stays busy while the output still streams.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from amc.models import NONE_TELESCOPE, Classification, Pair, Snippet
from amc.pipeline import classify_pair, pair_snippets
from amc.registry import Registry
from amc.settings import Settings

if TYPE_CHECKING:
    from amc.llm import CostEstimate, LLMConfig, LLMSession


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
    if settings.tier == "trained":
        from amc.trained import classify_pairs_trained

        return classify_pairs_trained(pairs, registry, settings)
    with PairClassifier(registry, settings) as classifier:
        return classifier.submit(pairs).result()


class PairClassifier:
    """``classify_pairs`` for a stream of small submissions (a paper at a time), from any
    thread: ``submit`` returns a future of one classification per pair, in order.

    The local tiers answer at once (a finished future). The LLM calls of every
    submission share one ``amc.llm.LLMSession`` (one client, cache and budget), so a
    caller that keeps more pairs submitted than ``llm_concurrency`` keeps every LLM slot
    busy while it reads the next papers and saves the last ones. In the cascade the
    cheap tier runs in the caller's thread and only the pairs it is unsure of wait for
    the model. Use it with ``with`` (closes the session).
    """

    def __init__(self, registry: Registry, settings: Settings) -> None:
        if settings.tier not in TIERS:
            raise NotImplementedError(f"tier {settings.tier!r} is not available")
        self.registry = registry
        self.settings = settings
        self._llm: LLMSession | None = None
        if settings.tier in ("llm", "cascade"):
            from amc.llm import LLMSession

            self._llm = LLMSession(registry, llm_config(settings))

    @property
    def stopped(self) -> bool:
        """Whether the LLM run has stopped (every later submission would fail at once)."""
        return self._llm is not None and self._llm.stopped

    def submit(self, pairs: Sequence[Pair]) -> Future[list[Classification]]:
        if self._llm is None or not pairs:
            return _finished(lambda: classify_pairs(pairs, self.registry, self.settings))
        items = _with_snippets(pairs, self.registry, self.settings)
        if self.settings.tier == "llm":
            return self._llm.submit(items)
        first = _cheap_tier(items, self.registry, self.settings)
        unsure = [i for i, c in enumerate(first) if _needs_llm(c, pairs[i], self.settings)]
        if not unsure:
            return _finished(lambda: first)
        return _merged(first, unsure, self._llm.submit([items[i] for i in unsure]))

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()

    def __enter__(self) -> PairClassifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


TIERS = ("rules", "trained", "llm", "cascade")


def _finished(compute: Callable[[], list[Classification]]) -> Future[list[Classification]]:
    """A future already holding ``compute()``'s result (or the exception it raised)."""
    future: Future[list[Classification]] = Future()
    try:
        future.set_result(compute())
    except Exception as exc:
        future.set_exception(exc)
    return future


def _merged(
    first: list[Classification], unsure: list[int], second: Future[list[Classification]]
) -> Future[list[Classification]]:
    """The cascade's results: the cheap tier's, with the ``unsure`` ones replaced by the
    LLM's when ``second`` is done. If the LLM run stops, the stop carries the cheap tier's
    confident pairs as well as the LLM's finished ones."""
    merged: Future[list[Classification]] = Future()

    def fill(done: Future[list[Classification]]) -> None:
        results = list(first)
        try:
            for i, result in zip(unsure, done.result(), strict=True):
                results[i] = result
        except BaseException as exc:
            if hasattr(exc, "completed"):  # LLMRunStopped
                llm = {c.pair_id: c for c in exc.completed}
                asked = set(unsure)
                exc.completed = [
                    llm.get(c.pair_id, c)
                    for i, c in enumerate(first)
                    if i not in asked or c.pair_id in llm
                ]
            merged.set_exception(exc)
            return
        merged.set_result(results)

    second.add_done_callback(fill)
    return merged


def _cheap_tier(
    items: Sequence[tuple[Pair, list[Snippet]]], registry: Registry, settings: Settings
) -> list[Classification]:
    """The cascade's first tier: the trained model when one is configured, else the rules."""
    if settings.model_path is not None:
        from amc.trained import classify_pairs_trained

        return classify_pairs_trained([p for p, _ in items], registry, settings)
    return [classify_pair(p, registry, settings, snippets) for p, snippets in items]


def _needs_llm(c: Classification, pair: Pair, settings: Settings) -> bool:
    if pair.telescope == NONE_TELESCOPE or not c.ok or c.labels is None:
        return False
    if c.n_snippets == 0:  # no hit at all: nothing for a model to read
        return False
    return c.confidence.decided(c.labels) < settings.cascade_threshold


def classify_stream(
    items: Iterable[Pair | Classification], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    """Classify a stream of pairs, yielding results in input order; failed input rows
    pass through in place.

    The local tiers work in chunks. The LLM tier and the cascade keep up to
    ``llm_chunk_pairs`` pairs submitted ahead of the output (a paper's pairs at a
    time, so paper mode sees them together), which keeps ``llm_concurrency`` calls in
    flight all the time. If the run has to stop (provider unusable, budget spent),
    the pairs it finished are still yielded before ``LLMRunStopped`` is raised, so an
    output file keeps them; a re-run then finds their answers in the cache.
    """
    if settings.tier in ("llm", "cascade"):
        yield from _rolling(items, registry, settings)
        return
    chunk_size = 1 if settings.tier == "rules" else settings.llm_chunk_pairs
    pending: list[Pair | Classification] = []
    n_pairs = 0
    for item in items:
        pending.append(item)
        n_pairs += isinstance(item, Pair)
        if n_pairs >= chunk_size:
            yield from _in_order(pending, classify_pairs(_pairs(pending), registry, settings))
            pending, n_pairs = [], 0
    yield from _in_order(pending, classify_pairs(_pairs(pending), registry, settings))


Unit = list[Pair | Classification]


def _rolling(
    items: Iterable[Pair | Classification], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    window: deque[tuple[Unit, Future[list[Classification]]]] = deque()
    ahead = 0  # pairs submitted and not yet yielded
    with PairClassifier(registry, settings) as classifier:
        for unit in _units(items):
            pairs = _pairs(unit)
            window.append((unit, classifier.submit(pairs)))
            ahead += len(pairs)
            while ahead >= settings.llm_chunk_pairs:
                unit, future = window.popleft()
                ahead -= len(_pairs(unit))
                yield from _unit_results(unit, future, window)
        while window:
            yield from _unit_results(*window.popleft(), window)


def _unit_results(
    unit: Unit,
    future: Future[list[Classification]],
    later: deque[tuple[Unit, Future[list[Classification]]]],
) -> Iterator[Classification]:
    """A unit's results in order; on a stop, what every submitted unit finished, then
    the stop."""
    from amc.llm.errors import LLMRunStopped

    try:
        results = future.result()
    except LLMRunStopped as stop:
        yield from _finished_part(unit, stop.completed)
        for other, pending in later:  # already submitted: they end at once, or finish
            try:
                yield from _in_order(other, pending.result())
            except LLMRunStopped as again:
                yield from _finished_part(other, again.completed)
        later.clear()
        raise
    yield from _in_order(unit, results)


def _finished_part(unit: Unit, completed: list[Classification]) -> Iterator[Classification]:
    done = {c.pair_id: c for c in completed}
    for item in unit:
        if isinstance(item, Classification):
            yield item
        elif item.pair_id in done:
            yield done[item.pair_id]


def _units(items: Iterable[Pair | Classification], min_pairs: int = 8) -> Iterator[Unit]:
    """Consecutive items cut where the paper changes, once a unit holds ``min_pairs``
    pairs: a paper's adjacent rows stay together, and a submission is never tiny."""
    unit: Unit = []
    n_pairs = 0
    last = None
    for item in items:
        bibcode = item.paper.bibcode if isinstance(item, Pair) else item.bibcode
        if n_pairs >= min_pairs and bibcode != last:
            yield unit
            unit, n_pairs = [], 0
        unit.append(item)
        n_pairs += isinstance(item, Pair)
        last = bibcode
    if unit:
        yield unit


def _pairs(items: Unit) -> list[Pair]:
    return [item for item in items if isinstance(item, Pair)]


def _in_order(items: Unit, results: list[Classification]) -> Iterator[Classification]:
    ordered = iter(results)
    for item in items:
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
