"""Every tier behind one entry point: ``classify_pairs`` and ``PairClassifier``.

``classify_pairs`` takes a chunk of pairs and returns one ``Classification`` per
pair, in order, with the tier chosen in the settings:

- ``rules``: tier 0, local and instant (``amc.classify.rules``);
- ``trained``: the scikit-learn model of ``amc train`` (``amc.classify.trained``);
- ``llm``: one LLM call per pair (or per paper), ``amc.classify.llm``;
- ``cascade``: the cheapest tier first (trained when a model is configured, else
  rules); only pairs it is not confident about go to the LLM (``amc.classify.cascade``).

``PairClassifier`` is the same for a stream of small submissions (a paper at a
time) whose LLM calls share one session. ``check_ready`` refuses, before anything is
read, written or sent, a tier that cannot run as configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future

from amc.classify.cascade import cheap_tier, merged, needs_llm
from amc.classify.llm import LLMRunStopped, LLMSession, is_stop_row, preflight
from amc.classify.local import classify_local
from amc.classify.prepare import PreparedUnit, PreparePool, then_submit
from amc.domain.errors import ConfigError
from amc.domain.models import Classification, Pair, PairSnippets
from amc.registry import Registry
from amc.settings import Settings
from amc.snippets import pair_snippets

TIERS = ("rules", "trained", "llm", "cascade")


def classify_pairs(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> list[Classification]:
    """One classification per pair, in order, with ``settings.tier``.

    The LLM tier may raise ``LLMRunStopped`` (provider unusable, budget spent) carrying
    the pairs it finished; everything else is recorded per pair.
    """
    if not pairs:
        return []
    if settings.tier in ("rules", "trained"):
        return classify_local(pairs, registry, settings, trained=settings.tier == "trained")
    with PairClassifier(registry, settings) as classifier:
        results = classifier.submit(pairs).result()
    if classifier.stop is not None:
        classifier.stop.completed = [c for c in results if not is_stop_row(c)]
        raise classifier.stop
    return results


def check_ready(settings: Settings) -> None:
    """Refuse now a tier that cannot run as configured: an unknown tier, or for the LLM
    tiers no key, a budget without a price, a broken prompt file. Callers run it before
    opening an output or submitting a batch, so such a run changes nothing."""
    if settings.tier not in TIERS:
        raise ConfigError(f"unknown tier {settings.tier!r}; choose one of {', '.join(TIERS)}")
    if settings.tier in ("llm", "cascade"):
        preflight(settings.llm)


def with_snippets(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> list[PairSnippets]:
    """Each pair with its snippets."""
    return [(p, pair_snippets(p, registry, settings)) for p in pairs]


class PairClassifier:
    """``classify_pairs`` for a stream of small submissions (a paper at a time), from any
    thread: ``submit`` returns a future of one classification per pair, in order.

    The local tiers answer at once (a finished future). The LLM calls of every
    submission share one ``LLMSession`` (one client, cache and budget), so a caller
    that keeps more pairs submitted than ``llm.concurrency`` keeps every LLM slot busy
    while it reads the next papers and saves the last ones. In the cascade the cheap
    tier runs in the caller's thread and only the pairs it is unsure of wait for the
    model. With ``prepare_pool`` (``amc classify``'s stream) the LLM tier's evidence is
    found, ranked and judged in child processes when they have room
    (``amc.classify.prepare``): the one process left talking to the model no longer
    holds its only core. Use it with ``with`` (closes the session and the pool).
    """

    def __init__(
        self, registry: Registry, settings: Settings, *, prepare_pool: bool = False
    ) -> None:
        if settings.tier not in TIERS:
            raise NotImplementedError(f"tier {settings.tier!r} is not available")
        self.registry = registry
        self.settings = settings
        self._llm: LLMSession | None = None
        self._pool: PreparePool | None = None
        self._closed = False
        if settings.tier in ("llm", "cascade"):
            self._llm = LLMSession(registry, settings.llm)
        if prepare_pool and settings.tier == "llm" and settings.prepare_processes > 0:
            self._pool = PreparePool(registry, settings)

    @property
    def stop(self) -> LLMRunStopped | None:
        """Why the LLM run stopped (budget spent, provider down or refusing), or None. After
        a stop no request is sent: the pairs that needed one come back as rows of the
        stop's kind, the others are decided as usual."""
        return self._llm.stop if self._llm is not None else None

    @property
    def stopped(self) -> bool:
        """Whether the LLM run has stopped."""
        return self.stop is not None

    def submit(self, pairs: Sequence[Pair]) -> Future[list[Classification]]:
        if self._llm is None or not pairs:
            return finished(lambda: classify_pairs(pairs, self.registry, self.settings))
        if self.settings.tier == "llm":
            return self._submit_llm(self._llm, list(pairs))
        items = with_snippets(pairs, self.registry, self.settings)
        first = cheap_tier(items, self.registry, self.settings)
        unsure = [i for i, c in enumerate(first) if needs_llm(c, pairs[i], self.settings)]
        if not unsure:
            return finished(lambda: first)
        return merged(first, unsure, self._llm.submit([items[i] for i in unsure]))

    def _submit_llm(self, llm: LLMSession, pairs: list[Pair]) -> Future[list[Classification]]:
        """The pairs' LLM classifications, their evidence prepared by the pool when it takes
        them (``amc.classify.prepare``), else here."""
        prepared = self._pool.submit(pairs) if self._pool is not None else None
        if prepared is None:
            return llm.submit(with_snippets(pairs, self.registry, self.settings))

        def submit(unit: PreparedUnit) -> Future[list[Classification]]:
            if self._closed:
                raise CancelledError("the classifier was closed")
            ready, rendered = unit
            items = [(p, [] if r is not None else pair_snippets(p, self.registry, self.settings))
                     for p, r in zip(pairs, ready, strict=True)]  # fmt: skip
            return llm.submit(items, ready, rendered)

        def fallback(exc: BaseException) -> Future[list[Classification]]:
            if self._closed:
                raise CancelledError("the classifier was closed")
            assert self._pool is not None
            self._pool.failed(exc)
            return llm.submit(with_snippets(pairs, self.registry, self.settings))

        return then_submit(prepared, submit, fallback)

    def close(self) -> None:
        self._closed = True
        try:
            if self._pool is not None:
                self._pool.close()
        finally:  # a second Ctrl-C while the pool closes still closes the session
            if self._llm is not None:
                self._llm.close()

    def __enter__(self) -> PairClassifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def finished(compute: Callable[[], list[Classification]]) -> Future[list[Classification]]:
    """A future already holding ``compute()``'s result (or the exception it raised)."""
    future: Future[list[Classification]] = Future()
    try:
        future.set_result(compute())
    except Exception as exc:
        future.set_exception(exc)
    return future
