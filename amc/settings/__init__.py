"""One settings object, built once at the edge (CLI start, worker start) and passed down.

Precedence, highest first: command-line flags > ``AMC_*`` environment
variables > the config file (TOML) > defaults. The config file is the one
named by ``--config`` or ``AMC_CONFIG``, else ``./amc.toml`` if it exists.
Nothing below the edge reads ``os.environ``.

Every setting has one flat name, used by the flag, the config file and the
environment variable (``AMC_`` + the name in capitals). The LLM tier's
settings are declared once in ``amc.settings.llm`` and nested here as
``settings.llm``; their flat names (``model``, ``llm_timeout_s``, ...) are
mapped onto the nested fields by ``flat_values`` / ``with_flat``.
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from amc.domain.errors import ConfigError
from amc.settings.llm import FLAT_NAMES, LLMSettings
from amc.settings.paths import AUDIT_DIR, CACHE_FILE, SPOOL_DIR, default_home, store_url

DEFAULT_CONFIG_FILE = "amc.toml"
Tier = Literal["rules", "trained", "llm", "cascade"]


class Settings(BaseModel):
    """Every knob of amc. Field docs are the README's configuration table."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    registry_files: list[Path] = Field(
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

    prepare_processes: int = Field(
        default_factory=lambda: 1 if (os.cpu_count() or 1) > 1 else 0,
        ge=0,
        le=64,
        description="`amc classify --tier llm`: processes that find, rank and judge the "
        "evidence and render the requests beside the one that talks to the model, started "
        "when that one is busy (85 % of a core over the last 512 pairs read); default 1 on "
        "a machine with two or more CPUs, else 0 (all in one process).",
    )
    cascade_threshold: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Cascade: pairs whose cheaper-tier confidence is below this go to the LLM "
        "(used only without a calibration).",
    )
    cascade_calibration: Path | None = Field(
        None,
        description="Cascade: a calibration file written by `amc calibrate` for the rules "
        "tier; a trained model (AMC_MODEL_PATH) carries its own. With one, the cheap tier "
        "keeps a pair when its calibrated chance of agreeing with the LLM reaches the "
        "threshold chosen for the target agreement.",
    )
    # --- where amc keeps its files; store, workers, audit ---------------------------------
    home: Path = Field(
        default_factory=default_home,
        description="Per-user data folder: the job store, the LLM answer cache, the spool and "
        "the audit reports live here unless their own settings say otherwise.",
    )
    database_url: str = Field(
        default_factory=lambda data: store_url(data["home"]),
        description="Job store: a SQLite file (default `amc.sqlite3` in AMC_HOME) or a "
        "postgresql://... URL.",
    )
    broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Celery broker and result backend (Redis)."
    )

    # --- evaluation, trained tier, audit ---------------------------------------------------
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
        default_factory=lambda data: data["home"] / AUDIT_DIR,
        description="Folder of the audit's dated CSV/HTML reports.",
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

    # --- workers ---------------------------------------------------------------------------
    spool_dir: Path = Field(
        default_factory=lambda data: data["home"] / SPOOL_DIR,
        description="Where submitted inputs are copied as per-paper records, keyed by content "
        "hash; workers read papers from here, so it must be shared with them.",
    )
    worker_concurrency: int = Field(
        # 8: a task waits for its slowest paper, so 4 tasks of 8 papers left 32 slots short
        # of work at times (bench/tracs_scale.py: 87 % of the limit, 92 % with 8)
        8,
        ge=1,
        le=1024,
        description="Tasks one `amc worker` runs at once (threads); their LLM calls share "
        "llm_concurrency slots.",
    )
    task_papers: int = Field(
        # 32: each task costs Celery's bookkeeping and the store's look-ups (batch, papers,
        # whether the batch is finished), a quarter as much per paper as with 8
        32,
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
    audit_cron: str | None = Field(
        None,
        description="Cron expression (5 fields, e.g. '0 3 * * *') at which `amc beat` runs the "
        "incremental audit of AMC_AUDIT_LABELS_PATH; either unset: no scheduled audit.",
    )

    # --- web app ---------------------------------------------------------------------------
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

    llm: LLMSettings = Field(default_factory=LLMSettings, description="The LLM tier's settings.")

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _cache_in_home(self) -> Settings:
        """The LLM answer cache defaults to the data folder too (its field is in ``llm``)."""
        if "cache_path" not in self.llm.model_fields_set:
            self.llm = self.llm.model_copy(update={"cache_path": self.home / CACHE_FILE})
        return self

    @field_validator("model_path", "audit_labels_path", "audit_cron", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        """An empty value (``AMC_AUDIT_LABELS_PATH=`` from compose's ``${VAR:-}``) is unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("registry_files", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.replace(os.pathsep, ",").split(",") if p.strip()]
        return value

    def flat_values(self) -> dict[str, Any]:
        """Every setting under its flat name (the LLM ones too), JSON-ready."""
        values = self.model_dump(mode="json", exclude={"llm"})
        llm = self.llm.model_dump(mode="json")
        values.update({flat: llm[name] for flat, name in FLAT_NAMES.items()})
        return values

    def with_flat(self, values: Mapping[str, Any]) -> Settings:
        """A copy with some settings replaced, given by their flat names (validated)."""
        merged = _deep_merge(self.model_dump(), nest(values))
        return Settings.model_validate(merged)


def flat_names() -> list[str]:
    """Every setting's flat name, in declaration order (the LLM ones where ``llm`` is)."""
    names: list[str] = []
    for name in Settings.model_fields:
        names += list(FLAT_NAMES) if name == "llm" else [name]
    return names


def describe(flat: str) -> tuple[Any, str]:
    """The field behind a flat name: (its FieldInfo, its description)."""
    if flat in FLAT_NAMES:
        field = LLMSettings.model_fields[FLAT_NAMES[flat]]
    else:
        field = Settings.model_fields[flat]
    return field, field.description or ""


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat names -> the nested shape of ``Settings`` (LLM settings under ``llm``).

    A nested ``llm`` table (config file ``[amc.llm]``) is accepted as it is.
    """
    out: dict[str, Any] = {}
    llm: dict[str, Any] = dict(values.get("llm") or {})
    for key, value in values.items():
        if key == "llm":
            continue
        if key in FLAT_NAMES:
            llm[FLAT_NAMES[key]] = value
        else:
            out[key] = value
    if llm:
        out["llm"] = llm
    return out


def _deep_merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win; nested mappings are merged key by key."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = _deep_merge(out[key], value)
            else:
                out[key] = value
    return out


def _json_field(flat: str) -> bool:
    """A setting whose environment value is JSON (a table such as ``prices``)."""
    field, _ = describe(flat)
    return typing.get_origin(field.annotation) is dict


def _from_environ(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as ``AMC_*`` variables, by flat name; unknown ones are ignored."""
    out: dict[str, Any] = {}
    for flat in flat_names():
        raw = env.get(f"AMC_{flat.upper()}")
        if raw is None:
            continue
        if _json_field(flat):
            try:
                out[flat] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"AMC_{flat.upper()} is not valid JSON: {exc}") from None
        else:
            out[flat] = raw
    return out


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
    known = set(flat_names())
    unknown = sorted(set(section) - known - {"llm"})
    unknown += sorted(
        f"llm.{k}" for k in section.get("llm") or {} if k not in LLMSettings.model_fields
    )
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    return section


def find_config_file(
    config_file: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The config file in force: ``config_file``, else ``AMC_CONFIG``, else ``./amc.toml``
    if it exists, else None."""
    env = os.environ if environ is None else environ
    if config_file is not None:
        return Path(config_file)
    if env.get("AMC_CONFIG"):
        return Path(env["AMC_CONFIG"])
    return Path(DEFAULT_CONFIG_FILE) if Path(DEFAULT_CONFIG_FILE).is_file() else None


def load_settings(
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Build the settings: flags (non-None values) > environment > config file > defaults.

    Flags are given by their flat names. ``environ`` defaults to ``os.environ``; it is
    read here, at the edge, only.
    """
    env = dict(os.environ if environ is None else environ)
    path = find_config_file(config_file, env)
    file_values = _read_config_file(path) if path is not None else {}
    given = {k: v for k, v in flags.items() if v is not None}
    values = _deep_merge(nest(file_values), nest(_from_environ(env)), nest(given))
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_invalid(exc)) from None
    return _with_provider_key(settings, env)


def _invalid(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if loc[:1] == ["llm"] and len(loc) > 1:
        flat = next((f for f, name in FLAT_NAMES.items() if name == loc[1]), loc[1])
        loc = [flat, *loc[2:]]
    name = ".".join(loc)
    return f"invalid setting {name!r} (flag, AMC_{loc[0].upper()} or config file): {first['msg']}"


def _with_provider_key(settings: Settings, env: Mapping[str, str]) -> Settings:
    """Fill ``llm.api_key`` from OPENAI_API_KEY for OpenAI-style models, here at the edge.

    Other providers' keys (ANTHROPIC_API_KEY, ...) are left to litellm, which reads
    them itself; an OpenAI key must never be sent to another provider.
    """
    model = settings.llm.model
    openai_style = model.startswith("openai/") or "/" not in model
    key = env.get("OPENAI_API_KEY")
    if settings.llm.api_key is None and openai_style and key:
        llm = settings.llm.model_copy(update={"api_key": SecretStr(key)})
        return settings.model_copy(update={"llm": llm})
    return settings
