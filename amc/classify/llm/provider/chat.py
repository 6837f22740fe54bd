"""The one seam to the model provider: the only module that imports litellm.

``LLMClient.complete`` sends one chat request and returns its text and usage.
It owns everything about transport: the concurrency limit, the per-request
timeout, retries with exponential backoff and jitter (honouring
``Retry-After``), the structured-output style (with a one-time fallback from
``json_schema`` to ``json_object`` when a server rejects the former, as
llama.cpp does), the budget (a request's worst case is reserved before it is
sent, ``cost.Budget``) and the run's stop: the consecutive-failure breaker when
the provider is down, and the first 401/403/404 answer, which no retry fixes.
Once the run has stopped nothing more is sent; requests already in flight
finish. Until the first request of a run has come back, the others wait: a bad
key or model name costs one request, not one per slot. litellm's own retries
are switched off so the ones here are the only ones that count.

Two transports carry a request (``LLMSettings.transport``): litellm, for every
provider, and ``_openai_http`` (a pooled keep-alive aiohttp session), for
OpenAI-compatible endpoints. A call through litellm costs ~4 ms more CPU than
through the lean one (``bench/llm_throughput.py``: 5.2 against 1.2 ms per pair,
answer checking included), which is what lets one process keep 64 calls in
flight at 95 % of the limit (litellm: 75 %). Both send the same body and their
errors are classified alike.
litellm stays the source of token counts and bundled prices.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from amc.classify.llm.cost import Budget, call_cost, worst_case_usd
from amc.classify.llm.errors import (
    LLMBudgetExceeded,
    LLMProviderRefused,
    LLMRequestError,
    LLMRequestRejected,
    LLMRunStopped,
    LLMUnavailableError,
)
from amc.classify.llm.provider.common import (
    DUMMY_KEY,
    FATAL_STATUS,
    ChatMessages,
    load_litellm,
    short_error,
)
from amc.classify.llm.provider.protocol import (
    WireAnswer,
    answer_from_json,
    answer_from_litellm,
    cache_hints,
    chat_params,
    initial_style,
    is_retryable,
    response_format_for,
    retry_after_s,
    yes_probability,
)
from amc.classify.llm.provider.transport import (
    TransportPool,
    check_credentials,
    import_transports,
    provider_of,
    transport_for,
)
from amc.domain.errors import ConfigError
from amc.settings.llm import LLMSettings, ResponseFormat

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Completion:
    """One answered request."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    #: the structured-output style that was used (after any fallback)
    response_format: ResponseFormat
    #: "stop", or "length" when the answer was cut at max_output_tokens
    finish_reason: str = "stop"
    #: prompt tokens read from / written to the provider's prompt cache (parts of the prompt)
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class LLMClient:
    """Async chat client with a concurrency limit, retries, a budget and the run's stop."""

    def __init__(
        self,
        config: LLMSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        pool: TransportPool | None = None,
        budget: Budget | None = None,
    ) -> None:
        """``pool``: connections shared with other clients on the same event loop; without
        one the client opens its own, closed by ``aclose``. ``budget``: the run's money
        (default: a new one with ``config.max_cost_usd``)."""
        check_credentials(config)  # no key for OpenAI itself: stop before the first request
        self.config = config
        self.budget = budget or Budget(config.max_cost_usd)
        #: why the run stopped (breaker, refusal, budget); nothing is sent once it is set
        self.stop: LLMRunStopped | None = None
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._first: asyncio.Lock | None = None
        #: the first request of the run has come back (with anything but a refusal)
        self._heard = False
        self._settled = asyncio.Event()
        self._style: ResponseFormat = initial_style(config)
        self._consecutive_failures = 0
        self._owns_pool = pool is None
        self._pool = pool or TransportPool()

    async def aclose(self) -> None:
        """Close the connections this client opened (not those of a shared pool)."""
        if self._owns_pool:
            await self._pool.aclose()

    @property
    def response_style(self) -> ResponseFormat:
        """The structured-output style requests use now (``json_object`` after a fallback)."""
        return self._style

    async def complete(
        self,
        messages: ChatMessages,
        schema: dict[str, Any],
        schema_name: str = "answer",
        *,
        max_tokens: int | None = None,
        cache_key: str | None = None,
    ) -> Completion:
        """Send one request; retry transient failures; raise ``LLMRequestError`` when they
        persist or the request is rejected, ``LLMRunStopped`` when the run has stopped
        (provider down or refusing, budget spent): then nothing more is sent.
        ``max_tokens`` caps this answer (within ``max_output_tokens``); ``cache_key`` names
        the requests that share a prompt prefix (sent as a cache hint, see ``cache_hints``)."""
        last_error: Exception | None = None
        attempts = 0
        while attempts <= self.config.max_retries:
            try:
                response = await self._send(
                    messages,
                    self._response_format(schema, schema_name),
                    max_tokens=max_tokens,
                    cache_key=cache_key,
                )
            except LLMRunStopped:
                raise
            except Exception as exc:
                if self._should_fall_back(exc):
                    log.warning("server rejects json_schema output; using json_object from now on")
                    self._style = "json_object"
                    continue  # the fallback is not a retry of a failure
                last_error, attempts = exc, attempts + 1
                if not is_retryable(exc):
                    break
                if attempts <= self.config.max_retries:
                    await self._sleep(self._wait_before_retry(exc, attempts - 1))
                continue
            self._consecutive_failures = 0
            return self._completion(response)
        self._note_failure(last_error)
        if last_error is not None and not is_retryable(last_error):
            raise LLMRequestRejected(
                f"model {self.config.model} rejected the request ({short_error(last_error)}); "
                "not retried: the same request would be rejected again"
            )
        raise LLMRequestError(
            f"model {self.config.model} failed after {attempts} attempts: {short_error(last_error)}"
        )

    async def _send(
        self,
        messages: ChatMessages,
        response_format: dict[str, Any] | None,
        model: str | None = None,
        *,
        max_tokens: int | None = None,
        cache_key: str | None = None,
        **extra: Any,
    ) -> WireAnswer:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
            self._first = asyncio.Lock()
        assert self._first is not None
        model = model or self.config.model
        params = chat_params(self.config, messages, response_format, max_tokens) | extra
        if self.config.cache_hints:
            hinted, fields = cache_hints(self._provider(model), model, messages, cache_key)
            params |= {"messages": hinted, **fields}
        async with self._semaphore:
            if not self._heard:
                # the first request goes alone: a refused key or model stops the run after
                # one request, not after one per slot
                async with self._first:
                    if not self._heard:
                        answer = await self._send_now(model, messages, params)
                        self._heard = True
                        return answer
            return await self._send_now(model, messages, params)

    def _provider(self, model: str) -> str:
        """``http`` for the lean transport, else litellm's name of the model's provider."""
        if transport_for(self.config, model) == "http":
            return "http"
        return provider_of(model)

    async def _send_now(
        self, model: str, messages: ChatMessages, params: dict[str, Any]
    ) -> WireAnswer:
        """One request, within the budget: reserved before, settled after."""
        self._raise_if_stopped()
        reserved = await self._reserve(model, messages)
        try:
            # backstop in case a transport ignores its own timeout
            answer = await asyncio.wait_for(
                self._post(model, params), timeout=self.config.request_timeout_s * 1.5 + 1
            )
        except BaseException as exc:
            self.budget.cancel(reserved, maybe_billed=_timed_out(exc))
            self._budget_changed()
            if isinstance(exc, Exception):
                self._raise_if_fatal(exc)
                self._heard = True  # an answer, or a failure a retry may fix
            raise
        cost = call_cost(
            self.config,
            answer.prompt_tokens,
            answer.completion_tokens,
            model,
            cached=answer.cached_tokens,
            written=answer.cache_write_tokens,
        )
        self.budget.settle(reserved, cost)
        self._budget_changed()
        return answer

    async def _reserve(self, model: str, messages: ChatMessages) -> float:
        """Hold the request's worst case; wait while it does not fit and other requests are
        in flight; stop the run when it cannot fit at all."""
        if self.budget.limit_usd is None:
            return 0.0
        worst = worst_case_usd(self.config, model, messages)
        if worst is None:  # ``require_prices`` refuses such a run before it starts
            raise ConfigError(f"no price known for model {model}: set AMC_PRICES")
        while True:
            try:
                if self.budget.try_reserve(worst):
                    return worst
            except LLMBudgetExceeded as exc:
                self.stop = self.stop or exc
                self._raise_if_stopped()
            await self._settled.wait()
            self._raise_if_stopped()

    def _budget_changed(self) -> None:
        """Wake the requests waiting for budget (they try again)."""
        self._settled.set()
        self._settled = asyncio.Event()

    def _raise_if_stopped(self) -> None:
        stop = self.stop
        if stop is not None:  # a fresh exception per request: they end in different tasks
            raise type(stop)(str(stop), stop.reason)

    async def _post(self, model: str, params: dict[str, Any]) -> WireAnswer:
        cfg = self.config
        if transport_for(cfg, model) == "http":
            body = {"model": model.removeprefix("openai/"), **params}
            http = self._pool.http(cfg.api_base, cfg.key or DUMMY_KEY)
            return answer_from_json(await http.chat(body, cfg.request_timeout_s))
        kwargs: dict[str, Any] = {
            "model": model,
            "timeout": cfg.request_timeout_s,
            "num_retries": 0,  # retries are ours (see module docstring)
            "max_retries": 0,
            **params,
        }
        if "response_format" in kwargs:  # its schema is the run's own: litellm gets a copy
            kwargs["response_format"] = copy.deepcopy(kwargs["response_format"])
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.key or cfg.api_base:
            kwargs["api_key"] = cfg.key or DUMMY_KEY
        return answer_from_litellm(await load_litellm().acompletion(**kwargs))

    def _response_format(self, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
        return response_format_for(self._style, schema, name)

    def _should_fall_back(self, exc: Exception) -> bool:
        if self.config.response_format != "auto" or self._style != "json_schema":
            return False
        status = getattr(exc, "status_code", None)
        text = str(exc).lower()
        return status in (400, 422, 500, 501) and (
            "json_schema" in text or "response_format" in text
        )

    def _raise_if_fatal(self, exc: Exception) -> None:
        """A 401/403/404 stops the run: no retry and no other request fixes a key, an
        access right or a model name."""
        status = getattr(exc, "status_code", None)
        if status not in FATAL_STATUS:
            return
        cfg = self.config
        where = f"model {cfg.model} at {cfg.api_base or 'the provider'}"
        advice = {
            401: "the API key was refused: check AMC_API_KEY or the provider's variable "
            "(OPENAI_API_KEY for openai/ models), and --api-base",
            403: "access denied: check that the API key (AMC_API_KEY or OPENAI_API_KEY) may "
            "use this model, and --api-base",
        }.get(status, "no such model or endpoint: check --model (AMC_MODEL) and --api-base "
              "(AMC_API_BASE)")  # fmt: skip
        self.stop = self.stop or LLMProviderRefused(
            f"{where} refused the request (HTTP {status}: {short_error(exc)}); {advice}",
            reason=f"the provider refused the request (HTTP {status})",
        )
        self._raise_if_stopped()

    def _wait_before_retry(self, exc: Exception, attempt: int) -> float:
        cap = self.config.backoff_max_s
        retry_after = retry_after_s(exc)
        if retry_after is not None:
            # the server said when: wait that long, plus a little jitter to spread clients
            return min(cap, retry_after) + random.uniform(0, 0.1)
        backoff = min(cap, self.config.backoff_s * 2**attempt)
        return backoff * random.uniform(0.5, 1.0)

    def _note_failure(self, error: Exception | None) -> None:
        """Count a request that failed for good; at ``max_consecutive_failures`` in a row
        the breaker opens: the run stops and nothing more is sent."""
        self._consecutive_failures += 1
        limit = self.config.max_consecutive_failures
        if self._consecutive_failures >= limit and self.stop is None:
            self.stop = LLMUnavailableError(
                f"{limit} requests in a row failed (last: {short_error(error)}); the model "
                f"{self.config.model} at {self.config.api_base or 'the provider'} looks "
                "unavailable: check the server, --api-base and the API key",
                reason=f"{limit} LLM requests in a row failed",
            )
        if self._consecutive_failures >= limit:
            self._raise_if_stopped()

    def _completion(self, answer: WireAnswer) -> Completion:
        return Completion(
            text=answer.text,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            response_format=self._style,
            finish_reason=answer.finish_reason,
            cached_tokens=answer.cached_tokens,
            cache_write_tokens=answer.cache_write_tokens,
        )

    async def yes_probability(self, messages: ChatMessages) -> tuple[float, int, int]:
        """P("yes") of a one-token yes/no answer, read from the log-probabilities (the
        reference tool's reranker; 0.5 without logprobs), with prompt and completion tokens."""
        model = self.config.rerank_model or self.config.model
        try:
            answer = await self._send(
                messages, None, model, max_tokens=1, logprobs=True, top_logprobs=5
            )
        except LLMRunStopped:
            raise
        except Exception as exc:
            raise LLMRequestError(f"reranker request failed: {short_error(exc)}") from None
        return yes_probability(answer), answer.prompt_tokens, answer.completion_tokens


def _timed_out(exc: BaseException) -> bool:
    """No answer came in time: the provider may still have done (and billed) the work."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return True
    litellm = sys.modules.get("litellm")
    return litellm is not None and isinstance(exc, litellm.Timeout)


__all__ = [
    "Completion",
    "LLMClient",
    "TransportPool",
    "check_credentials",
    "import_transports",
    "transport_for",
]
