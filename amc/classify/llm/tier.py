"""The LLM tier's entry points: classify many pairs concurrently, or estimate the cost first.

``classify_pairs_llm`` turns (pair, snippets) items into at most one request
per pair (pair mode) or per paper (paper mode), runs them through the client
with a bounded number of workers, and returns one ``Classification`` per item,
in input order, with ``tier="llm"``. A pair whose answer stays invalid is a
failed classification with the raw output kept in ``reason``; the run stops
(``LLMRunStopped`` carrying the finished pairs) only when the provider is
unusable or refuses the run, or the budget is spent. Requests in flight at a
stop finish (their answers are paid for: kept and cached); nothing new starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from datetime import UTC, datetime

from amc.classify.llm import loop
from amc.classify.llm.cache import AnswerCache
from amc.classify.llm.conversation import ask
from amc.classify.llm.cost import (
    CostEstimate,
    add_usage,
    call_cost,
    estimate_cost,
    require_prices,
    worst_case_usd,
)
from amc.classify.llm.errors import RUN_STOP_KINDS, LLMError, LLMRunStopped
from amc.classify.llm.planning import Prepared, group_inputs, prepare_registry, request_for
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.provider.chat import (
    LLMClient,
    TransportPool,
    check_credentials,
    import_transports,
)
from amc.classify.llm.request import PairInput, Rendered, Request
from amc.classify.llm.rerank import rerank_inputs
from amc.classify.llm.results import (
    TIER,
    classifications,
    failed,
    no_hit,
    stopped,
    triage_items,
)
from amc.domain.errors import AmcError
from amc.domain.models import Classification, PairSnippets, Usage
from amc.registry import Registry
from amc.settings.llm import LLMSettings

Progress = Callable[[Classification], None]

__all__ = [
    "TIER",
    "CostEstimate",
    "LLMSession",
    "classify_pairs_llm",
    "classify_pairs_llm_sync",
    "estimate_cost",
    "preflight",
    "warm_up",
]


async def classify_pairs_llm(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    *,
    prior: dict[str, Classification] | None = None,
    progress: Progress | None = None,
) -> list[Classification]:
    """Classify every (pair, snippets) item with the model; one result per item, in order.

    ``prior`` maps pair ids to results of an earlier run (e.g. an interrupted one):
    a successful LLM result made with the same model and prompt is returned as is,
    with no call. ``progress`` is called with each result as it is finished.
    Raises ``LLMRunStopped`` (``LLMUnavailableError`` or ``LLMBudgetExceeded``) with
    ``.completed`` set when the whole run has to stop.
    """
    pool = TransportPool()  # this loop's connections, closed with the run
    try:
        return await _classify(items, registry, config, prior, progress, pool)
    finally:
        await pool.aclose()


def classify_pairs_llm_sync(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    *,
    prior: dict[str, Classification] | None = None,
    progress: Progress | None = None,
) -> list[Classification]:
    """``classify_pairs_llm`` for synchronous callers (CLI, Celery tasks).

    Every call, from any thread, runs on one per-process event loop whose connections
    are kept between calls; ``progress`` is called on that loop's thread. Safe to call
    from several threads at once and after a fork.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        preflight(config)
        warm_up(config)  # here, not on the loop where it would stall requests in flight
        prepare_registry(registry)  # here, not on the loop: compiling takes a moment
        return loop.run(lambda pool: _classify(items, registry, config, prior, progress, pool))
    raise AmcError("classify_pairs_llm_sync was called inside an event loop; await "
                   "classify_pairs_llm instead")  # fmt: skip


class LLMSession:
    """The LLM tier for a stream of small submissions (a paper at a time), from any thread.

    ``submit`` returns at once with a future of the submission's classifications, one per
    item. Every submission runs on the process's shared loop and shares one client (so at
    most ``config.concurrency`` calls are in flight in all, and one failure breaker), one
    answer cache and one budget. Callers keep more pairs submitted than there are
    slots, and every slot stays busy: calling ``classify_pairs_llm_sync`` chunk by chunk
    leaves slots idle while each chunk's last calls finish.

    Once the run has stopped (``stop``: provider unusable or refusing, budget spent) no
    request is sent any more: the pairs of every later submission come back at once as
    rows of the stop's kind ("not classified"), the pairs decided without a call as usual.
    Close it when done (``with``).
    """

    def __init__(self, registry: Registry, config: LLMSettings) -> None:
        preflight(config)
        warm_up(config)
        prepare_registry(registry)  # in the caller's thread: the loop then only reads
        self._shared = loop.shared_loop()
        self._run = _Run(registry, config, None, self._shared.pool)
        self._pending: set[Future[list[Classification]]] = set()

    def submit(
        self,
        items: Sequence[PairSnippets],
        prepared: Sequence[Prepared | None] = (),
        rendered: Sequence[Rendered] = (),
    ) -> Future[list[Classification]]:
        """Classify these items (one result per item, in order) in the background.
        ``prepared``, aligned with ``items``, holds the inputs another process prepared
        (``amc.classify.prepare``), ``rendered`` the requests it rendered; an item without
        one is prepared here, a request without one rendered here."""
        future = asyncio.run_coroutine_threadsafe(
            self._run.classify(list(items), {}, list(prepared), list(rendered)),
            self._shared.loop,
        )
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    @property
    def stop(self) -> LLMRunStopped | None:
        """Why the run stopped, or None while it goes on."""
        return self._run.stop

    @property
    def stopped(self) -> bool:
        """Whether the run has stopped: no request is sent from now on."""
        return self._run.stop is not None

    def close(self) -> None:
        """Cancel what is still running (an interrupted caller), then close the answer
        cache; the shared loop and its connections stay up for the next session."""
        if self._shared.pid != os.getpid():
            return  # made before a fork: its loop is not in this process
        for future in list(self._pending):
            future.cancel()
        wait(list(self._pending), timeout=5)
        # on the loop, after the cancelled tasks have unwound: none of them uses it then
        asyncio.run_coroutine_threadsafe(self._aclose(), self._shared.loop).result(timeout=10)

    async def _aclose(self) -> None:
        await asyncio.sleep(0)
        self._run.close()

    def __enter__(self) -> LLMSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def preflight(config: LLMSettings) -> None:
    """Refuse now, before any output is opened or any request sent, a run that cannot go
    as configured: no key for an OpenAI-style model, a budget without a price, a prompt
    file that is missing or invalid (each a ``ConfigError`` or ``PromptError``)."""
    check_credentials(config)
    require_prices(config)
    names = [config.prompt_name, config.paper_prompt_name]
    for name in names + (["rerank.v1"] if config.rerank == "llm" else []):
        load_prompt(name, config.prompts_dir)


def warm_up(config: LLMSettings) -> None:
    """Prepare this process for requests with ``config`` (a worker at start, a session when
    made): import the transports and price tables it needs (litellm takes seconds) and
    start the shared event loop, here in the caller's thread. Done on the loop at the
    first answer, the import stalled the requests in flight until they timed out and
    were sent again."""
    import_transports(config)
    for model in dict.fromkeys([config.model, config.rerank_model or config.model]):
        call_cost(config, 0, 0, model)  # the price, or its absence, is known from now on
        if config.max_cost_usd is not None:  # budgets count prompt tokens: load the tokenizer
            worst_case_usd(config, model, [{"role": "user", "content": "ok"}])
    loop.shared_loop()


async def _classify(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    prior: dict[str, Classification] | None,
    progress: Progress | None,
    pool: TransportPool,
) -> list[Classification]:
    run = _Run(registry, config, progress, pool)
    try:
        results = await run.classify(items, prior or {})
    finally:
        run.close()
    if run.stop is not None:
        run.stop.completed = [c for c in results if not is_stop_row(c)]
        raise run.stop
    return results


def is_stop_row(result: Classification) -> bool:
    """A row of a pair that a run stop left unclassified (redone when the run resumes)."""
    return result.error is not None and result.error.kind in RUN_STOP_KINDS


class _Run:
    """State of one run: client, cache, budget and the results so far."""

    def __init__(
        self,
        registry: Registry,
        config: LLMSettings,
        progress: Progress | None,
        pool: TransportPool,
    ) -> None:
        self.registry = registry
        self.config = config
        self.progress = progress
        self.client = LLMClient(config, pool=pool)
        use_cache = config.use_cache and config.cache_path is not None
        self.cache = AnswerCache(config.cache_path) if use_cache and config.cache_path else None
        self.results: dict[str, Classification] = {}
        #: reranker calls per pair, added to the pair's usage when its result is emitted
        self.rerank_usage: dict[str, Usage] = {}

    @property
    def stop(self) -> LLMRunStopped | None:
        return self.client.stop

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    async def classify(
        self,
        items: Sequence[PairSnippets],
        prior: dict[str, Classification],
        prepared: Sequence[Prepared | None] = (),
        rendered: Sequence[Rendered] = (),
    ) -> list[Classification]:
        """One row per item, in order: a verdict, a failed pair, or, for a pair the run
        stopped before, a row of the stop's kind."""
        inputs = self._inputs(items, prior, prepared)
        if self.config.rerank == "llm" and self.stop is None:
            # after a stop nothing is sent any more: the pairs below become stop rows
            with contextlib.suppress(LLMRunStopped):
                inputs = await rerank_inputs(
                    inputs, self.client, self.config, self._emit_rerank_usage
                )
        groups, without_text = group_inputs(inputs, self.config)
        # a broken prompt file stops the run here, not inside a worker task; the request
        # rendered is the one sent (rendering is most of a request's CPU, and a worker
        # submits a paper at a time)
        # rendered elsewhere before a reranker answered: not these inputs' requests
        done = {r.pair_ids: r for r in rendered} if self.config.rerank != "llm" else {}
        first = self._request(groups[0], done) if groups else None
        for item in without_text:
            self._emit(no_hit(item, self.config, self.registry))
        await self._run_all(groups, first, done)
        for pair, _ in items:
            if pair.pair_id not in self.results:  # never sent: the run had stopped
                assert self.stop is not None
                self._emit(stopped(pair, self.stop, self.config))
        # taken out as they are returned: a long-lived run (``LLMSession``) keeps nothing
        return [self.results.pop(pair.pair_id) for pair, _ in items]

    def _inputs(
        self,
        items: Sequence[PairSnippets],
        prior: dict[str, Classification],
        prepared: Sequence[Prepared | None],
    ) -> list[PairInput]:
        """Prepared inputs for the items that need work; the others are emitted now."""
        inputs, decided = triage_items(items, self.registry, self.config, prior, prepared)
        for result in decided:
            self._emit(result)
        return inputs

    def _request(
        self, inputs: list[PairInput], rendered: dict[tuple[str, ...], Rendered]
    ) -> Request:
        """The request of a group: as another process rendered it, else rendered now."""
        done = rendered.get(tuple(item.pair.pair_id for item in inputs))
        if done is None:
            return request_for(inputs, self.config)
        return done.request(inputs, self.config)

    async def _run_all(
        self,
        groups: list[list[PairInput]],
        first: Request | None,
        rendered: dict[tuple[str, ...], Rendered],
    ) -> None:
        """Send the groups' requests, ``first`` (already made) that of the first one."""
        pending = iter(groups)  # shared by the workers: each request is taken once

        async def worker() -> None:
            for inputs in pending:
                if self.stop is not None:
                    return  # nothing new after a stop; requests in flight finish
                request = first if inputs is groups[0] else None
                for result in await self._run_request(inputs, request, rendered):
                    self._emit(result)

        async with asyncio.TaskGroup() as task_group:
            for _ in range(min(self.config.concurrency, len(groups))):
                task_group.create_task(worker())

    async def _run_request(
        self,
        inputs: list[PairInput],
        request: Request | None = None,
        rendered: dict[tuple[str, ...], Rendered] | None = None,
    ) -> list[Classification]:
        # made when taken, not all up front: the first calls go out at once
        request = request if request is not None else self._request(inputs, rendered or {})
        started, clock = datetime.now(UTC), time.monotonic()
        try:
            outcome = await ask(request, self.client, self.cache, self.config)
        except LLMRunStopped as stop:  # the calls it made are on the first pair's row
            usage = getattr(stop, "usage", Usage())
            return [
                stopped(item.pair, stop, self.config, usage if i == 0 else None)
                for i, item in enumerate(request.inputs)
            ]
        except LLMError as exc:
            usage = getattr(exc, "usage", Usage())
            return [failed(item.pair, exc, self.config, request, usage) for item in request.inputs]
        elapsed = time.monotonic() - clock
        return classifications(request, outcome, self.config, self.registry, started, elapsed)

    def _emit(self, result: Classification) -> None:
        rerank_usage = self.rerank_usage.pop(result.pair_id, None)
        if rerank_usage is not None:  # the reranker's calls are part of what the pair cost
            result = result.model_copy(update={"usage": add_usage(result.usage, rerank_usage)})
        self.results[result.pair_id] = result
        if self.progress is not None:
            self.progress(result)

    def _emit_rerank_usage(self, pair_id: str, usage: Usage) -> None:
        self.rerank_usage[pair_id] = add_usage(self.rerank_usage.get(pair_id, Usage()), usage)
