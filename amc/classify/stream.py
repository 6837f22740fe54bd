"""Classify a stream of pairs, yielding results in input order.

The local tiers work in chunks. The LLM tier and the cascade keep up to
``llm.chunk_pairs`` pairs submitted ahead of the output (a paper's pairs at a
time, so paper mode sees them together), which keeps ``llm.concurrency`` calls in
flight all the time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

from amc.classify.dispatch import PairClassifier, classify_pairs
from amc.classify.llm.errors import LLMRunStopped
from amc.domain.models import Classification, Pair, PairOrFailure
from amc.ingest.pairs import read_pairs
from amc.registry import Registry
from amc.settings import Settings


def classify_papers(
    paths: Sequence[Path | str],
    registry: Registry,
    settings: Settings,
    telescopes: Sequence[str] = (),
) -> Iterator[Classification]:
    """Everything from input files to classifications, streamed, with ``settings.tier``."""
    return classify_stream(read_pairs(paths, registry, settings, telescopes), registry, settings)


def classify_stream(
    items: Iterable[PairOrFailure], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    """Classify a stream of pairs, yielding results in input order; failed input rows
    pass through in place.

    If the run has to stop (provider unusable, budget spent),
    the pairs it finished are still yielded before ``LLMRunStopped`` is raised, so an
    output file keeps them; a re-run then finds their answers in the cache.
    """
    if settings.tier in ("llm", "cascade"):
        yield from _rolling(items, registry, settings)
        return
    chunk_size = 1 if settings.tier == "rules" else settings.llm.chunk_pairs
    pending: list[PairOrFailure] = []
    n_pairs = 0
    for item in items:
        pending.append(item)
        n_pairs += isinstance(item, Pair)
        if n_pairs >= chunk_size:
            yield from _in_order(pending, classify_pairs(_pairs(pending), registry, settings))
            pending, n_pairs = [], 0
    yield from _in_order(pending, classify_pairs(_pairs(pending), registry, settings))


Unit = list[PairOrFailure]


def _rolling(
    items: Iterable[PairOrFailure], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    window: deque[tuple[Unit, Future[list[Classification]]]] = deque()
    ahead = 0  # pairs submitted and not yet yielded
    with PairClassifier(registry, settings) as classifier:
        for unit in _units(items):
            pairs = _pairs(unit)
            window.append((unit, classifier.submit(pairs)))
            ahead += len(pairs)
            while ahead >= settings.llm.chunk_pairs:
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


def _units(items: Iterable[PairOrFailure], min_pairs: int = 8) -> Iterator[Unit]:
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
