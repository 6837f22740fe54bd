"""Writing a job-store batch's results: ``amc results``, and the end of ``amc run`` and
``amc retry --embedded`` (run the batch here, then write every pair of it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from amc.classify.llm import LLMRunStopped
from amc.cli.common import err, raise_if_pairs_failed, result_file, write_results
from amc.domain.models import Classification
from amc.jobs.process import run_batch
from amc.output.final import REVIEW_COLUMNS, final_columns
from amc.output.summary import RunSummary
from amc.output.writers import ResultWriter, infer_format
from amc.settings import Settings
from amc.store import Store


def write_batch_results(
    store: Store,
    batch_id: str,
    output: Path | None,
    fmt: str | None,
    summary: RunSummary | None = None,
    stop: LLMRunStopped | None = None,
    show: bool = True,
    final: bool = True,
) -> ResultWriter | None:
    """The batch's results to ``output`` (or standard output, if ``show``), counted in
    ``summary``; after a ``stop`` the file holds every pair but does not replace an
    existing one. ``final``: each pair's final label (``amc.output.final``)."""
    summary = summary if summary is not None else RunSummary()
    store.get_batch(batch_id)  # an unknown id is a clear error, not an empty file
    rows = _final_rows(store, batch_id) if final else store.iter_results(batch_id)
    if output is None:
        if show:
            write_results(rows, None, summary)
        else:
            for row in rows:
                summary.add(row[0] if isinstance(row, tuple) else row)
        return None
    extra = REVIEW_COLUMNS if final else ()
    with result_file(output, infer_format(output, fmt), extra) as writer:
        write_results(rows, writer, summary)
        if stop is not None:
            raise stop  # the rows are all there, but the run is not complete
    err.print(f"wrote {writer.count} rows to {output}", markup=False)
    if writer.failed:
        err.print(f"{len(writer.failed)} failed pairs are not in {output}: they are listed "
                  f"with their errors in {writer.errors_path}", markup=False)  # fmt: skip
    return writer


def _final_rows(store: Store, batch_id: str) -> Iterator[tuple[Classification, dict[str, Any]]]:
    """Each pair with its final labels and links, and the columns saying where they come
    from."""
    edits = store.batch_link_edits(batch_id)
    for c, review in store.iter_reviewed_results(batch_id):
        yield final_columns(c, review, edits.get((c.bibcode, c.telescope), ()))


def run_and_write(
    store: Store,
    batch_id: str,
    settings: Settings,
    output: Path | None,
    fmt: str | None,
    advance: Callable[[], None] = lambda: None,
    show: bool = True,
) -> None:
    """Run the batch here, then write every pair of it (``show``: to standard output when
    there is no ``output``); the exit status says how it went (``LLMRunStopped`` after a
    stop, ``PairsFailed`` when some pairs failed)."""
    stop: LLMRunStopped | None = None
    try:
        run_batch(store, batch_id, settings, on_saved=lambda *_: advance())
    except LLMRunStopped as exc:
        if not exc.resumable:
            raise  # nothing to write: the run could not go as asked
        stop = exc
    summary = RunSummary()
    try:
        writer = write_batch_results(store, batch_id, output, fmt, summary, stop, show)
    finally:
        for line in summary.lines():
            err.print(line, markup=False)
    if stop is not None:
        raise stop
    raise_if_pairs_failed(summary, writer)
