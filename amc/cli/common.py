"""What every ``amc`` command module shares: the consoles, option types, opening the job
store, and the one-line-per-pair standard output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from amc.domain.models import Classification
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import Store, StoreError, describe_url, open_store, sqlite_path

#: messages, progress bars and summaries (standard error)
err = Console(stderr=True, highlight=False, soft_wrap=True)
#: results (standard output)
out = Console(highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (default ./amc.toml or AMC_CONFIG)."),
]
RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option("--registry", help="Extra telescope registry file layered over the bundled one."),
]
InputsArg = Annotated[
    list[Path],
    typer.Argument(help="Input files or folders (any format `amc classify` reads)."),
]
TelescopeOpt = Annotated[
    list[str] | None,
    typer.Option("--telescope", "-t", help="Telescope key (repeatable); default as in classify."),
]
TierOpt = Annotated[
    str | None, typer.Option("--tier", help="rules (default) | trained | llm | cascade.")
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="LLM (litellm model string).")]
ApiBaseOpt = Annotated[
    str | None, typer.Option("--api-base", help="OpenAI-compatible server base URL.")
]
SkipBadOpt = Annotated[
    bool | None,
    typer.Option("--skip-bad-rows/--stop-on-bad-row", help="Record bad rows and go on."),
]
BatchArg = Annotated[str, typer.Argument(help="Batch id (printed by submit/run).")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write results to .csv/.jsonl/.parquet.")
]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="csv | jsonl | parquet | kaggle (default: suffix).")
]


def registry_of(settings: Settings) -> Registry:
    """The bundled registry layered with the settings' registry files."""
    return load_registry(settings.registry_files)


def open_job_store(settings: Settings, *, must_exist: bool = False) -> Store:
    """The job store of the settings, or a ``StoreError`` saying what to check.

    ``must_exist`` is for commands that only look at what is there (status, results,
    retry, tokens): a SQLite store that does not exist is an error naming where it was
    looked for, and no empty store is created in its place.
    """
    if must_exist and missing_store(settings) is not None:
        raise StoreError(no_store_message(settings))
    try:
        return open_store(settings.database_url)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open the job store at {describe_url(settings.database_url)} "
            f"({type(exc).__name__}); check AMC_DATABASE_URL and that the database is running"
        ) from None


def missing_store(settings: Settings) -> Path | None:
    """The SQLite file of the job store when it does not exist (yet), else None."""
    path = sqlite_path(settings.database_url)
    return path if path is not None and not path.exists() else None


def no_store_message(settings: Settings) -> str:
    return (
        f"no job store at {describe_url(settings.database_url)}: nothing has been submitted "
        "or run with these settings yet (the store is in AMC_HOME unless AMC_DATABASE_URL "
        "says otherwise; `amc --version` shows where amc keeps its files)"
    )


def print_result(c: Classification) -> None:
    """One tab-separated line per pair: id, labels, confidence, reason (easy to grep/cut)."""
    if c.error:
        line = f"{c.pair_id}\terror\t\t{c.error.kind}: {c.error.message}"
    else:
        assert c.labels is not None
        labels = "+".join(label.value for label in c.labels.positives) or "none"
        line = f"{c.pair_id}\t{labels}\t{c.confidence.decided(c.labels):.2f}\t{c.reason}"
    sys.stdout.write(line.replace("\n", " ") + "\n")
