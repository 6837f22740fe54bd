"""The one seam to the model provider: the only module that imports litellm.

``LLMClient.complete`` sends one chat request and returns its text and usage.
It owns everything about transport: the concurrency limit, the per-request
timeout, retries with exponential backoff and jitter (honouring
``Retry-After``), the structured-output style (with a one-time fallback from
``json_schema`` to ``json_object`` when a server rejects the former, as
llama.cpp does) and the consecutive-failure breaker that stops a run when the
provider is down. litellm's own retries are switched off so the ones here are
the only ones that count.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from amc.llm.config import LLMConfig, ResponseFormat
from amc.llm.errors import LLMRequestError, LLMUnavailableError

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

    def __init__(self, config: LLMConfig, *, sleep: Sleep = asyncio.sleep) -> None:
        self.config = config
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._style: ResponseFormat = initial_style(config)
        self._consecutive_failures = 0

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

    async def _send(self, messages: Messages, response_format: dict[str, Any] | None) -> Any:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        kwargs = self._request_kwargs(messages, response_format)
        async with self._semaphore:
            # backstop in case a transport ignores its own timeout
            return await asyncio.wait_for(
                _litellm().acompletion(**kwargs), timeout=self.config.timeout_s * 1.5 + 1
            )

    def _request_kwargs(
        self, messages: Messages, response_format: dict[str, Any] | None
    ) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "timeout": cfg.timeout_s,
            "num_retries": 0,  # retries are ours (see module docstring)
            "max_retries": 0,
            **chat_params(cfg, messages, response_format),
        }
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if cfg.api_key or cfg.api_base:
            kwargs["api_key"] = cfg.api_key or _DUMMY_KEY
        return kwargs

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

    def _completion(self, response: Any) -> Completion:
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            response_format=self._style,
            finish_reason=str(choice.finish_reason or "stop"),
        )

    async def yes_probability(self, messages: Messages) -> tuple[float, int, int]:
        """P("yes") of a one-token yes/no answer, read from the log-probabilities (the
        reference tool's reranker; 0.5 without logprobs), with prompt and completion tokens."""
        kwargs = self._request_kwargs(messages, None)
        kwargs |= {"max_tokens": 1, "logprobs": True, "top_logprobs": 5}
        if self.config.rerank_model:
            kwargs["model"] = self.config.rerank_model
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        try:
            async with self._semaphore:
                response = await _litellm().acompletion(**kwargs)
        except Exception as exc:
            raise LLMRequestError(f"reranker request failed: {_short(exc)}") from None
        usage = getattr(response, "usage", None)
        return (
            _yes_probability(response),
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
        )


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


def _yes_probability(response: Any) -> float:
    logprobs = getattr(response.choices[0], "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if not content:
        return 0.5
    yes = no = 0.0
    for top in getattr(content[0], "top_logprobs", None) or []:
        token = str(top.token).strip().lower()
        if token == "yes":
            yes += math.exp(top.logprob)
        elif token == "no":
            no += math.exp(top.logprob)
    return yes / (yes + no) if yes + no > 0 else 0.5


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, asyncio.TimeoutError | ConnectionError):
        return True
    litellm = _litellm()
    if isinstance(exc, litellm.Timeout | litellm.APIConnectionError | litellm.RateLimitError):
        return True
    return getattr(exc, "status_code", None) in _RETRYABLE_STATUS


def _retry_after_s(exc: Exception) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if any."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
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


def bundled_price(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost in US dollars from litellm's bundled price map; None for an unmapped model."""
    try:
        prompt_cost, completion_cost = _litellm().cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises several kinds for unmapped (local) models
        return None
    return float(prompt_cost) + float(completion_cost)
