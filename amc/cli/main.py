"""The ``amc`` command line: thin shells over the library.

Settings are built once per command (flags > AMC_* environment > config file >
defaults) and passed down. Errors become one-line messages and an exit status a
script can act on (a librarian never sees a traceback): 0 every pair got a verdict;
2 cannot run as asked (``AmcError``: bad flag, config, input, credentials, a refused
key or model); 3 the run finished but some pairs failed; 4 the run stopped early
(breaker, budget) and can be resumed; 130 / 143 interrupted by SIGINT / SIGTERM.
The commands live in
``amc.cli.classify`` (classify, telescopes), ``amc.cli.batches`` (submit, status,
results, retry, run, worker, beat), ``amc.cli.review`` (bibliography),
``amc.cli.evaluate`` (eval, train, audit) and ``amc.cli.web`` (serve, token); each
adds itself to ``app``.
"""

from __future__ import annotations

import gc
import platform
import shlex
import sys
from typing import Annotated

import typer

from amc import __version__
from amc.classify.llm import LLMRunStopped
from amc.cli import batches, classify, evaluate, review, training, web
from amc.cli.common import EXIT_CANNOT_RUN, EXIT_PAIRS_FAILED, EXIT_STOPPED, PairsFailed, err
from amc.domain.errors import AmcError, ConfigError
from amc.jobs.interrupts import Interrupted, signals_raise
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


for _module in (classify, batches, review, evaluate, training, web):
    _module.register(app)


def main() -> None:
    """Entry point: runs a command and turns how it ended into a message and an exit status."""
    # A batch keeps many objects alive, and CPython's cyclic collector at its default
    # thresholds walks them again and again: 12 % of ``amc classify``'s CPU at TRACS scale
    # (bench/tracs_scale.py). Collect less often, and never walk what the imports made.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    with signals_raise():  # SIGTERM (timeout, systemd, docker stop) is handled like Ctrl-C
        try:
            app()
        except Interrupted as exc:
            resume = f"; to resume, run the same command again: {_command()}"
            _say(f"interrupted ({exc.name})" + (resume if _resumable() else ""))
            sys.exit(exc.exit_code)
        except LLMRunStopped as exc:
            if not exc.resumable:
                _say(f"error: {exc}")
                sys.exit(EXIT_CANNOT_RUN)
            _say(f"stopped: {exc}")
            _say(f"the run stopped early; to resume, run the same command again: {_command()}")
            sys.exit(EXIT_STOPPED)
        except PairsFailed as exc:
            _say(str(exc))
            sys.exit(EXIT_PAIRS_FAILED)
        except AmcError as exc:
            if getattr(exc, "kind", "") == "llm_batch_pending":  # not an error: come back later
                _say(str(exc))
                sys.exit(0)
            _say(f"error: {exc}")
            sys.exit(EXIT_CANNOT_RUN)


def _say(message: str) -> None:
    err.print(f"amc: {message}", markup=False)


def _command() -> str:
    """This command line, as the user could type it again."""
    return shlex.join(["amc", *sys.argv[1:]])


#: commands that pick up where an interrupted run of theirs ended
_RESUMING = {"classify", "run", "retry", "submit", "eval"}


def _resumable() -> bool:
    return any(arg in _RESUMING for arg in sys.argv[1:2])


if __name__ == "__main__":
    main()
