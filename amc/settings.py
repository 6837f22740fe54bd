"""One settings object, built once at the edge (CLI start, worker start) and passed down.

Precedence, highest first: command-line flags > ``AMC_*`` environment
variables > the config file (TOML) > defaults. The config file is the one
named by ``--config`` or ``AMC_CONFIG``, else ``./amc.toml`` if it exists.
Nothing below the edge reads ``os.environ``.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from amc.errors import ConfigError

DEFAULT_CONFIG_FILE = "amc.toml"
Tier = Literal["rules", "trained", "llm", "cascade"]

# values of the config file being loaded, read by the lowest-priority settings source
_config_values: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "amc_config_values", default=None
)


class Settings(BaseSettings):
    """Every knob of amc. Field docs are the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="AMC_", extra="forbid", validate_default=True)

    registry_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Extra telescope registry files (YAML/TOML) layered over the bundled one; "
        "comma-separated in the environment.",
    )
    window_sentences: int = Field(
        3, ge=0, le=50, description="Sentences of context kept on each side of a keyword hit."
    )
    tier: Tier = Field("rules", description="Classification tier used by `amc classify`.")
    skip_bad_rows: bool = Field(
        False, description="Record bad input rows as errors and go on instead of stopping."
    )
    allow_extra_columns: bool = Field(
        False, description="Ignore unknown input columns instead of failing."
    )
    chunk_rows: int = Field(
        2000, ge=1, description="Rows read at a time from parquet/CSV/JSONL inputs."
    )
    include_references: bool = Field(
        False, description="Also search a paper's reference list (kept apart by PDF extraction)."
    )
    max_field_chars: int = Field(
        20_000_000,
        ge=1000,
        description="A text field longer than this is an input error for that row.",
    )
    progress: bool = Field(True, description="Show progress bars on a terminal.")
    pdf_max_pages: int = Field(500, ge=1, description="A PDF with more pages is an error.")
    pdf_max_bytes: int = Field(
        100 * 2**20, ge=1024, description="A PDF file bigger than this is an error."
    )

    # --- LLM tier (amc.llm.LLMConfig is built from these) -------------------------
    model: str = Field(
        "openai/gpt-4o-mini",
        description="litellm model string (provider keys in their usual variables, e.g. "
        "OPENAI_API_KEY); 'openai/NAME' with api_base for an OpenAI-compatible server.",
    )
    api_base: str | None = Field(
        None, description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama)."
    )
    api_key: SecretStr | None = Field(
        None,
        description="LLM API key; default: the provider's usual variable (OPENAI_API_KEY for "
        "openai/ models), read once at start-up.",
    )
    llm_transport: Literal["auto", "litellm", "http"] = Field(
        "auto",
        description="'http': a lean pooled HTTP client for OpenAI-compatible endpoints; "
        "'litellm': any provider; 'auto': http for openai/ models, litellm otherwise.",
    )
    llm_concurrency: int = Field(8, ge=1, le=1024, description="LLM requests in flight at once.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout of one LLM request.")
    llm_max_retries: int = Field(4, ge=0, le=20, description="Retries of one LLM request.")
    llm_max_consecutive_failures: int = Field(
        10, ge=1, description="LLM requests failing in a row before the run stops."
    )
    llm_backoff_s: float = Field(
        1.0, ge=0, description="First retry wait of an LLM request (doubles, jittered)."
    )
    llm_mode: Literal["pair", "paper"] = Field(
        "pair", description="One LLM call per pair, or per paper for all its telescopes."
    )
    rerank: Literal["lexical", "llm"] = Field(
        "lexical", description="Snippet ranking before the call: local, or LLM yes/no calls."
    )
    response_format: Literal["auto", "json_schema", "json_object", "none"] = Field(
        "auto", description="Structured-output style sent to the model."
    )
    cache_path: Path = Field(
        Path(".amc-cache/llm.sqlite"), description="SQLite file of cached LLM answers."
    )
    use_cache: bool = Field(True, description="Read and write the LLM answer cache.")
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description='Prices per model, e.g. {"openai/local": {"input_per_mtok": 0.1, '
        '"output_per_mtok": 0.4}} (JSON in the environment).',
    )
    max_cost_usd: float | None = Field(
        None, ge=0, description="Stop an LLM run once its cost reaches this many dollars."
    )
    cascade_threshold: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Cascade: pairs whose cheaper-tier confidence is below this go to the LLM.",
    )
    llm_chunk_pairs: int = Field(
        256,
        ge=1,
        description="Pairs submitted ahead of the output or the store (at least "
        "llm_concurrency keeps every LLM slot busy).",
    )
    batch_poll_s: float = Field(
        30.0, gt=0, description="Batch API: first wait between status polls (doubles to 10 min)."
    )

    # --- store, workers, audit ---------------------------------------------------------
    database_url: str = Field(
        "sqlite:///amc.sqlite3",
        description="Job store: SQLite file (embedded default) or postgresql://... URL.",
    )
    broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Celery broker and result backend (Redis)."
    )

    # --- evaluation, trained tier, audit (issue 4) -----------------------------------------
    model_path: Path | None = Field(
        None,
        description="Trained-model artifact directory written by `amc train` (used by "
        "--tier trained, and by the cascade before the LLM). Loading unpickles it: "
        "only point it at artifacts you trained.",
    )
    audit_labels_path: Path | None = Field(
        None, description="Historical labels the scheduled audit reads (any labelled input)."
    )
    audit_out_dir: Path = Field(
        Path("audit-reports"), description="Folder of the audit's dated CSV/HTML reports."
    )
    audit_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Audit: a pair is reported as a suspected label error at this score or above.",
    )
    audit_folds: int = Field(
        5, ge=2, le=20, description="Cross-validation folds for out-of-fold probabilities."
    )

    # --- workers (issue 5) ---------------------------------------------------------------
    spool_dir: Path = Field(
        Path(".amc-spool"),
        description="Where submitted inputs are copied as per-paper records, keyed by content "
        "hash; workers read papers from here, so it must be shared with them.",
    )
    worker_concurrency: int = Field(
        4,
        ge=1,
        le=1024,
        description="Tasks one `amc worker` runs at once (threads); their LLM calls share "
        "llm_concurrency slots.",
    )
    task_papers: int = Field(
        8,
        ge=1,
        le=1000,
        description="Papers per worker task (message): fewer messages and transactions; "
        "a worker lost mid-task delays this many.",
    )
    worker_pool: Literal["threads", "prefork", "solo"] = Field(
        "threads", description="Celery pool of `amc worker`."
    )
    task_lease_s: float = Field(
        900.0,
        gt=0,
        description="A paper running this long without finishing is presumed lost (dead "
        "worker) and queued again; also the broker's visibility timeout.",
    )
    sweep_interval_s: float = Field(
        30.0,
        gt=0,
        description="How often `amc beat` re-queues lost papers and closes finished batches.",
    )
    llm_rpm: int | None = Field(
        None, ge=1, description="LLM requests per minute for the whole worker fleet (Redis)."
    )
    llm_tpm: int | None = Field(
        None, ge=1, description="LLM tokens per minute for the whole worker fleet (Redis)."
    )
    audit_cron: str | None = Field(
        None,
        description="Cron expression (5 fields, e.g. '0 3 * * *') at which `amc beat` runs the "
        "incremental audit; unset: no scheduled audit.",
    )

    # --- web app (issue 7) ----------------------------------------------------------------
    web_host: str = Field("127.0.0.1", description="Address `amc serve` listens on.")
    web_port: int = Field(8000, ge=1, le=65535, description="Port `amc serve` listens on.")
    web_max_upload_bytes: int = Field(
        256 * 2**20, ge=1024, description="Largest request body (upload) the web app accepts."
    )
    web_max_zip_bytes: int = Field(
        2 * 2**30,
        ge=1024,
        description="Most an uploaded zip may expand to (checked at upload, and again on reading).",
    )
    web_workers: Literal["auto", "celery", "embedded"] = Field(
        "auto",
        description="Who runs web-submitted batches: Celery workers, a background thread of the "
        "server, or auto (workers when the broker answers and a worker replies to a ping).",
    )
    web_secure_cookies: bool = Field(
        False, description="Mark the web session cookie Secure (set it when served over HTTPS)."
    )

    @field_validator("registry_files", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.replace(os.pathsep, ",").split(",") if p.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _ConfigFileSource(settings_cls))


class _ConfigFileSource(PydanticBaseSettingsSource):
    """Lowest-priority source: the values of the TOML config file being loaded."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        values = _config_values.get() or {}
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_config_values.get() or {})


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("amc", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [amc] must be a table")
    unknown = sorted(set(section) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(Settings.model_fields))}"
        )
    return section


def load_settings(
    config_file: Path | str | None = None,
    environ: dict[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Build the settings: flags (non-None values) > environment > config file > defaults.

    ``environ`` defaults to ``os.environ``; it is read here, at the edge, only.
    """
    env = dict(os.environ if environ is None else environ)
    path: Path | None = None
    if config_file is not None:
        path = Path(config_file)
    elif env.get("AMC_CONFIG"):
        path = Path(env["AMC_CONFIG"])
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    file_values = _read_config_file(path) if path is not None else {}
    init = {k: v for k, v in flags.items() if v is not None}
    token = _config_values.set(file_values)
    saved = _swap_environ(env) if environ is not None else None
    try:
        return _with_provider_key(Settings(**init), env)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {loc!r} (flag, AMC_{loc.upper()} or config file): {first['msg']}"
        ) from None
    finally:
        _config_values.reset(token)
        if saved is not None:
            _swap_environ(saved)


def _with_provider_key(settings: Settings, env: dict[str, str]) -> Settings:
    """Fill ``api_key`` from OPENAI_API_KEY for OpenAI-style models, here at the edge.

    Other providers' keys (ANTHROPIC_API_KEY, ...) are left to litellm, which reads
    them itself; an OpenAI key must never be sent to another provider.
    """
    openai_style = settings.model.startswith("openai/") or "/" not in settings.model
    key = env.get("OPENAI_API_KEY")
    if settings.api_key is None and openai_style and key:
        return settings.model_copy(update={"api_key": SecretStr(key)})
    return settings


def _swap_environ(new: dict[str, str]) -> dict[str, str]:
    """Temporarily replace the AMC_ variables (tests pass an explicit environment)."""
    old = {k: v for k, v in os.environ.items() if k.startswith("AMC_")}
    for key in old:
        del os.environ[key]
    for key, value in new.items():
        if key.startswith("AMC_"):
            os.environ[key] = value
    return old
