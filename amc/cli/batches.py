"""Batch commands: ``submit``, ``status``, ``results``, ``retry``, ``run``, ``worker``, ``beat``.

A thin shell over ``amc.jobs`` (and ``workers`` for the Celery side). The
store is ``database_url`` (AMC_DATABASE_URL; SQLite file by default), the broker
``broker_url`` (AMC_BROKER_URL). ``amc run`` needs no Redis at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from amc.cli.common import (
    ApiBaseOpt,
    BatchArg,
    ConfigOpt,
    FormatOpt,
    InputsArg,
    ModelOpt,
    OutputOpt,
    SkipBadOpt,
    TelescopeOpt,
    TierOpt,
    err,
    open_job_store,
    print_result,
)
from amc.domain.errors import AmcError
from amc.jobs.process import export_results, finish_if_done, run_batch
from amc.jobs.submit import submit_batch
from amc.output.summary import RunSummary
from amc.output.writers import infer_format
from amc.settings import Settings, load_settings
from amc.store import BatchProgress, Store

if TYPE_CHECKING:
    from celery import Celery


def register(app: typer.Typer) -> None:
    """Add the batch commands to the ``amc`` app."""
    for command in (submit, status, results, retry, run, worker, beat):
        app.command()(command)


def _workers() -> ModuleType:
    """``workers.queue``, imported when a command hands work to Celery (the ``workers``
    extra: Celery and Redis are not needed to classify)."""
    import workers.queue

    return workers.queue


def _enqueue(settings: Settings, batch_id: str, paper_ids: list[int]) -> None:
    _workers().enqueue(settings, batch_id, paper_ids)


def _celery(settings: Settings) -> Celery:
    app: Celery = _workers().make_app(settings)
    return app


def submit(
    inputs: InputsArg,
    telescope: TelescopeOpt = None,
    tier: TierOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    skip_bad_rows: SkipBadOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Submit inputs as a batch for the workers; prints the batch id.

    The inputs are copied to the spool (AMC_SPOOL_DIR, shared with the workers)
    and every paper is queued on Redis (AMC_BROKER_URL). Submitting the same
    files, telescopes, tier and settings again prints the same id and queues nothing.

    Example:

        amc submit papers.parquet -t HST -t JWST --tier llm
    """
    settings = load_settings(
        config, tier=tier, model=model, api_base=api_base, skip_bad_rows=skip_bad_rows
    )
    with open_job_store(settings) as store:
        sub = submit_batch(store, inputs, telescope or (), settings)
    if sub.paper_ids:
        _enqueue(settings, sub.batch_id, sub.paper_ids)
    if sub.created:
        err.print(f"batch {sub.batch_id}: {sub.n_papers} papers queued")
    else:
        err.print(
            f"already submitted as batch {sub.batch_id} (same inputs, telescopes, tier and "
            "settings): nothing new queued; see `amc status " + sub.batch_id + "`"
        )
    typer.echo(sub.batch_id)


def status(
    batch_id: Annotated[
        str | None, typer.Argument(help="Batch id; without one, list recent batches.")
    ] = None,
    watch: Annotated[
        bool | None,
        typer.Option("--watch/--once", help="Live progress bar until done (default: terminal)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Progress of a batch: papers by state, pairs saved, errors by kind.

    Examples:

        amc status                 # recent batches

        amc status 3f2a9c1b7d4e    # live progress bar on a terminal, then the counts
    """
    settings = load_settings(config)
    with open_job_store(settings) as store:
        if batch_id is None:
            _list_batches(store)
            return
        live = err.is_terminal if watch is None else watch
        progress = _watch(store, batch_id) if live else store.batch_progress(batch_id)
        finish_if_done(store, batch_id)  # closes a finished batch even when no beat runs
        _print_progress(store, batch_id, progress)


def _list_batches(store: Store) -> None:
    for b in store.list_batches(20):
        when = b.created_at.strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{b.id}  {b.status:<9} {when}  {b.n_papers:>7} papers  {b.tier:<7} "
                   f"{', '.join(b.inputs)[:60]}")  # fmt: skip


def _watch(store: Store, batch_id: str, every_s: float = 1.0) -> BatchProgress:
    progress = store.batch_progress(batch_id)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(batch_id, total=progress.total)
        while True:
            done = progress.papers["done"] + progress.papers["failed"]
            text = f"{batch_id} running {progress.papers['running']}"
            bar.update(task, completed=done, total=progress.total, description=text)
            if progress.finished:
                return progress
            time.sleep(every_s)
            progress = store.batch_progress(batch_id)


def _print_progress(store: Store, batch_id: str, progress: BatchProgress) -> None:
    batch = store.get_batch(batch_id)
    papers = ", ".join(f"{state} {n}" for state, n in progress.papers.items())
    typer.echo(f"batch {batch_id}: {batch.status}; {progress.total} papers: {papers}")
    typer.echo(f"pairs: {progress.pairs} saved, {progress.pairs_failed} failed")
    if progress.errors:
        typer.echo("errors: " + ", ".join(f"{k} {n}" for k, n in progress.errors.items()))
    for paper in store.failed_papers(batch_id)[:5]:
        typer.echo(f"  {paper.bibcode}: [{paper.error_kind}] {paper.error_message}")
    if progress.prompt_tokens:
        typer.echo(f"tokens: {progress.prompt_tokens} prompt ({progress.cached_share:.0%} "
                   f"cached) + {progress.completion_tokens} completion, cost "
                   f"${progress.cost_usd:.4f} (${progress.cost_per_1000_pairs:.2f} per 1,000 "
                   "pairs)")  # fmt: skip


def results(
    batch_id: BatchArg, output: OutputOpt = None, fmt: FormatOpt = None, config: ConfigOpt = None
) -> None:
    """Write (or print) a batch's results.

    Examples:

        amc results 3f2a9c1b7d4e -o results.csv

        amc results 3f2a9c1b7d4e --format kaggle -o submission.csv
    """
    settings = load_settings(config)
    with open_job_store(settings) as store:
        _write_results(store, batch_id, output, fmt)


def _write_results(store: Store, batch_id: str, output: Path | None, fmt: str | None) -> None:
    if output is None:
        store.get_batch(batch_id)
        for c in store.iter_results(batch_id):
            print_result(c)
        return
    n = export_results(store, batch_id, output, infer_format(output, fmt))
    err.print(f"wrote {n} rows to {output}")


def retry(
    batch_id: BatchArg,
    failed: Annotated[
        bool, typer.Option("--failed", help="Re-run failed papers and papers with a failed pair.")
    ] = False,
    embedded: Annotated[
        bool, typer.Option("--embedded", help="Re-run them in this process, not on workers.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Queue a batch's failed papers again.

    Example:

        amc retry 3f2a9c1b7d4e --failed
    """
    if not failed:
        raise AmcError("say what to retry: `amc retry ID --failed`")
    settings = load_settings(config)
    with open_job_store(settings) as store:
        n = store.reset_failed(batch_id)
        if n and embedded:
            run_batch(store, batch_id, settings)
        elif n:
            _enqueue(settings, batch_id, [p.id for p in store.pending_papers(batch_id)])
    err.print(f"batch {batch_id}: {n} papers {'re-run' if embedded else 'queued'} again")


def run(
    inputs: InputsArg,
    telescope: TelescopeOpt = None,
    output: OutputOpt = None,
    fmt: FormatOpt = None,
    tier: TierOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the LLM cache.")] = False,
    skip_bad_rows: SkipBadOpt = None,
    config: ConfigOpt = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = None,
) -> None:
    """Run a batch in this process (embedded mode: no Redis, no workers).

    The batch is kept in the job store (AMC_DATABASE_URL, default ./amc.sqlite3)
    like a submitted one: `amc status` and `amc results` work on it, running the
    same command again resumes an interrupted run, and a finished one is not redone.

    Example:

        amc run papers.parquet -t HST -o results.csv
    """
    settings = load_settings(
        config, tier=tier, model=model, api_base=api_base, skip_bad_rows=skip_bad_rows,
        use_cache=False if no_cache else None, progress=progress,
    )  # fmt: skip
    summary = RunSummary()
    with open_job_store(settings) as store:
        sub = submit_batch(store, inputs, telescope or (), settings)
        err.print(f"batch {sub.batch_id}: {sub.n_papers} papers")
        with _paper_bar(settings, sub.n_papers) as advance:
            run_batch(store, sub.batch_id, settings, on_saved=lambda *_: advance())
        for c in store.iter_results(sub.batch_id):
            summary.add(c)
        _write_results(store, sub.batch_id, output, fmt)
    for line in summary.lines():
        err.print(line)


@contextmanager
def _paper_bar(settings: Settings, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar over papers on a terminal; a no-op elsewhere."""
    if not (settings.progress and err.is_terminal):
        yield lambda: None
        return
    columns = [TextColumn("papers"), BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("papers", total=total)
        yield lambda: bar.advance(task)


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", "-c", help="Tasks at once (threads) [4]; calls: AMC_LLM_CONCURRENCY."
        ),
    ] = None,
    pool: Annotated[
        str | None, typer.Option("--pool", help="threads (default) | prefork | solo.")
    ] = None,
    hostname: Annotated[
        str | None, typer.Option("--hostname", "-n", help="Worker name, e.g. amc1@%h.")
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="Log level.")] = "INFO",
    config: ConfigOpt = None,
) -> None:
    """Start a Celery worker with the project's settings.

    It takes tasks of AMC_TASK_PAPERS papers from Redis (AMC_BROKER_URL) and saves
    results in the store (AMC_DATABASE_URL); start as many as you like, on any machine
    that sees the spool folder (AMC_SPOOL_DIR). The tasks running at once share
    AMC_LLM_CONCURRENCY calls in flight; AMC_LLM_RPM / AMC_LLM_TPM cap the whole fleet.

    Example:

        AMC_DATABASE_URL=postgresql://amc@db/amc AMC_LLM_CONCURRENCY=32 amc worker
    """
    settings = load_settings(config, worker_concurrency=concurrency, worker_pool=pool)
    argv = [
        "worker", f"--loglevel={loglevel}", f"--pool={settings.worker_pool}",
        f"--concurrency={settings.worker_concurrency}", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if hostname:
        argv.append(f"--hostname={hostname}")
    _celery(settings).worker_main(argv)


def beat(
    schedule: Annotated[
        Path | None,
        typer.Option("--schedule", help="Beat's state file [<spool_dir>/celerybeat-schedule]."),
    ] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="Log level.")] = "INFO",
    config: ConfigOpt = None,
) -> None:
    """Start Celery beat: the sweep that recovers lost papers, and the scheduled audit.

    Run exactly one. The sweep runs every AMC_SWEEP_INTERVAL_S seconds; the
    incremental audit at AMC_AUDIT_CRON (e.g. '0 3 * * *'), if set. Without beat,
    a crontab line runs the same audit:
    0 3 * * * cd /srv/amc && .venv/bin/amc audit --labels historical.parquet

    Example:

        AMC_AUDIT_CRON='0 3 * * *' amc beat
    """
    settings = load_settings(config)
    state = schedule or settings.spool_dir / "celerybeat-schedule"
    state.parent.mkdir(parents=True, exist_ok=True)
    _celery(settings).start(["beat", f"--schedule={state}", f"--loglevel={loglevel}"])
