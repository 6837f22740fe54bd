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
    """Classify a stream of pairs, yielding one result per item in input order; failed
    input rows pass through in place.

    If the LLM run has to stop (provider unusable, budget spent), every pair still gets
    its row: the ones it finished, then rows of the stop's kind ("not classified") for
    the rest of the input, read without sending anything; then ``LLMRunStopped`` is
    raised, so an output file lists every pair and a re-run finds the answers already
    paid for in the cache. A stop that is not resumable (the provider refused the key or
    the model) is raised as soon as what was submitted has come back.
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
    with PairClassifier(registry, settings, prepare_pool=True) as classifier:
        for unit in _units(items):
            stop = classifier.stop
            if stop is not None and not stop.resumable:
                break
            pairs = _pairs(unit)
            window.append((unit, classifier.submit(pairs)))
            ahead += len(pairs)
            while ahead >= settings.llm.chunk_pairs:
                unit, future = window.popleft()
                ahead -= len(_pairs(unit))
                yield from _in_order(unit, future.result())
        while window:
            yield from _in_order(*_result(window.popleft()))
    if classifier.stop is not None:
        raise classifier.stop


def _result(
    submitted: tuple[Unit, Future[list[Classification]]],
) -> tuple[Unit, list[Classification]]:
    unit, future = submitted
    return unit, future.result()


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
