"""Read papers from the files librarians have: TRACS parquet, Kaggle CSV, JSON and
JSON Lines, plain text, PDF, folders of those and zip archives of those.

Every reader is a generator, so rows come out in file order and memory stays flat
in file size: parquet in record batches, CSV and JSON Lines row by row, one zip
member at a time. A row (or a whole file) that cannot be read comes out as a
``BadRow`` whose ``InputError`` names the file and row and says what to fix; it
never stops the other rows or files.

Telescope names are upper-cased here but not checked against the registry: the
pipeline does that, with a message listing the known telescopes.

Inside: ``files`` (formats by suffix, folder listing, safe zip extraction),
``records`` (known columns, one record -> one row), ``readers`` (one per format),
``pdf/`` (full text from PDFs), ``counting`` (progress totals) and ``pairs`` (rows ->
(paper, telescope) pairs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from amc.ingest.counting import count_rows
from amc.ingest.files import detect_format
from amc.ingest.ids import document_ids
from amc.ingest.readers import read_path
from amc.ingest.records import (
    COLUMN_ALIASES,
    IDENTIFIER_COLUMNS,
    LABEL_COLUMNS,
    PAPER_COLUMNS,
    TOLERATED_COLUMNS,
    BadRow,
    InputItem,
    InputRow,
    Options,
)

__all__ = [
    "COLUMN_ALIASES",
    "IDENTIFIER_COLUMNS",
    "LABEL_COLUMNS",
    "PAPER_COLUMNS",
    "TOLERATED_COLUMNS",
    "BadRow",
    "InputItem",
    "InputRow",
    "count_rows",
    "detect_format",
    "read_inputs",
]

DEFAULT_MAX_ZIP_BYTES = 2 * 1024**3


def read_inputs(
    paths: Sequence[Path | str],
    *,
    chunk_rows: int = 2000,
    allow_extra_columns: bool = False,
    max_field_chars: int = 20_000_000,
    max_zip_bytes: int = DEFAULT_MAX_ZIP_BYTES,
    pdf_max_pages: int | None = 500,
    pdf_max_bytes: int | None = 100 * 2**20,
) -> Iterator[InputRow | BadRow]:
    """Stream every row of every input, in order; unreadable rows and files come
    out as ``BadRow`` (never as an exception), so one bad file does not stop the rest.

    ``chunk_rows`` is the parquet batch size, ``max_field_chars`` the longest text
    field accepted, ``max_zip_bytes`` the most a zip may expand to in total, and the
    ``pdf_*`` limits make a longer or bigger PDF an error for that file. A document
    (txt, pdf) is named by its path (``amc.ingest.ids``): unique in the run, stable.
    """
    if isinstance(paths, str | Path):  # one path, not a sequence of characters
        paths = [paths]
    options = Options(
        chunk_rows, allow_extra_columns, max_field_chars, max_zip_bytes,
        pdf_max_pages, pdf_max_bytes, document_ids([Path(p) for p in paths]),
    )  # fmt: skip
    for path in paths:
        yield from read_path(Path(path), str(path), options)
