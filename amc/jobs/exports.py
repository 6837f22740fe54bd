"""A job-store batch written out: its results (final labels by default) and its
bibliography of record, as the CLI and the web app's downloads write them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from amc.output.bibliography import (
    DEFAULT_LABELS,
    BibliographyFormat,
    bibliography_entries,
    write_bibliography,
)
from amc.output.final import REVIEW_COLUMNS, final_columns
from amc.output.writers import OutputFormat, ResultWriter
from amc.store import Store


def export_results(
    store: Store, batch_id: str, path: Path, fmt: OutputFormat, final: bool = True
) -> int:
    """Write the batch's results to ``path`` (a download: no Kaggle side file of failed
    pairs beside it); the number of rows written.

    ``final``: the label columns hold each pair's final label (the reviewer's when there
    is one, else the model's) and the link columns its final links, with the review and
    the model's own labels and links in added columns (``amc.output.final``); otherwise
    the model's labels and links alone, as classified.
    """
    store.get_batch(batch_id)  # an unknown id is a clear error, not an empty file
    extra = REVIEW_COLUMNS if final else ()
    edits = store.batch_link_edits(batch_id) if final else {}
    with ResultWriter(path, fmt, extra_columns=extra, errors_file=False) as writer:
        for c, review in store.iter_reviewed_results(batch_id):
            if final:
                writer.write(*final_columns(c, review, edits.get((c.bibcode, c.telescope), ())))
            else:
                writer.write(c)
    return writer.count


def export_bibliography(
    store: Store,
    batch_id: str,
    path: Path,
    telescope: str | None = None,
    fmt: BibliographyFormat = "csv",
    labels: Sequence[str] = DEFAULT_LABELS,
) -> int:
    """Write the batch's bibliography of record (``amc.output.bibliography``) to ``path``."""
    store.get_batch(batch_id)
    entries = bibliography_entries(store.iter_reviewed_results(batch_id), telescope,
                                   store.batch_link_edits(batch_id))  # fmt: skip
    return write_bibliography(path, entries, fmt, labels)
