"""What every ``amc`` command module shares: the consoles, option types, opening the job
store, the exit statuses, writing results to a file or one line per pair to standard
output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperCommand

from amc.classify.llm import LLMRunStopped
from amc.domain.errors import AmcError
from amc.domain.models import Classification
from amc.jobs.interrupts import Interrupted
from amc.output.summary import RunSummary
from amc.output.writers import OutputFormat, ResultWriter
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import Store, StoreError, describe_url, open_store, sqlite_path

#: exit statuses of classify, run, retry --embedded and eval submit (README "Exit codes")
EXIT_CANNOT_RUN = 2  # bad flag, config, input or credentials: nothing was done
EXIT_PAIRS_FAILED = 3  # the run finished; some pairs failed (error rows written)
EXIT_STOPPED = 4  # stopped early (breaker, budget): resumable

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


class PairsFailed(AmcError):
    """The run finished but some pairs have no verdict (exit status 3)."""

    kind = "pairs_failed"


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
    """One tab-separated line per pair: id, labels, confidence, reason (easy to grep/cut);
    a TAB or line break inside a field is written as ``\\t``, ``\\n``, ``\\r``."""
    if c.error:
        fields = [c.pair_id, "error", "", f"{c.error.kind}: {c.error.message}"]
    else:
        assert c.labels is not None
        labels = "+".join(label.value for label in c.labels.positives) or "none"
        fields = [c.pair_id, labels, f"{c.confidence.decided(c.labels):.2f}", c.reason]
    sys.stdout.write("\t".join(map(_tsv_field, fields)) + "\n")


_TSV_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _tsv_field(text: str) -> str:
    return text.translate(_TSV_ESCAPES)


def keeps_output(exc: BaseException) -> bool:
    """Whether what a run wrote before ``exc`` is worth keeping: an interrupt, or a stop that
    can be resumed. A run that could not run as asked leaves nothing."""
    return isinstance(exc, Interrupted) or (isinstance(exc, LLMRunStopped) and exc.resumable)


@contextmanager
def result_file(
    path: Path, fmt: OutputFormat, extra_columns: Sequence[tuple[str, pa.DataType]] = ()
) -> Iterator[ResultWriter]:
    """A ``ResultWriter`` whose file replaces ``path`` only when the run completes; after
    a stop or an interrupt the rows written so far are kept, beside ``path`` when it
    already exists (``<path>.partial``), and amc says where."""
    writer = ResultWriter(path, fmt, extra_columns=extra_columns)
    try:
        with writer:
            try:
                yield writer
            except BaseException as exc:
                if keeps_output(exc):
                    writer.keep_incomplete()
                raise
    finally:
        if writer.kept is not None:
            kept = f"amc: the {writer.count} rows written so far are in {writer.kept}"
            err.print(kept + (f" ({path} was left as it was)" if writer.kept != path else ""),
                      markup=False)  # fmt: skip


def write_results(
    results: Iterable[Classification] | Iterable[tuple[Classification, dict[str, Any]]],
    writer: ResultWriter | None,
    summary: RunSummary,
    advance: Callable[[Classification], None] = lambda c: None,
) -> None:
    """Each result (or result with the writer's added columns) to ``writer`` (or one line
    on standard output), counted in ``summary``."""
    stream = iter(results)
    if writer is None:
        print_header()
    try:
        for row in stream:
            c, extra = row if isinstance(row, tuple) else (row, None)
            if writer is not None:
                writer.write(c, extra)
            else:
                print_result(c)
            summary.add(c)
            advance(c)
    finally:
        close = getattr(stream, "close", None)  # a generator: its classifier is closed now
        if close is not None:
            close()


def raise_if_pairs_failed(summary: RunSummary, writer: ResultWriter | None) -> None:
    """After a complete run: ``PairsFailed`` (exit 3) when some pairs have no verdict."""
    if not summary.errors:
        return
    where = "listed above"
    if writer is not None and writer.fmt == "kaggle":
        where = f"left out of {writer.path} and listed with their errors in {writer.errors_path}"
    elif writer is not None:
        where = f"written to {writer.path} as error rows (error_kind, error)"
    raise PairsFailed(f"{len(summary.errors)} of {summary.pairs} pairs failed ({where})")
