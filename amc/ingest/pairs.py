"""From input rows to pairs: a paper and each telescope to classify it for.

A row that names its telescope (TRACS, Kaggle) is one pair; a row that names none
(text, PDF) becomes a pair for every registry telescope the paper mentions. A bad
row becomes a failed ``Classification`` in place, unless the caller asked to stop
at the first bad input row (``skip_bad_rows=False``, the CLI default, so a
librarian learns about a broken file before anything is spent on it). A row that
repeats an earlier row's pair is merged when identical (with a warning) and is a
bad row otherwise (``amc.ingest.duplicates``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path, PurePosixPath

from amc.domain.errors import InputError, UnknownTelescopeError
from amc.domain.models import NONE_TELESCOPE, Classification, Pair, pair_id
from amc.ingest import BadRow, InputRow, read_inputs
from amc.ingest.duplicates import DuplicateCheck, DuplicateRowError
from amc.registry import Registry
from amc.settings import Settings
from amc.snippets.hits import candidate_telescopes

#: inputs holding one paper per file
DOCUMENT_SUFFIXES = (".txt", ".pdf")


def read_pairs(
    paths: Sequence[Path | str],
    registry: Registry,
    settings: Settings,
    telescopes: Sequence[str] = (),
) -> Iterator[Pair | Classification]:
    """Stream pairs from input files; bad rows come out as failed ``Classification``s
    (or raise their ``InputError`` when ``settings.skip_bad_rows`` is false).

    ``telescopes`` restricts rows that name a telescope and is the list of
    pairs for rows that name none; with neither, every registry telescope with
    a hit in the paper becomes a candidate. An unknown telescope is refused here,
    before anything is read (``UnknownTelescopeError``).
    """
    wanted = [registry.check(t) for t in telescopes]
    return _pairs(paths, registry, settings, wanted)


def _pairs(
    paths: Sequence[Path | str], registry: Registry, settings: Settings, wanted: list[str]
) -> Iterator[Pair | Classification]:
    rows = read_inputs(
        paths,
        chunk_rows=settings.chunk_rows,
        allow_extra_columns=settings.allow_extra_columns,
        max_field_chars=settings.max_field_chars,
        pdf_max_pages=settings.pdf_max_pages,
        pdf_max_bytes=settings.pdf_max_bytes,
    )
    duplicates = DuplicateCheck()
    for row in rows:
        if isinstance(row, BadRow):
            yield _bad_row(row, settings)
            continue
        seen = duplicates.check(row)
        if seen == "new":
            yield from _row_pairs(row, registry, settings, wanted)
        elif isinstance(seen, DuplicateRowError):
            yield _duplicate_row(row, seen, settings)
    duplicates.finish()


def _bad_row(row: BadRow, settings: Settings) -> Classification:
    # a bad table row stops the run unless told otherwise (the file is malformed); a bad
    # PDF or text file is one bad paper among many and is always recorded
    if not settings.skip_bad_rows and not row.document:
        raise row.error
    # a row without a bibcode is still reported, under its file and row number
    bibcode = row.bibcode or (f"{row.path}#row={row.row}" if row.row else row.path)
    telescope = row.telescope or "?"
    return Classification.failed(
        pair_id(bibcode, telescope), bibcode, telescope, row.error, source=row.path
    )


def _duplicate_row(row: InputRow, error: DuplicateRowError, settings: Settings) -> Classification:
    """A row repeating an earlier row's pair with other content: stops the run, or is an
    error row with an id of its own (the earlier row keeps the pair's id). A document
    (two PDFs naming the same bibcode) is one bad paper among many: always recorded."""
    document = PurePosixPath(row.path).suffix.lower() in DOCUMENT_SUFFIXES
    if not settings.skip_bad_rows and not document:
        raise error
    telescope = row.telescope or "?"
    own_id = f"{pair_id(row.paper.bibcode, telescope)}#row={row.row}"
    return Classification.failed(
        own_id, row.paper.bibcode, telescope, error, source=row.paper.source
    )


def _row_pairs(
    row: InputRow, registry: Registry, settings: Settings, wanted: Sequence[str]
) -> Iterator[Pair | Classification]:
    paper = row.paper
    if row.telescope:
        try:
            key = registry.check(row.telescope, where=f"{row.path}, row {row.row}")
        except UnknownTelescopeError as exc:
            if not settings.skip_bad_rows:
                raise
            yield Classification.failed(
                pair_id(paper.bibcode, row.telescope),
                paper.bibcode,
                row.telescope,
                exc,
                source=paper.source,
            )
            return
        if not wanted or key in wanted:
            yield Pair(paper=paper, telescope=key, gold=row.gold)
        return
    keys = list(wanted) or candidate_telescopes(paper, registry, settings.include_references)
    if not keys:
        # say so explicitly rather than dropping the paper from the output
        keys = [NONE_TELESCOPE]
    for key in keys:
        yield Pair(paper=paper, telescope=key)


def read_labelled_pairs(
    paths: Sequence[Path | str],
    registry: Registry,
    settings: Settings,
    limit: int | None = None,
) -> list[Pair]:
    """Every pair of the inputs (the first ``limit``), each with its stored labels.

    Raises ``InputError`` when the inputs hold no pair, or pairs without the four label
    columns (training, evaluation and the audit need them on every row).
    """
    pairs = [p for p in islice(read_pairs(paths, registry, settings), limit) if isinstance(p, Pair)]
    where = ", ".join(map(str, paths))
    if not pairs:
        raise InputError("no labelled pairs in the input", where)
    unlabelled = [p.pair_id for p in pairs if p.gold is None]
    if unlabelled:
        raise InputError(
            f"{len(unlabelled)} pair(s) have no labels (e.g. {unlabelled[0]!r}); this command "
            "needs the columns science, instrumentation, mention, not_telescope",
            where,
        )
    return pairs
