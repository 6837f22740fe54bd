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

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from amc.errors import ConfigError

DEFAULT_CONFIG_FILE = "amc.toml"
Tier = Literal["rules"]

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
        return Settings(**init)
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


def _swap_environ(new: dict[str, str]) -> dict[str, str]:
    """Temporarily replace the AMC_ variables (tests pass an explicit environment)."""
    old = {k: v for k, v in os.environ.items() if k.startswith("AMC_")}
    for key in old:
        del os.environ[key]
    for key, value in new.items():
        if key.startswith("AMC_"):
            os.environ[key] = value
    return old
