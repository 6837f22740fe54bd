"""Review commands: ``bibliography`` (the bibliography of record of a batch).

A thin shell over ``amc.jobs.process.export_bibliography``; the reviewing itself happens
in the web app (``amc serve``), and ``amc results`` writes the final labels too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from amc.cli.common import BatchArg, Command, ConfigOpt, err, open_job_store
from amc.jobs.exports import export_bibliography
from amc.output.bibliography import DEFAULT_LABELS, BibliographyFormat
from amc.registry import load_registry
from amc.settings import load_settings


def register(app: typer.Typer) -> None:
    """Add the review commands to the ``amc`` app."""
    app.command(cls=Command)(bibliography)


def bibliography(
    batch_id: BatchArg,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="PATH", help="File to write (.csv or .txt)."),
    ],
    telescope: Annotated[
        str | None,
        typer.Option("--telescope", "-t", metavar="TELESCOPE", help="Telescope key; default: all."),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            metavar="LABEL",
            help="txt: labels that list a bibcode (repeatable) [science, instrumentation].",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write a batch's bibliography of record: every bibcode with its final label.

    .csv: one row per pair (bibcode, telescope, final labels, label_source, reviewer,
    reviewed_at, the model's labels and confidence), by telescope and bibcode.
    .txt: the bibcodes whose final labels include --label (science or
    instrumentation by default), one per line, to paste into an ADS library.

    Examples:

        amc bibliography 3f2a9c1b7d4e -t HST -o hst-bibliography.csv

        amc bibliography 3f2a9c1b7d4e -t HST -o hst-bibcodes.txt
    """
    fmt: BibliographyFormat = "txt" if output.suffix.lower() == ".txt" else "csv"
    settings = load_settings(config)
    with open_job_store(settings, must_exist=True) as store:
        key = load_registry(settings.registry_files).check(telescope) if telescope else None
        wanted = [lab.strip() for lab in label or DEFAULT_LABELS]
        n = export_bibliography(store, batch_id, output, key, fmt, wanted)
    err.print(f"wrote {n} {'bibcodes' if fmt == 'txt' else 'rows'} to {output}")
