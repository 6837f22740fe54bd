"""The ``amc`` command line: thin shells over the library.

Settings are built once per command (flags > AMC_* environment > config file >
defaults) and passed down. An ``AmcError`` becomes a one-line message and exit
code 2; a librarian never sees a traceback. The commands live in
``amc.cli.classify`` (classify, telescopes), ``amc.cli.batches`` (submit, status,
results, retry, run, worker, beat), ``amc.cli.evaluate`` (eval, train, audit) and
``amc.cli.web`` (serve, token); each adds itself to ``app``.
"""

from __future__ import annotations

import platform
import sys
from typing import Annotated

import typer

from amc import __version__
from amc.cli import batches, classify, evaluate, web
from amc.cli.common import err
from amc.domain.errors import AmcError, ConfigError
from amc.settings import find_config_file, load_settings
from amc.store import describe_url

app = typer.Typer(
    name="amc",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amc {__version__} (Python {platform.python_version()})")
        for line in _where_files_are():
            typer.echo(line)
        raise typer.Exit()


def _where_files_are() -> list[str]:
    """Where amc keeps its files with the settings in force (config file, AMC_*)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        return [f"settings: {exc}"]
    config = find_config_file()
    return [
        f"config file:   {config if config is not None else 'none'}",
        f"data folder:   {settings.home}  (AMC_HOME)",
        f"job store:     {describe_url(settings.database_url)}  (AMC_DATABASE_URL)",
        f"LLM cache:     {settings.llm.cache_path}  (AMC_CACHE_PATH)",
        f"spool:         {settings.spool_dir}  (AMC_SPOOL_DIR)",
        f"audit reports: {settings.audit_out_dir}  (AMC_AUDIT_OUT_DIR)",
    ]


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and where amc keeps its files (job store, cache, spool).",
        ),
    ] = False,
) -> None:
    """amc, the automated mission classifier: for each paper and each telescope it
    names, did the paper do science with it, is it about its instrumentation, does
    it only mention it, or is the match not the telescope at all?

    Example:

        amc classify "$(amc sample)" -o results.csv
    """


for _module in (classify, batches, evaluate, web):
    _module.register(app)


def main() -> None:
    """Entry point: turns an ``AmcError`` into a one-line message and exit code 2."""
    try:
        app()
    except AmcError as exc:
        if getattr(exc, "kind", "") == "llm_batch_pending":  # not an error: come back later
            err.print(f"amc: {exc}", markup=False)
            sys.exit(0)
        err.print(f"amc: error: {exc}", markup=False)
        if getattr(exc, "completed", None) is not None:
            err.print(
                "amc: the pairs finished before the stop were written; run the same "
                "command again to resume (answers already received are cached)",
                markup=False,
            )
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("amc: interrupted; results written so far are kept")
        sys.exit(130)


if __name__ == "__main__":
    main()
