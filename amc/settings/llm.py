"""The LLM tier's settings: one model, nested in ``Settings`` as ``settings.llm``.

Each field is declared once, here, and read directly by the LLM tier. From
outside it keeps the flat name it has always had: the environment variable is
``AMC_`` + its flat name, the config file and the command-line flags use the
flat name too. The flat name is ``llm_<field>`` unless the field says
otherwise (``flat_name``): ``timeout_s`` is ``AMC_LLM_TIMEOUT_S``, ``model`` is
``AMC_MODEL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from amc.settings.paths import CACHE_FILE, default_home

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]
#: one call per (paper, telescope) pair, or one per paper for all its telescopes
LLMMode = Literal["pair", "paper"]
RerankKind = Literal["lexical", "llm"]
TransportKind = Literal["auto", "litellm", "http"]
#: OpenAI's processing tiers: "flex" is cheaper and slower (requests may queue or be refused)
ServiceTier = Literal["standard", "flex"]


def _flat(name: str) -> dict[str, Any]:
    return {"flat": name}


class ModelPrice(BaseModel):
    """US dollars per million tokens; overrides litellm's bundled price map. Prompt tokens
    read from the provider's prompt cache cost ``cached_input_per_mtok`` and those written
    to it ``cache_write_per_mtok`` (both default to the input price: no discount assumed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_mtok: float = Field(ge=0.0)
    output_per_mtok: float = Field(ge=0.0)
    cached_input_per_mtok: float | None = Field(None, ge=0.0)
    cache_write_per_mtok: float | None = Field(None, ge=0.0)

    def cost(
        self, prompt_tokens: int, completion_tokens: int, cached: int = 0, written: int = 0
    ) -> float:
        """US dollars of one call; ``cached`` and ``written`` are parts of ``prompt_tokens``."""
        cached_price = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else (self.cached_input_per_mtok)
        )
        write_price = (
            self.input_per_mtok
            if self.cache_write_per_mtok is None
            else (self.cache_write_per_mtok)
        )
        plain = max(0, prompt_tokens - cached - written)
        return (
            plain * self.input_per_mtok
            + cached * cached_price
            + written * write_price
            + completion_tokens * self.output_per_mtok
        ) / 1e6


class LLMSettings(BaseModel):
    """Every knob of the LLM tier (the field descriptions are the README's table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(
        "openai/gpt-4o-mini",
        description="litellm model string (provider keys in their usual variables, e.g. "
        "OPENAI_API_KEY); 'openai/NAME' with api_base for an OpenAI-compatible server.",
        json_schema_extra=_flat("model"),
    )
    api_base: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama).",
        json_schema_extra=_flat("api_base"),
    )
    api_key: SecretStr | None = Field(
        None,
        description="LLM API key; default: the provider's usual variable (OPENAI_API_KEY for "
        "openai/ models), read once at start-up.",
        json_schema_extra=_flat("api_key"),
    )
    transport: TransportKind = Field(
        "auto",
        description="'http': a lean pooled HTTP client for OpenAI-compatible endpoints; "
        "'litellm': any provider; 'auto': http for openai/ models, litellm otherwise.",
    )
    concurrency: int = Field(8, ge=1, le=1024, description="LLM requests in flight at once.")
    timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM request.")
    max_retries: int = Field(4, ge=0, le=20, description="Retries of one LLM request.")
    max_consecutive_failures: int = Field(
        10, ge=1, description="LLM requests failing in a row before the run stops."
    )
    backoff_s: float = Field(
        1.0, ge=0, description="First retry wait of an LLM request (doubles, jittered)."
    )
    backoff_max_s: float = Field(
        60.0, ge=0, description="Longest wait between two retries of an LLM request."
    )
    max_reasks: int = Field(
        1, ge=0, le=5, description="Re-asks of one pair after an invalid or unsupported answer."
    )
    temperature: float | None = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    max_output_tokens: int = Field(800, ge=16, description="Cap on tokens of one answer.")
    max_snippets: int = Field(
        8, ge=1, description="Prompts that quote (v1): snippets of one telescope sent to the model."
    )
    max_snippet_chars: int = Field(
        1500,
        ge=100,
        description="Prompts that quote (v1): characters kept of one snippet (cut around its "
        "hits).",
    )
    max_prompt_chars: int = Field(
        24_000,
        ge=1000,
        description="Prompts that quote (v1): characters of snippet text in one request, all "
        "telescopes.",
    )
    evidence_tokens: int = Field(
        400,
        ge=50,
        description="Evidence budget of prompts that number sentences (the default ones): "
        "about this many tokens (characters / 4) of paper text per pair, filled by rank, hit "
        "sentences first, then their context; repeated sentences are sent once.",
    )
    mode: LLMMode = Field(
        "pair", description="One LLM call per pair, or per paper for all its telescopes."
    )
    rerank: RerankKind = Field(
        "lexical",
        description="Snippet ranking before the call: local, or LLM yes/no calls.",
        json_schema_extra=_flat("rerank"),
    )
    rerank_model: str | None = Field(
        None, description="Model of the 'llm' reranker (default: the model)."
    )
    response_format: ResponseFormat = Field(
        "auto",
        description="Structured-output style sent to the model.",
        json_schema_extra=_flat("response_format"),
    )
    prompt_name: str = Field("classify_pair.v3", description="Prompt file of pair mode.")
    paper_prompt_name: str = Field("classify_paper.v3", description="Prompt file of paper mode.")
    prompts_dir: Path | None = Field(
        None, description="Folder of prompt files (default: the prompts shipped with amc)."
    )
    cache_path: Path | None = Field(
        default_factory=lambda: default_home() / CACHE_FILE,
        description="SQLite file of cached LLM answers (default `llm-cache.sqlite` in AMC_HOME).",
        json_schema_extra=_flat("cache_path"),
    )
    use_cache: bool = Field(
        True,
        description="Read and write the LLM answer cache.",
        json_schema_extra=_flat("use_cache"),
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description='Prices per model in US dollars per million tokens, e.g. {"openai/local": '
        '{"input_per_mtok": 0.4, "output_per_mtok": 1.6, "cached_input_per_mtok": 0.1}} (JSON in '
        "the environment); cached_input_per_mtok (prompt-cache reads) and cache_write_per_mtok "
        "(cache writes) default to the input price.",
        json_schema_extra=_flat("prices"),
    )
    max_cost_usd: float | None = Field(
        None,
        ge=0,
        description="Hard ceiling on an LLM run's cost in dollars: a request whose worst case "
        "does not fit in what is left is not sent (the model needs a price).",
        json_schema_extra=_flat("max_cost_usd"),
    )
    cache_hints: bool = Field(
        True,
        description="Ask the provider to cache the prompt's static start: prompt_cache_key "
        "(one per paper) for OpenAI-style endpoints, cache_control on the system message for "
        "Anthropic models; turn off for a server that rejects unknown request fields.",
    )
    chunk_pairs: int = Field(
        256,
        ge=1,
        description="Pairs submitted ahead of the output or the store (at least "
        "llm_concurrency keeps every LLM slot busy).",
    )
    batch_poll_s: float = Field(
        30.0,
        gt=0,
        description="Batch API: first wait between status polls (doubles to 10 min).",
        json_schema_extra=_flat("batch_poll_s"),
    )
    batch_max_requests: int = Field(
        50_000,
        ge=1,
        description="Batch API: most requests in one input file (the provider's limit); a "
        "larger batch is split into several files, submitted in order.",
        json_schema_extra=_flat("batch_max_requests"),
    )
    batch_max_bytes: int = Field(
        200 * 2**20,
        ge=4096,
        description="Batch API: largest input file in bytes (the provider's limit).",
        json_schema_extra=_flat("batch_max_bytes"),
    )
    batch_daily_tokens: int | None = Field(
        None,
        ge=1,
        description="Batch API: most tokens (prompts plus expected answers) sent in any 24 "
        "hours; files beyond it go out on a later run (the plan shows the day of each).",
        json_schema_extra=_flat("batch_daily_tokens"),
    )
    service_tier: ServiceTier = Field(
        "standard",
        description="'flex': OpenAI flex processing for online calls: Batch API prices, "
        "slower answers (llm_flex_timeout_s), 429 'resource unavailable' retried with backoff. "
        "OpenAI models only.",
    )
    flex_timeout_s: float = Field(
        900.0, gt=0, description="Timeout of one request with llm_service_tier=flex."
    )
    rpm: int | None = Field(
        None, ge=1, description="LLM requests per minute for the whole worker fleet (Redis)."
    )
    tpm: int | None = Field(
        None, ge=1, description="LLM tokens per minute for the whole worker fleet (Redis)."
    )

    @property
    def key(self) -> str | None:
        """The API key as plain text (only the LLM client sends it anywhere)."""
        return self.api_key.get_secret_value() if self.api_key else None

    @property
    def request_timeout_s(self) -> float:
        """Timeout of one online request: flex requests may wait in OpenAI's queue."""
        return max(self.timeout_s, self.flex_timeout_s) if self.flex else self.timeout_s

    @property
    def flex(self) -> bool:
        return self.service_tier == "flex"

    @field_validator("service_tier")
    @classmethod
    def _flex_is_openai(cls, tier: ServiceTier, info: ValidationInfo) -> ServiceTier:
        model = str(info.data.get("model") or "")
        if tier == "flex" and "/" in model and not model.startswith("openai/"):
            raise ValueError(
                f"'flex' is OpenAI flex processing and model {model!r} is not an OpenAI model "
                "(use openai/<model>, or the standard tier)"
            )
        return tier


def flat_name(name: str, field: FieldInfo) -> str:
    """The outside name of an LLM field: ``AMC_`` + it is its environment variable."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("flat"), str):
        return str(extra["flat"])
    return f"llm_{name}"


#: flat outside name -> field of ``LLMSettings``
FLAT_NAMES: dict[str, str] = {
    flat_name(name, field): name for name, field in LLMSettings.model_fields.items()
}
