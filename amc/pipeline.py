"""The core pipeline: input rows -> pairs -> snippets -> classifications.

Plain functions; the CLI, the Celery tasks and the web app are thin shells
around them. One bad row or pair never stops the others: it becomes a
``Classification`` with ``error`` set, unless the caller asked to stop at
the first bad input row (``skip_bad_rows=False``, the CLI default, so a
librarian learns about a broken file before anything is spent on it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from amc.errors import AmcError, UnknownTelescopeError
from amc.ingest import BadRow, InputRow, read_inputs
from amc.models import NONE_TELESCOPE, Classification, Pair, Snippet, pair_id
from amc.registry import Registry
from amc.rules import classify_rules
from amc.settings import Settings
from amc.snippets import candidate_telescopes, find_snippets

log = logging.getLogger(__name__)


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
    a hit in the paper becomes a candidate.
    """
    wanted = [registry.check(t) for t in telescopes]
    rows = read_inputs(
        paths,
        chunk_rows=settings.chunk_rows,
        allow_extra_columns=settings.allow_extra_columns,
        max_field_chars=settings.max_field_chars,
        pdf_max_pages=settings.pdf_max_pages,
        pdf_max_bytes=settings.pdf_max_bytes,
    )
    for row in rows:
        if isinstance(row, BadRow):
            yield _bad_row(row, settings)
        else:
            yield from _row_pairs(row, registry, settings, wanted)


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


def pair_snippets(pair: Pair, registry: Registry, settings: Settings) -> list[Snippet]:
    """The snippets of a pair (none for ``NONE`` pairs)."""
    if pair.telescope == NONE_TELESCOPE:
        return []
    telescope = registry.get(pair.telescope)
    return find_snippets(
        pair.paper, telescope, settings.window_sentences, settings.include_references
    )


def classify_pair(
    pair: Pair,
    registry: Registry,
    settings: Settings,
    snippets: list[Snippet] | None = None,
) -> Classification:
    """Classify one pair with the rules tier (``snippets`` when the caller already has
    them); never raises for a bad pair."""
    started = time.perf_counter()
    try:
        if snippets is None:
            snippets = pair_snippets(pair, registry, settings)
        telescope = None if pair.telescope == NONE_TELESCOPE else registry.get(pair.telescope)
        result = classify_rules(pair, snippets, telescope, registry)
    except AmcError as exc:
        result = _failed(pair, exc)
    except Exception as exc:  # one broken pair must not stop a batch
        log.exception("unexpected error classifying %s", pair.pair_id)
        result = _failed(pair, exc)
    result.elapsed_s = round(time.perf_counter() - started, 6)
    return result


def _failed(pair: Pair, exc: Exception) -> Classification:
    return Classification.failed(
        pair.pair_id,
        pair.paper.bibcode,
        pair.telescope,
        exc,
        gold=pair.gold,
        source=pair.paper.source,
    )


def classify_papers(
    paths: Sequence[Path | str],
    registry: Registry,
    settings: Settings,
    telescopes: Sequence[str] = (),
) -> Iterator[Classification]:
    """Everything from input files to classifications, streamed, with ``settings.tier``."""
    from amc.tiers import classify_stream  # tiers builds on this module

    return classify_stream(read_pairs(paths, registry, settings, telescopes), registry, settings)
