"""The one seam to the model provider: the only module that imports litellm.

``LLMClient.complete`` sends one chat request and returns its text and usage.
It owns everything about transport: the concurrency limit, the per-request
timeout, retries with exponential backoff and jitter (honouring
``Retry-After``), the structured-output style (with a one-time fallback from
``json_schema`` to ``json_object`` when a server rejects the former, as
llama.cpp does) and the consecutive-failure breaker that stops a run when the
provider is down. litellm's own retries are switched off so the ones here are
the only ones that count.

Two transports carry a request (``LLMConfig.transport``): litellm, for every
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
import email.utils
import logging
import math
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from amc.llm.config import LLMConfig, ResponseFormat
from amc.llm.errors import LLMRequestError, LLMUnavailableError

if TYPE_CHECKING:
    from amc.llm._openai_http import OpenAIHTTP

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
Sleep = Callable[[float], Awaitable[None]]

#: statuses that mean "try again later"; 408/409 are what some gateways send
_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529}
#: statuses that no retry will fix and that affect every request of the run
_FATAL_STATUS = {401, 403, 404}
#: a local server without a key still needs a non-empty one for the OpenAI client
_DUMMY_KEY = "sk-no-key-needed"


@cache
def _litellm() -> Any:
    """Import litellm on first use: the import takes seconds and the CLI must start fast."""
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banners in a librarian's terminal
    return litellm


@cache
def _openai_http() -> Any:
    """The lean transport's module (imports aiohttp, a few tenths of a second)."""
    from amc.llm import _openai_http

    return _openai_http


Transport = Literal["litellm", "http"]


def transport_for(config: LLMConfig, model: str) -> Transport:
    """The transport requests to ``model`` take. ``auto``: the lean HTTP one for
    ``openai/`` models when the key is known (``api_key``) or the server is local
    (``api_base``); otherwise litellm, which reads the provider's key variable itself."""
    if config.transport != "auto":
        return config.transport
    if model.startswith("openai/") and (config.api_key or config.api_base):
        return "http"
    return "litellm"


def import_transports(config: LLMConfig) -> None:
    """Import what requests with ``config`` will need (litellm takes seconds): litellm for
    its transport, or for prices not set in ``config.prices``; aiohttp for the HTTP one."""
    models = {config.model, config.rerank_model or config.model}
    transports = {transport_for(config, m) for m in models}
    if "litellm" in transports or any(m not in config.prices for m in models):
        _litellm()
    if "http" in transports:
        _openai_http()


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
class _Answer:
    """What either transport's answer is reduced to."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    #: (token, logprob) of the first answer token's alternatives, when asked for
    top_logprobs: list[tuple[str, float]] = field(default_factory=list)


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


class LLMClient:
    """Async chat client with a concurrency limit, retries and a failure breaker."""

    def __init__(
        self,
        config: LLMConfig,
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
        self, messages: Messages, schema: dict[str, Any], schema_name: str = "answer"
    ) -> Completion:
        """Send one request; retry transient failures; raise ``LLMRequestError`` when they
        persist, ``LLMUnavailableError`` when the provider is unusable for the whole run."""
        last_error: Exception | None = None
        attempt = 0
        while attempt <= self.config.max_retries:
            try:
                response = await self._send(messages, self._response_format(schema, schema_name))
            except Exception as exc:
                if self._should_fall_back(exc):
                    log.warning("server rejects json_schema output; using json_object from now on")
                    self._style = "json_object"
                    continue  # the fallback is not a retry of a failure
                self._raise_if_fatal(exc)
                if not _is_retryable(exc):
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
            f"model {self.config.model} failed after {attempt} attempt(s): {_short(last_error)}"
        )

    async def _send(
        self,
        messages: Messages,
        response_format: dict[str, Any] | None,
        model: str | None = None,
        **extra: Any,
    ) -> _Answer:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        model = model or self.config.model
        params = chat_params(self.config, messages, response_format) | extra
        async with self._semaphore:
            # backstop in case a transport ignores its own timeout
            return await asyncio.wait_for(
                self._post(model, params), timeout=self.config.timeout_s * 1.5 + 1
            )

    async def _post(self, model: str, params: dict[str, Any]) -> _Answer:
        cfg = self.config
        if transport_for(cfg, model) == "http":
            body = {"model": model.removeprefix("openai/"), **params}
            http = self._pool.http(cfg.api_base, self._http_key())
            return _answer_from_json(await http.chat(body, cfg.timeout_s))
        kwargs: dict[str, Any] = {
            "model": model,
            "timeout": cfg.timeout_s,
            "num_retries": 0,  # retries are ours (see module docstring)
            "max_retries": 0,
            **params,
        }
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key or cfg.api_base:
            kwargs["api_key"] = cfg.api_key or _DUMMY_KEY
        return _answer_from_litellm(await _litellm().acompletion(**kwargs))

    def _http_key(self) -> str:
        """The bearer key of the HTTP transport: the configured one, else a dummy one for a
        local server; OpenAI itself without a key is refused here, before any request."""
        cfg = self.config
        if cfg.api_key or cfg.api_base:
            return cfg.api_key or _DUMMY_KEY
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
        if status in _FATAL_STATUS:
            raise LLMUnavailableError(
                f"model {self.config.model} at {self.config.api_base or 'the provider'} "
                f"refused the request (HTTP {status}: {_short(exc)}); check the API key "
                "(OPENAI_API_KEY or --api-key), --api-base and --model"
            ) from None

    def _wait_before_retry(self, exc: Exception, attempt: int) -> float:
        cap = self.config.backoff_max_s
        retry_after = _retry_after_s(exc)
        if retry_after is not None:
            # the server said when: wait that long, plus a little jitter to spread clients
            return min(cap, retry_after) + random.uniform(0, 0.1)
        backoff = min(cap, self.config.backoff_base_s * 2**attempt)
        return backoff * random.uniform(0.5, 1.0)

    def _note_failure(self, error: Exception | None) -> None:
        self._consecutive_failures += 1
        limit = self.config.max_consecutive_failures
        if self._consecutive_failures >= limit:
            raise LLMUnavailableError(
                f"{limit} requests in a row failed (last: {_short(error)}); the model "
                f"{self.config.model} at {self.config.api_base or 'the provider'} looks "
                "unavailable: check the server, --api-base and the API key, then run again "
                "(finished pairs are cached)"
            )

    def _completion(self, answer: _Answer) -> Completion:
        return Completion(
            text=answer.text,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            response_format=self._style,
            finish_reason=answer.finish_reason,
        )

    async def yes_probability(self, messages: Messages) -> tuple[float, int, int]:
        """P("yes") of a one-token yes/no answer, read from the log-probabilities (the
        reference tool's reranker; 0.5 without logprobs), with prompt and completion tokens."""
        model = self.config.rerank_model or self.config.model
        try:
            answer = await self._send(
                messages, None, model, max_tokens=1, logprobs=True, top_logprobs=5
            )
        except Exception as exc:
            raise LLMRequestError(f"reranker request failed: {_short(exc)}") from None
        return _yes_probability(answer), answer.prompt_tokens, answer.completion_tokens


def initial_style(config: LLMConfig) -> ResponseFormat:
    """The structured-output style of the first request ("auto" starts with json_schema)."""
    return "json_schema" if config.response_format == "auto" else config.response_format


def response_format_for(
    style: ResponseFormat, schema: dict[str, Any], name: str = "answer"
) -> dict[str, Any] | None:
    """The ``response_format`` request field of a structured-output style."""
    if style == "json_schema":
        spec = {"name": name, "schema": schema, "strict": True}
        return {"type": "json_schema", "json_schema": spec}
    if style == "json_object":
        # llama.cpp-style servers constrain decoding to the attached schema
        return {"type": "json_object", "schema": schema}
    return None


def chat_params(
    config: LLMConfig, messages: Messages, response_format: dict[str, Any] | None
) -> dict[str, Any]:
    """The provider-facing fields of one chat request except the model: messages, limits,
    sampling and output style. The online path and each Batch API line send exactly these."""
    params: dict[str, Any] = {"messages": messages, "max_tokens": config.max_output_tokens}
    if config.temperature is not None:
        params["temperature"] = config.temperature
    if response_format is not None:
        params["response_format"] = response_format
    return params


def _answer_from_json(response: dict[str, Any]) -> _Answer:
    """An OpenAI chat.completion object, as decoded JSON."""
    choice = response["choices"][0]
    usage = response.get("usage") or {}
    logprobs = (choice.get("logprobs") or {}).get("content") or [{}]
    top = logprobs[0].get("top_logprobs") or []
    return _Answer(
        text=(choice.get("message") or {}).get("content") or "",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=str(choice.get("finish_reason") or "stop"),
        top_logprobs=[(str(t["token"]), float(t["logprob"])) for t in top],
    )


def _answer_from_litellm(response: Any) -> _Answer:
    """litellm's ``ModelResponse`` (the same object, as attributes)."""
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    top = (getattr(content[0], "top_logprobs", None) or []) if content else []
    return _Answer(
        text=choice.message.content or "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason=str(choice.finish_reason or "stop"),
        top_logprobs=[(str(t.token), float(t.logprob)) for t in top],
    )


def _yes_probability(answer: _Answer) -> float:
    """P("yes") among the yes/no alternatives of the first token; 0.5 without logprobs."""
    yes = no = 0.0
    for token, logprob in answer.top_logprobs:
        token = token.strip().lower()
        if token == "yes":
            yes += math.exp(logprob)
        elif token == "no":
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else 0.5


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, asyncio.TimeoutError | ConnectionError):
        return True
    litellm = sys.modules.get("litellm")  # not imported: the error is not litellm's
    if litellm is not None and isinstance(
        exc, litellm.Timeout | litellm.APIConnectionError | litellm.RateLimitError
    ):
        return True
    return getattr(exc, "status_code", None) in _RETRYABLE_STATUS


def _retry_after_s(exc: Exception) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if any."""
    headers = getattr(exc, "headers", None)  # the HTTP transport's errors
    headers = headers or getattr(getattr(exc, "response", None), "headers", None)
    headers = headers or getattr(exc, "litellm_response_headers", None) or {}
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _short(exc: Exception | None) -> str:
    if exc is None:
        return "no error recorded"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def count_tokens(model: str, messages: Messages) -> int:
    """Prompt tokens of ``messages`` for ``model``; works offline (bundled tokenizers)."""
    return int(_litellm().token_counter(model=model, messages=messages))


def count_text_tokens(model: str, text: str) -> int:
    """Tokens of a plain text for ``model`` (offline)."""
    return int(_litellm().token_counter(model=model, text=text))


#: models litellm has no price for (asking again costs ~0.5 ms per call)
_unpriced_models: set[str] = set()


def bundled_price(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost in US dollars from litellm's bundled price map; None for an unmapped model."""
    if model in _unpriced_models:
        return None
    try:
        prompt_cost, completion_cost = _litellm().cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises several kinds for unmapped (local) models
        _unpriced_models.add(model)
        return None
    return float(prompt_cost) + float(completion_cost)
