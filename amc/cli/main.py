"""The ``amc`` command line: thin shells over the library.

Settings are built once per command (flags > AMC_* environment > config file >
defaults) and passed down. An ``AmcError`` becomes a one-line message and exit
code 2; a librarian never sees a traceback. The commands live in
``amc.cli.classify`` (classify, telescopes), ``amc.cli.batches`` (submit, status,
results, retry, run, worker, beat), ``amc.cli.review`` (bibliography),
``amc.cli.evaluate`` (eval, train, audit) and ``amc.cli.web`` (serve, token); each
adds itself to ``app``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from amc import __version__
from amc.cli import batches, classify, evaluate, review, web
from amc.cli.common import err
from amc.domain.errors import AmcError

app = typer.Typer(
    name="amc",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """amc, the automated mission classifier: for each paper and each telescope it
    names, did the paper do science with it, is it about its instrumentation, does
    it only mention it, or is the match not the telescope at all?

    Example:

        amc classify amc/data/sample.jsonl -o results.csv
    """


for _module in (classify, batches, review, evaluate, web):
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
