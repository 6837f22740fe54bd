"""The one seam to the model provider: the only module that imports litellm.

``LLMClient.complete`` sends one chat request and returns its text and usage.
It owns everything about transport: the concurrency limit, the per-request
timeout, retries with exponential backoff and jitter (honouring
``Retry-After``), the structured-output style (with a one-time fallback from
``json_schema`` to ``json_object`` when a server rejects the former, as
llama.cpp does) and the consecutive-failure breaker that stops a run when the
provider is down. litellm's own retries are switched off so the ones here are
the only ones that count.

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
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from amc.classify.llm.errors import LLMRequestError, LLMUnavailableError
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
from amc.settings.llm import LLMSettings, ResponseFormat

if TYPE_CHECKING:
    from amc.classify.llm.provider.openai_http import OpenAIHTTP

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@cache
def _openai_http() -> Any:
    """The lean transport's module (imports aiohttp, a few tenths of a second)."""
    from amc.classify.llm.provider import openai_http

    return openai_http


Transport = Literal["litellm", "http"]


def transport_for(config: LLMSettings, model: str) -> Transport:
    """The transport requests to ``model`` take. ``auto``: the lean HTTP one for
    ``openai/`` models when the key is known (``api_key``) or the server is local
    (``api_base``); otherwise litellm, which reads the provider's key variable itself."""
    if config.transport != "auto":
        return config.transport
    if model.startswith("openai/") and (config.key or config.api_base):
        return "http"
    return "litellm"


def import_transports(config: LLMSettings) -> None:
    """Import what requests with ``config`` will need (litellm takes seconds): litellm for
    its transport, or for prices not set in ``config.prices``; aiohttp for the HTTP one."""
    models = {config.model, config.rerank_model or config.model}
    transports = {transport_for(config, m) for m in models}
    if "litellm" in transports or any(m not in config.prices for m in models):
        load_litellm()
    if "http" in transports:
        _openai_http()


@cache
def provider_of(model: str) -> str:
    """litellm's provider name of a model string (``openai``, ``anthropic``, ...); ``""``
    when litellm does not know it."""
    try:
        return str(load_litellm().get_llm_provider(model)[1])
    except Exception:  # litellm raises several kinds for a model it cannot place
        return ""


class TransportPool:
    """Open connections, by endpoint and key; belongs to one event loop (a session cannot
    move between loops). ``aclose`` it on that loop when done."""

    def __init__(self) -> None:
        self._http: dict[tuple[str | None, str], OpenAIHTTP] = {}

    def http(self, api_base: str | None, api_key: str) -> OpenAIHTTP:
        key = (api_base, api_key)
        if key not in self._http:
            self._http[key] = _openai_http().OpenAIHTTP(api_base, api_key)
        return self._http[key]

    async def aclose(self) -> None:
        for transport in self._http.values():
            await transport.aclose()
        self._http.clear()


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
    """Async chat client with a concurrency limit, retries and a failure breaker."""

    def __init__(
        self,
        config: LLMSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        pool: TransportPool | None = None,
    ) -> None:
        """``pool``: connections shared with other clients on the same event loop; without
        one the client opens its own, closed by ``aclose``."""
        self.config = config
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._style: ResponseFormat = initial_style(config)
        self._consecutive_failures = 0
        self._owns_pool = pool is None
        self._pool = pool or TransportPool()
        for model in {config.model, config.rerank_model or config.model}:
            if transport_for(config, model) == "http":
                self._http_key()  # no key for OpenAI itself: stop before the first request

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
        persist, ``LLMUnavailableError`` when the provider is unusable for the whole run.
        ``max_tokens`` caps this answer (within ``max_output_tokens``); ``cache_key`` names
        the requests that share a prompt prefix (sent as a cache hint, see ``cache_hints``)."""
        last_error: Exception | None = None
        attempt = 0
        while attempt <= self.config.max_retries:
            try:
                response = await self._send(
                    messages,
                    self._response_format(schema, schema_name),
                    max_tokens=max_tokens,
                    cache_key=cache_key,
                )
            except Exception as exc:
                if self._should_fall_back(exc):
                    log.warning("server rejects json_schema output; using json_object from now on")
                    self._style = "json_object"
                    continue  # the fallback is not a retry of a failure
                self._raise_if_fatal(exc)
                if not is_retryable(exc):
                    last_error = exc
                    break
                last_error = exc
                if attempt < self.config.max_retries:
                    await self._sleep(self._wait_before_retry(exc, attempt))
                attempt += 1
                continue
            self._consecutive_failures = 0
            return self._completion(response)
        self._note_failure(last_error)
        raise LLMRequestError(
            f"model {self.config.model} failed after {attempt} attempt(s): "
            f"{short_error(last_error)}"
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
        model = model or self.config.model
        params = chat_params(self.config, messages, response_format, max_tokens) | extra
        if self.config.cache_hints:
            hinted, fields = cache_hints(self._provider(model), model, messages, cache_key)
            params |= {"messages": hinted, **fields}
        async with self._semaphore:
            # backstop in case a transport ignores its own timeout
            return await asyncio.wait_for(
                self._post(model, params), timeout=self.config.timeout_s * 1.5 + 1
            )

    def _provider(self, model: str) -> str:
        """``http`` for the lean transport, else litellm's name of the model's provider."""
        if transport_for(self.config, model) == "http":
            return "http"
        return provider_of(model)

    async def _post(self, model: str, params: dict[str, Any]) -> WireAnswer:
        cfg = self.config
        if transport_for(cfg, model) == "http":
            body = {"model": model.removeprefix("openai/"), **params}
            http = self._pool.http(cfg.api_base, self._http_key())
            return answer_from_json(await http.chat(body, cfg.timeout_s))
        kwargs: dict[str, Any] = {
            "model": model,
            "timeout": cfg.timeout_s,
            "num_retries": 0,  # retries are ours (see module docstring)
            "max_retries": 0,
            **params,
        }
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.key or cfg.api_base:
            kwargs["api_key"] = cfg.key or DUMMY_KEY
        return answer_from_litellm(await load_litellm().acompletion(**kwargs))

    def _http_key(self) -> str:
        """The bearer key of the HTTP transport: the configured one, else a dummy one for a
        local server; OpenAI itself without a key is refused here, before any request."""
        cfg = self.config
        if cfg.key or cfg.api_base:
            return cfg.key or DUMMY_KEY
        raise LLMUnavailableError(
            f"model {cfg.model}: no API key for the OpenAI API; set OPENAI_API_KEY or "
            "--api-key (or --api-base for a local OpenAI-compatible server)"
        )

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
        status = getattr(exc, "status_code", None)
        if status in FATAL_STATUS:
            raise LLMUnavailableError(
                f"model {self.config.model} at {self.config.api_base or 'the provider'} "
                f"refused the request (HTTP {status}: {short_error(exc)}); check the API key "
                "(OPENAI_API_KEY or --api-key), --api-base and --model"
            ) from None

    def _wait_before_retry(self, exc: Exception, attempt: int) -> float:
        cap = self.config.backoff_max_s
        retry_after = retry_after_s(exc)
        if retry_after is not None:
            # the server said when: wait that long, plus a little jitter to spread clients
            return min(cap, retry_after) + random.uniform(0, 0.1)
        backoff = min(cap, self.config.backoff_s * 2**attempt)
        return backoff * random.uniform(0.5, 1.0)

    def _note_failure(self, error: Exception | None) -> None:
        self._consecutive_failures += 1
        limit = self.config.max_consecutive_failures
        if self._consecutive_failures >= limit:
            raise LLMUnavailableError(
                f"{limit} requests in a row failed (last: {short_error(error)}); the model "
                f"{self.config.model} at {self.config.api_base or 'the provider'} looks "
                "unavailable: check the server, --api-base and the API key, then run again "
                "(finished pairs are cached)"
            )

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
        except Exception as exc:
            raise LLMRequestError(f"reranker request failed: {short_error(exc)}") from None
        return yes_probability(answer), answer.prompt_tokens, answer.completion_tokens
