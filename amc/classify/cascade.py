"""The cascade: the cheap tier decides every pair it is sure of; the LLM gets the rest.

The cheap tier is the trained model when one is configured, else the rules. A pair
goes to the LLM when the cheap tier's confidence in its decision is below
``settings.cascade_threshold`` (and there is something for a model to read).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from amc.classify.local import classify_local
from amc.domain.models import NONE_TELESCOPE, Classification, Pair, PairSnippets
from amc.registry import Registry
from amc.settings import Settings


def cheap_tier(
    items: Sequence[PairSnippets], registry: Registry, settings: Settings
) -> list[Classification]:
    """The cascade's first tier on every item."""
    return classify_local([p for p, _ in items], registry, settings, [s for _, s in items])


def needs_llm(c: Classification, pair: Pair, settings: Settings) -> bool:
    """Whether the cheap tier's verdict is too unsure to keep."""
    if pair.telescope == NONE_TELESCOPE or not c.ok or c.labels is None:
        return False
    if c.n_snippets == 0:  # no hit at all: nothing for a model to read
        return False
    return c.confidence.decided(c.labels) < settings.cascade_threshold


def merged(
    first: list[Classification], unsure: list[int], second: Future[list[Classification]]
) -> Future[list[Classification]]:
    """The cascade's results: the cheap tier's, with the ``unsure`` ones replaced by the
    LLM's when ``second`` is done (after a run stop, by rows saying they were not
    classified: a low-confidence guess is not passed off as the LLM's verdict)."""
    out: Future[list[Classification]] = Future()

    def fill(done: Future[list[Classification]]) -> None:
        results = list(first)
        try:
            for i, result in zip(unsure, done.result(), strict=True):
                results[i] = result
        except BaseException as exc:
            out.set_exception(exc)
            return
        out.set_result(results)

    second.add_done_callback(fill)
    return out
