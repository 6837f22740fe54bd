"""Which transport carries a request to a model, the connections they keep open, and the
key check before a run: the lean HTTP transport (``openai_http``, aiohttp) for
OpenAI-compatible endpoints, litellm for every other provider. Used by ``chat``."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from amc.classify.llm.provider.common import load_litellm
from amc.domain.errors import ConfigError
from amc.settings.llm import LLMSettings

if TYPE_CHECKING:
    from amc.classify.llm.provider.openai_http import OpenAIHTTP


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


def check_credentials(config: LLMSettings) -> None:
    """Refuse, before any request, a run whose OpenAI-style model has no key to send and no
    local server to send it to (``ConfigError`` naming where the key goes). Other
    providers read their own variables, or other credentials, through litellm: a bad or
    missing one is their first answer (401), which stops the run after that request."""
    if config.key or config.api_base:
        return
    for model in dict.fromkeys([config.model, config.rerank_model or config.model]):
        if model.startswith("openai/") or "/" not in model:
            raise ConfigError(
                f"model {model} needs an OpenAI API key: set OPENAI_API_KEY (or AMC_API_KEY), "
                "or give --api-base (AMC_API_BASE) for a local OpenAI-compatible server"
            )


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
