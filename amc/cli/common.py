"""What every ``amc`` command module shares: the consoles, option types, opening the job
store, and the one-line-per-pair standard output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperCommand

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
    typer.Option(
        "--config", metavar="FILE", help="TOML config file (default ./amc.toml or AMC_CONFIG)."
    ),
]
RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--registry",
        metavar="FILE",
        help="Extra telescope registry file layered over the bundled one.",
    ),
]
InputsArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH", help="Input files or folders (any format `amc classify` reads)."
    ),
]
TelescopeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--telescope",
        "-t",
        metavar="TELESCOPE",
        help="Telescope key (repeatable); default as in classify.",
    ),
]
TierOpt = Annotated[
    str | None,
    typer.Option("--tier", metavar="TIER", help="rules (default) | trained | llm | cascade."),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", metavar="MODEL", help="LLM (litellm model string).")
]
ApiBaseOpt = Annotated[
    str | None, typer.Option("--api-base", metavar="URL", help="OpenAI-compatible server base URL.")
]
SkipBadOpt = Annotated[
    bool | None,
    typer.Option("--skip-bad-rows/--stop-on-bad-row", help="Record bad rows and go on."),
]
BatchArg = Annotated[
    str, typer.Argument(metavar="BATCH_ID", help="Batch id (printed by submit/run).")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write results to .csv/.jsonl/.parquet."),
]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format", metavar="FORMAT", help="csv | jsonl | parquet | kaggle (default: suffix)."
    ),
]


class Command(TyperCommand):
    """An ``amc`` command whose help reads like words: arguments are shown by their metavar
    (``PATH...``, ``[BATCH_ID]``), never by a Python type (``<list[Path]>``) or in braces.

    Parameters are told apart by ``param_type_name``, as Typer itself does (whichever Click
    it is built on).
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(_argument_usage(param))
            else:
                pieces += param.get_usage_pieces(ctx)
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and not getattr(param, "hidden", False):
                arguments.append((_argument_usage(param), getattr(param, "help", None) or ""))
            elif param.param_type_name == "option" and (record := param.get_help_record(ctx)):
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _argument_usage(param: Any) -> str:
    name = str(param.metavar or (param.name or "").upper())
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


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
    """What to say when there is no job store yet: where it was looked for, and why."""
    return (
        f"no job store at {describe_url(settings.database_url)}: nothing has been submitted "
        "or run with these settings yet (the store is in AMC_HOME unless AMC_DATABASE_URL "
        "says otherwise; `amc --version` shows where amc keeps its files)"
    )


#: the columns of the tab-separated lines on standard output; min_confidence is the
#: confidence of the verdict as a whole, the weakest of its four per-label confidences
STDOUT_COLUMNS = ("pair_id", "labels", "min_confidence", "reason")


def print_header() -> None:
    """The header line naming the columns of the ``print_result`` lines that follow."""
    sys.stdout.write("\t".join(STDOUT_COLUMNS) + "\n")


def print_result(c: Classification) -> None:
    """One tab-separated line per pair: id, labels, confidence, reason (easy to grep/cut)."""
    if c.error:
        line = f"{c.pair_id}\terror\t\t{c.error.kind}: {c.error.message}"
    else:
        assert c.labels is not None
        labels = "+".join(label.value for label in c.labels.positives) or "none"
        line = f"{c.pair_id}\t{labels}\t{c.confidence.decided(c.labels):.2f}\t{c.reason}"
    sys.stdout.write(line.replace("\n", " ") + "\n")
