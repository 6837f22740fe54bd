"""How one chat request and its answer look on the wire, whichever transport carries them:
the request fields, the structured-output style, the answer reduced to text and usage,
and which failures are worth a retry."""

from __future__ import annotations

import asyncio
import email.utils
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from amc.classify.llm.provider.common import RETRYABLE_STATUS, ChatMessages
from amc.settings.llm import LLMSettings, ResponseFormat


@dataclass(frozen=True)
class WireAnswer:
    """What either transport's answer is reduced to."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    #: (token, logprob) of the first answer token's alternatives, when asked for
    top_logprobs: list[tuple[str, float]] = field(default_factory=list)
    #: prompt tokens read from / written to the provider's prompt cache (parts of the prompt)
    cached_tokens: int = 0
    cache_write_tokens: int = 0


def initial_style(config: LLMSettings) -> ResponseFormat:
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
    config: LLMSettings,
    messages: ChatMessages,
    response_format: dict[str, Any] | None,
    max_tokens: int | None = None,
    *,
    online: bool = True,
) -> dict[str, Any]:
    """The provider-facing fields of one chat request except the model: messages, limits,
    sampling and output style. The online path and each Batch API line send exactly these,
    but the processing tier (``service_tier: flex``), which only online calls choose.
    ``max_tokens``: the request's own answer cap (default ``config.max_output_tokens``)."""
    cap = config.max_output_tokens
    if max_tokens is not None:
        cap = min(cap, max_tokens)
    params: dict[str, Any] = {"messages": messages, "max_tokens": cap}
    if config.temperature is not None:
        params["temperature"] = config.temperature
    if response_format is not None:
        params["response_format"] = response_format
    if online and config.flex:
        params["service_tier"] = "flex"
    return params


#: litellm providers that take Anthropic-style ``cache_control`` blocks
_CACHE_CONTROL_PROVIDERS = ("anthropic", "bedrock", "vertex_ai")


def cache_hints(
    provider: str, model: str, messages: ChatMessages, cache_key: str | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The messages and extra request fields that ask ``provider`` to cache the prompt's
    static start: OpenAI-style endpoints get ``prompt_cache_key`` (requests with the same
    key and prefix are routed to the same cache); Anthropic models (also on Bedrock and
    Vertex) get ``cache_control`` on the system message, the block that is the same in
    every request. Other providers get the request unchanged."""
    out: list[dict[str, Any]] = [dict(m) for m in messages]
    if provider in ("openai", "http"):
        return out, ({"prompt_cache_key": cache_key} if cache_key else {})
    if provider in _CACHE_CONTROL_PROVIDERS and "claude" in model.lower():
        for message in out:
            if message.get("role") == "system" and isinstance(message.get("content"), str):
                block = {"type": "text", "text": message["content"]}
                message["content"] = [block | {"cache_control": {"type": "ephemeral"}}]
                break
    return out, {}


def answer_from_json(response: dict[str, Any]) -> WireAnswer:
    """An OpenAI chat.completion object, as decoded JSON."""
    choice = response["choices"][0]
    usage = response.get("usage") or {}
    logprobs = (choice.get("logprobs") or {}).get("content") or [{}]
    top = logprobs[0].get("top_logprobs") or []
    cached, written = cache_tokens(usage)
    return WireAnswer(
        text=(choice.get("message") or {}).get("content") or "",
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=str(choice.get("finish_reason") or "stop"),
        top_logprobs=[(str(t["token"]), float(t["logprob"])) for t in top],
        cached_tokens=cached,
        cache_write_tokens=written,
    )


def answer_from_litellm(response: Any) -> WireAnswer:
    """litellm's ``ModelResponse`` (the same object, as attributes)."""
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    top = (getattr(content[0], "top_logprobs", None) or []) if content else []
    cached, written = cache_tokens(_as_dict(usage))
    return WireAnswer(
        text=choice.message.content or "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason=str(choice.finish_reason or "stop"),
        top_logprobs=[(str(t.token), float(t.logprob)) for t in top],
        cached_tokens=cached,
        cache_write_tokens=written,
    )


def cache_tokens(usage: dict[str, Any]) -> tuple[int, int]:
    """(read, written) prompt-cache tokens of a usage object, whichever provider's names it
    uses: OpenAI's ``prompt_tokens_details.cached_tokens`` / ``cache_write_tokens``, or
    Anthropic's ``cache_read_input_tokens`` / ``cache_creation_input_tokens`` (which
    litellm passes on as well)."""
    details = usage.get("prompt_tokens_details") or {}
    if not isinstance(details, dict):
        details = _as_dict(details)
    read = details.get("cached_tokens") or usage.get("cache_read_input_tokens") or 0
    written = details.get("cache_write_tokens") or details.get("cache_creation_tokens")
    written = written or usage.get("cache_creation_input_tokens") or 0
    return int(read), int(written)


def _as_dict(obj: Any) -> dict[str, Any]:
    """A pydantic-like usage object (litellm's) as a plain dict; {} for None."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        data = dump()
        return data if isinstance(data, dict) else {}
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def yes_probability(answer: WireAnswer) -> float:
    """P("yes") among the yes/no alternatives of the first token; 0.5 without logprobs."""
    yes = no = 0.0
    for token, logprob in answer.top_logprobs:
        token = token.strip().lower()
        if token == "yes":
            yes += math.exp(logprob)
        elif token == "no":
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else 0.5


def is_retryable(exc: Exception) -> bool:
    if isinstance(exc, asyncio.TimeoutError | ConnectionError):
        return True
    litellm = sys.modules.get("litellm")  # not imported: the error is not litellm's
    if litellm is not None and isinstance(
        exc, litellm.Timeout | litellm.APIConnectionError | litellm.RateLimitError
    ):
        return True
    return getattr(exc, "status_code", None) in RETRYABLE_STATUS


def retry_after_s(exc: Exception) -> float | None:
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
