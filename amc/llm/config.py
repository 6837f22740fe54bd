"""Every knob of the LLM tier in one model, built once at the edge from ``Settings``.

The lead maps ``AMC_LLM_*`` settings onto these fields; nothing in ``amc.llm``
reads the environment (provider keys such as ``OPENAI_API_KEY`` are read by
litellm itself when ``api_key`` is not given; the lean HTTP transport needs
``api_key`` or, for a local server, ``api_base``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]
Mode = Literal["pair", "paper"]
Rerank = Literal["lexical", "llm"]
TransportChoice = Literal["auto", "litellm", "http"]


class ModelPrice(BaseModel):
    """US dollars per million tokens; overrides litellm's bundled price map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0.0)
    output_per_mtok: float = Field(ge=0.0)


class LLMConfig(BaseModel):
    """Settings of the LLM tier (see the field descriptions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        "openai/gpt-4o-mini",
        description="litellm model string, e.g. 'openai/gpt-4o-mini' or 'openai/local' "
        "for an OpenAI-compatible local server (with api_base).",
    )
    api_base: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1."
    )
    api_key: str | None = Field(
        None,
        description="API key; when unset litellm reads the provider's usual variable "
        "(OPENAI_API_KEY, ...) and the 'http' transport refuses to call OpenAI itself. "
        "Local servers (api_base) get a dummy key.",
        repr=False,
    )
    transport: TransportChoice = Field(
        "auto",
        description="How requests travel: 'litellm' (every provider), 'http' (a lean "
        "keep-alive client for OpenAI-compatible endpoints; far less CPU per call), or "
        "'auto': http for 'openai/' models when api_key or api_base is set, else litellm.",
    )
    concurrency: int = Field(8, ge=1, le=1024, description="Requests in flight at once.")
    timeout_s: float = Field(60.0, gt=0, description="Timeout of one HTTP request.")
    max_retries: int = Field(
        4,
        ge=0,
        le=20,
        description="Retries of one request on 429, 5xx, timeouts, lost connections.",
    )
    backoff_base_s: float = Field(
        1.0, ge=0, description="First retry waits about this long; doubles each retry (jittered)."
    )
    backoff_max_s: float = Field(60.0, ge=0, description="Longest wait between two retries.")
    max_consecutive_failures: int = Field(
        10,
        ge=1,
        description="Requests failing in a row (after retries) before the run stops with "
        "LLMUnavailableError.",
    )
    max_reasks: int = Field(
        1, ge=0, le=5, description="Re-asks of one pair after an invalid or unsupported answer."
    )
    temperature: float | None = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_output_tokens: int = Field(800, ge=16, description="Cap on tokens of one answer.")
    max_snippets: int = Field(8, ge=1, description="Snippets of one telescope sent to the model.")
    max_snippet_chars: int = Field(
        1500, ge=100, description="Characters kept of one snippet (cut around its hits)."
    )
    max_prompt_chars: int = Field(
        24_000, ge=1000, description="Characters of snippet text in one request, all telescopes."
    )
    mode: Mode = Field(
        "pair",
        description="'pair': one call per (paper, telescope); 'paper': one call per paper "
        "for all its candidate telescopes.",
    )
    rerank: Rerank = Field(
        "lexical",
        description="Snippet ranking: 'lexical' (no calls) or 'llm' (one yes/no call per "
        "snippet reading P(yes) from log-probabilities, like the reference tool).",
    )
    rerank_model: str | None = Field(
        None, description="Model of the 'llm' reranker (default: model)."
    )
    response_format: ResponseFormat = Field(
        "auto",
        description="'json_schema' (OpenAI structured output), 'json_object' (with the schema "
        "attached, what llama.cpp servers accept), 'none' (prompted JSON, validated), or "
        "'auto': json_schema, falling back to json_object once the server rejects it.",
    )
    prompt_name: str = Field("classify_pair.v1", description="Prompt file of pair mode.")
    paper_prompt_name: str = Field("classify_paper.v1", description="Prompt file of paper mode.")
    prompts_dir: Path | None = Field(
        None, description="Folder of prompt files (default: the prompts/ shipped with amc)."
    )
    cache_path: Path | None = Field(
        Path(".amc-cache/llm.sqlite"), description="SQLite file of cached answers (None: no cache)."
    )
    use_cache: bool = Field(True, description="Read and write the answer cache.")
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="Prices per model string, e.g. {'openai/local': {'input_per_mtok': 0.1, "
        "'output_per_mtok': 0.4}}; unset models use litellm's bundled map, else cost is unknown.",
    )
    max_cost_usd: float | None = Field(
        None, ge=0, description="Stop the run once the spent cost reaches this budget."
    )
