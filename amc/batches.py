"""Batches: submit inputs to the job store, process papers, run a batch in-process, export.

Plain functions over the store (``amc.store``) and the pipeline; the CLI
(``amc.cli_batches``) and the Celery tasks (``workers.tasks``) are thin shells
around them, so a batch gives the same results embedded (``amc run``) or on workers.

Submitting reads the inputs once and writes every pair (and every bad row, with
``skip_bad_rows``) as a JSON line to the *spool*, ``<spool_dir>/<content hash>/pairs.jsonl``.
A *paper* is every line with the same bibcode across all the input files (TRACS has
one row per telescope, in different split files), keyed in the store by
``(bibcode, source)`` where ``source`` lists its lines' byte ranges
(``pairs.jsonl@0:812,...``): a worker reads a paper with a few seeks, whatever the
input size, and needs only the spool folder (shared storage) and the store.
The content hash covers input bytes, telescopes, tier and the settings that change
a verdict (``BATCH_SETTINGS``): the same submission twice is one batch, done once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from amc.errors import AmcError, InputError
from amc.models import Classification, Pair
from amc.output import OutputFormat, ResultWriter
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import BatchInfo, BatchProgress, PaperRecord, Store, submission_hash

log = logging.getLogger(__name__)

#: settings stored with a batch: every worker classifies it the same way, whatever its own
BATCH_SETTINGS = (
    "tier", "window_sentences", "include_references", "skip_bad_rows", "allow_extra_columns",
    "max_field_chars", "registry_files", "model", "api_base", "llm_mode", "rerank",
    "response_format", "cascade_threshold", "use_cache", "max_cost_usd",
)  # fmt: skip
SPOOL_FILE = "pairs.jsonl"
Item = Pair | Classification
#: called with each paper's results as they are saved (progress bars)
OnSaved = Callable[[PaperRecord, list[Classification]], None]


class Limiter(Protocol):
    """A rate limit shared by every process calling the LLM (``workers.ratelimit``):
    ``acquire`` blocks until the calls and tokens may be spent (returns seconds waited);
    ``charge`` takes tokens spent beyond the estimate, without waiting."""

    def acquire(self, requests: int, tokens: int) -> float: ...

    def charge(self, tokens: int) -> None: ...


@dataclass(frozen=True)
class Submission:
    batch_id: str
    #: False when the same content was submitted before (nothing new was queued)
    created: bool
    n_papers: int
    #: the store ids of the papers to queue (empty for a duplicate)
    paper_ids: list[int]


# -- submitting -------------------------------------------------------------------------


def submit_batch(
    store: Store, inputs: Sequence[Path], telescopes: Sequence[str], settings: Settings
) -> Submission:
    """Spool the inputs, register the batch and its papers; a duplicate returns the first batch.

    Raises ``InputError`` at the first bad row unless ``settings.skip_bad_rows``
    (then nothing is registered: a broken file is found before anything is spent).
    """
    registry = registry_for(settings)
    keys = [registry.check(t) for t in telescopes]
    chosen = {name: getattr(settings, name) for name in BATCH_SETTINGS}
    content_hash = batch_hash(inputs, keys, settings.tier, chosen)
    index = spool_inputs(inputs, keys, settings, content_hash)
    names = [str(p) for p in inputs]
    batch_id, created = store.create_batch(
        names, content_hash, keys, settings.tier, json.loads(json.dumps(chosen, default=str))
    )
    if not created and store.get_batch(batch_id).n_papers == len(index):
        return Submission(batch_id, False, len(index), [])
    # a new batch, or one whose first submit died before its papers were in (add is idempotent)
    ids = store.add_papers(batch_id, index)
    return Submission(batch_id, created, len(ids), ids)


def batch_hash(
    inputs: Sequence[Path], telescopes: Sequence[str], tier: str, chosen: dict[str, Any]
) -> str:
    """The submission's content hash: input bytes (streamed), telescopes, tier, settings."""
    digests = [_file_digest(f) for path in inputs for f in _files_under(Path(path))]
    settings_part = json.dumps(chosen, sort_keys=True, default=str).encode()
    return submission_hash([*digests, settings_part], telescopes, tier)


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256(path.name.encode() + b"\0")
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", str(path)) from None
    return digest.digest()


def spool_inputs(
    inputs: Sequence[Path], telescopes: Sequence[str], settings: Settings, content_hash: str
) -> list[tuple[str, str, str]]:
    """Write the inputs' pairs to the spool (once per content hash); the papers' index.

    Returns ``(bibcode, source, paper hash)`` per paper, for ``Store.add_papers``.
    """
    final = settings.spool_dir / content_hash
    if not (final / "papers.json").is_file():
        work = settings.spool_dir / f".{content_hash}.{uuid.uuid4().hex[:8]}"
        work.mkdir(parents=True)
        try:
            _write_spool(work, inputs, telescopes, settings)
            _publish(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    index = json.loads((final / "papers.json").read_text(encoding="utf-8"))
    return [(b, s, h) for b, s, h in index]


def _write_spool(
    work: Path, inputs: Sequence[Path], telescopes: Sequence[str], settings: Settings
) -> None:
    from amc.pipeline import read_pairs

    spans: dict[str, list[tuple[int, int]]] = {}
    digests: dict[str, Any] = {}
    offset = 0
    with (work / SPOOL_FILE).open("wb") as out:
        for item in read_pairs(inputs, registry_for(settings), settings, telescopes):
            line = _encode(item)
            bibcode = item.paper.bibcode if isinstance(item, Pair) else item.bibcode
            spans.setdefault(bibcode, []).append((offset, len(line)))
            digests.setdefault(bibcode, hashlib.sha256()).update(line)
            out.write(line)
            offset += len(line)
    index = [
        (bibcode, f"{SPOOL_FILE}@" + ",".join(f"{o}:{n}" for o, n in ranges),
         digests[bibcode].hexdigest())
        for bibcode, ranges in spans.items()
    ]  # fmt: skip
    (work / "papers.json").write_text(json.dumps(index), encoding="utf-8")


def _publish(work: Path, final: Path) -> None:
    """Move a finished spool into place; a concurrent submit of the same content may win."""
    try:
        os.rename(work, final)
    except OSError:
        if not (final / "papers.json").is_file():
            shutil.rmtree(final, ignore_errors=True)  # a stale, unfinished one
            os.rename(work, final)


def _encode(item: Item) -> bytes:
    key = "pair" if isinstance(item, Pair) else "failed"
    return (json.dumps({key: item.model_dump(mode="json")}) + "\n").encode()


def load_paper(spool: Path, paper: PaperRecord) -> list[Item]:
    """A paper's pairs (and failed rows) read back from the spool, in input order."""
    name, _, ranges = paper.source.partition("@")
    path = spool / name
    items: list[Item] = []
    try:
        with path.open("rb") as handle:
            for span in ranges.split(","):
                offset, length = (int(x) for x in span.split(":"))
                handle.seek(offset)
                record = json.loads(handle.read(length))
                items.append(
                    Pair.model_validate(record["pair"])
                    if "pair" in record
                    else Classification.model_validate(record["failed"])
                )
    except (OSError, ValueError, KeyError) as exc:
        raise SpoolError(
            f"paper {paper.bibcode}: cannot read {path} ({exc}); is spool_dir "
            "(AMC_SPOOL_DIR) the folder `amc submit` wrote to, shared with the workers?"
        ) from None
    return items


class SpoolError(AmcError):
    """A paper's spooled text is missing or unreadable."""

    kind = "spool"


# -- processing -------------------------------------------------------------------------


def batch_settings(settings: Settings, batch: BatchInfo) -> Settings:
    """This process's settings with the batch's classification settings laid over them."""
    values = {k: v for k, v in batch.settings.items() if k in BATCH_SETTINGS}
    return Settings.model_validate({**settings.model_dump(), **values})


@lru_cache(maxsize=8)
def _registry(files: tuple[Path, ...]) -> Registry:
    return load_registry(list(files))


def registry_for(settings: Settings) -> Registry:
    """The registry of these settings, loaded once per process."""
    return _registry(tuple(settings.registry_files))


def process_paper(
    store: Store, paper_id: int, settings: Settings, limiter: Limiter | None = None
) -> str:
    """Claim one paper, classify every pair of it, save: ``done``, ``failed`` or ``skipped``.

    ``skipped`` means another worker has it (or had it): a redelivered message is
    harmless. Whatever goes wrong with the paper is recorded on its row.
    """
    paper = store.get_paper(paper_id)
    if not store.claim_paper(paper_id):
        return "skipped"
    batch = store.get_batch(paper.batch_id)
    if batch.status == "queued":
        store.set_batch_status(batch.id, "running")
    try:
        process_claimed(store, batch, [paper], batch_settings(settings, batch), limiter)
    except AmcError as exc:  # the provider stopped the run: the paper is marked failed
        log.warning("paper %s (batch %s) failed: %s", paper.bibcode, batch.id, exc)
        return "failed"
    return "failed" if store.get_paper(paper_id).status == "failed" else "done"


def process_claimed(
    store: Store,
    batch: BatchInfo,
    papers: Sequence[PaperRecord],
    settings: Settings,
    limiter: Limiter | None = None,
    on_saved: OnSaved | None = None,
) -> None:
    """Classify claimed papers together (one LLM chunk) and save each paper's results.

    A paper whose text cannot be read is marked failed and the others go on. When
    the LLM tier stops the run (provider down, budget spent), the papers it
    finished are saved, the rest are marked failed, and ``LLMRunStopped`` is raised.
    """
    spool = settings.spool_dir / batch.content_hash
    work: list[tuple[PaperRecord, list[Item]]] = []
    for paper in papers:
        try:
            work.append((paper, load_paper(spool, paper)))
        except Exception as exc:  # one unreadable paper never stops the others
            _mark_failed(store, paper, exc)
    pairs = [item for _, items in work for item in items if isinstance(item, Pair)]
    try:
        results = {c.pair_id: c for c in classify_limited(pairs, settings, limiter)}
    except Exception as exc:  # recorded on the papers' rows; `amc retry --failed` redoes them
        completed = {c.pair_id: c for c in getattr(exc, "completed", [])}
        _save_finished(store, batch.id, work, completed, on_saved, failure=exc)
        if isinstance(exc, AmcError) and hasattr(exc, "completed"):
            raise  # amc.llm.LLMRunStopped (not imported: it loads litellm): stop the run
        return
    _save_finished(store, batch.id, work, results, on_saved)


def _save_finished(
    store: Store,
    batch_id: str,
    work: list[tuple[PaperRecord, list[Item]]],
    results: dict[str, Classification],
    on_saved: OnSaved | None,
    failure: Exception | None = None,
) -> None:
    for paper, items in work:
        pair_ids = [item.pair_id for item in items if isinstance(item, Pair)]
        if not all(pid in results for pid in pair_ids):
            _mark_failed(store, paper, failure or AmcError("no result for some pairs"))
            continue
        saved = [results[item.pair_id] if isinstance(item, Pair) else item for item in items]
        store.save_results(batch_id, paper.id, saved)
        _record_calls(store, batch_id, saved)
        if on_saved is not None:
            on_saved(paper, saved)


def _record_calls(store: Store, batch_id: str, saved: list[Classification]) -> None:
    """One ``llm_calls`` row per request a pair's classification made (cost per call)."""
    for c in saved:
        for call in c.usage.call_log:
            store.record_llm_call(
                model=call.model, status="ok", batch_id=batch_id, pair_id=c.pair_id,
                prompt_hash=c.prompt_hash, prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens, cost_usd=call.cost_usd,
                latency_s=call.latency_s,
            )  # fmt: skip


def _mark_failed(store: Store, paper: PaperRecord, exc: BaseException) -> None:
    if not isinstance(exc, AmcError):
        log.error("unexpected error on paper %s", paper.bibcode, exc_info=exc)
    kind = str(getattr(exc, "kind", type(exc).__name__))
    store.mark_paper_failed(paper.id, kind, str(exc) or type(exc).__name__)


def classify_limited(
    pairs: Sequence[Pair], settings: Settings, limiter: Limiter | None = None
) -> list[Classification]:
    """``amc.tiers.classify_pairs``, after taking the calls and tokens from the shared limit.

    The estimate is the LLM tier's own (real prompts, offline tokenizer); tokens
    spent beyond it are charged afterwards so the fleet's bucket stays honest.
    """
    from amc.tiers import classify_pairs, estimate

    registry = registry_for(settings)
    if limiter is None or settings.tier in ("rules", "trained") or not pairs:
        return classify_pairs(pairs, registry, settings)
    planned = estimate(pairs, registry, settings)
    wanted = planned.prompt_tokens + planned.completion_tokens
    if planned.calls:
        limiter.acquire(planned.calls, wanted)
    results = classify_pairs(pairs, registry, settings)
    spent = sum(c.usage.prompt_tokens + c.usage.completion_tokens for c in results)
    if spent > wanted:
        limiter.charge(spent - wanted)
    return results


# -- whole batches ----------------------------------------------------------------------


def run_batch(
    store: Store,
    batch_id: str,
    settings: Settings,
    limiter: Limiter | None = None,
    on_saved: OnSaved | None = None,
) -> BatchProgress:
    """Embedded mode: process every pending paper of the batch in this process.

    Papers are taken in chunks of about ``llm_chunk_pairs`` pairs so the LLM tier
    keeps ``llm_concurrency`` requests in flight. Resumable: run it again after an
    interruption and only the papers still pending are done.
    """
    batch = store.get_batch(batch_id)
    settings = batch_settings(settings, batch)
    store.set_batch_status(batch_id, "running")
    for chunk in _chunks(store.pending_papers(batch_id), settings.llm_chunk_pairs):
        claimed = [p for p in chunk if store.claim_paper(p.id)]
        process_claimed(store, batch, claimed, settings, limiter, on_saved)
    return finish_if_done(store, batch_id)


def _chunks(papers: Iterable[PaperRecord], max_pairs: int) -> Iterator[list[PaperRecord]]:
    chunk: list[PaperRecord] = []
    pairs = 0
    for paper in papers:
        chunk.append(paper)
        pairs += paper.source.count(",") + 1  # one byte range per pair or failed row
        if pairs >= max_pairs:
            yield chunk
            chunk, pairs = [], 0
    if chunk:
        yield chunk


def finish_if_done(store: Store, batch_id: str) -> BatchProgress:
    """Mark the batch done once no paper is pending or running; its progress."""
    progress = store.batch_progress(batch_id)
    if progress.finished and store.get_batch(batch_id).status != "done":
        store.set_batch_status(batch_id, "done")
    return progress


def export_results(store: Store, batch_id: str, path: Path, fmt: OutputFormat) -> int:
    """Write the batch's results to ``path``; the number of rows written."""
    store.get_batch(batch_id)  # an unknown id is a clear error, not an empty file
    with ResultWriter(path, fmt) as writer:
        for c in store.iter_results(batch_id):
            writer.write(c)
    return writer.count
