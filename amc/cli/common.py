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

from amc.classify.llm import LLMRunStopped
from amc.domain.errors import AmcError
from amc.domain.models import Classification
from amc.jobs.interrupts import Interrupted
from amc.output.summary import RunSummary
from amc.output.writers import OutputFormat, ResultWriter
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import Store, StoreError, open_store

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


def open_job_store(settings: Settings) -> Store:
    """The job store of the settings, or a ``StoreError`` saying what to check."""
    try:
        return open_store(settings.database_url)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open the job store at {settings.database_url} ({type(exc).__name__}); "
            "check AMC_DATABASE_URL and that the database is running"
        ) from None


class PairsFailed(AmcError):
    """The run finished but some pairs have no verdict (exit status 3)."""

    kind = "pairs_failed"


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
