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

from amc.classify.dispatch import check_ready
from amc.cli.batch_api import plan_lines, submit_to_provider
from amc.cli.common import (
    ApiBaseOpt,
    BatchArg,
    Command,
    ConfigOpt,
    FormatOpt,
    InputsArg,
    ModelOpt,
    OutputOpt,
    SkipBadOpt,
    TelescopeOpt,
    TierOpt,
    err,
    missing_store,
    no_store_message,
    open_job_store,
)
from amc.cli.results import run_and_write, write_batch_results
from amc.domain.errors import AmcError, require_extra
from amc.jobs.process import finish_if_done
from amc.jobs.submit import submit_batch
from amc.output.writers import OutputFormat, infer_format
from amc.settings import Settings, load_settings
from amc.store import BatchProgress, Store, describe_url

if TYPE_CHECKING:
    from celery import Celery

#: what the ``workers`` extra installs
WORKERS_EXTRA = ("celery", "redis")


def register(app: typer.Typer) -> None:
    """Add the batch commands to the ``amc`` app."""
    for command in (submit, status, results, retry, run, worker, beat):
        app.command(cls=Command)(command)


def _workers() -> ModuleType:
    """``workers.queue``, imported when a command hands work to Celery (the ``workers``
    extra: Celery and Redis are not needed to classify)."""
    require_extra("workers", "handing work to Celery workers", WORKERS_EXTRA)
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
    batch_api: Annotated[
        bool,
        typer.Option(
            "--batch-api",
            help="With --tier llm: send the batch through the provider's Batch API (half "
            "price, up to 24 h a file) instead of the workers; prints the plan first. `amc "
            "beat`, or this command again, sends the next files and collects the answers.",
        ),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Submit inputs as a batch for the workers; prints the batch id.

    The inputs are copied to the spool (AMC_SPOOL_DIR, shared with the workers)
    and every paper is queued on Redis (AMC_BROKER_URL). Submitting the same
    files, telescopes, tier and settings again prints the same id and queues nothing.
    With --batch-api nothing is queued: the plan of Batch API files is printed (requests,
    tokens, dollars and the day each goes out under AMC_BATCH_DAILY_TOKENS) and the files
    due now are sent; running the same command again goes on from where it is.

    Examples:

        amc submit papers.parquet -t HST -t JWST --tier llm

        amc submit tracs/ --tier llm --batch-api
    """
    settings = load_settings(
        config, tier=tier, model=model, api_base=api_base, skip_bad_rows=skip_bad_rows
    )
    if batch_api:
        submit_to_provider(inputs, telescope or (), settings)
        return
    _workers()  # before anything is spooled: a missing extra is one line, not a half-made batch
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
        str | None,
        typer.Argument(metavar="BATCH_ID", help="Batch id; without one, list recent batches."),
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
    if batch_id is None and missing_store(settings) is not None:
        err.print(f"no batches: {no_store_message(settings)}")
        return
    with open_job_store(settings, must_exist=True) as store:
        if batch_id is None:
            err.print(f"job store: {describe_url(settings.database_url)}")
            _list_batches(store)
            return
        live = err.is_terminal if watch is None else watch
        progress = _watch(store, batch_id) if live else store.batch_progress(batch_id)
        finish_if_done(store, batch_id)  # closes a finished batch even when no beat runs
        _print_progress(store, batch_id, progress)
        for line in plan_lines(store, batch_id, settings):
            typer.echo(line)


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
    batch_id: BatchArg,
    output: OutputOpt = None,
    fmt: FormatOpt = None,
    model_labels: Annotated[
        bool,
        typer.Option("--model-labels", help="The model's labels alone, without the reviews."),
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Write (or print) a batch's results with their final labels.

    The final label of a pair is its reviewer's (web app) when there is one, else the
    model's; CSV, JSONL and parquet add label_source, reviewer, reviewed_at,
    review_action, review_note and the model's own labels (model_science, ...).
    --model-labels writes the model's labels alone, as classified.

    Examples:

        amc results 3f2a9c1b7d4e -o results.csv

        amc results 3f2a9c1b7d4e --format kaggle -o submission.csv
    """
    settings = load_settings(config)
    with open_job_store(settings, must_exist=True) as store:
        write_batch_results(store, batch_id, output, fmt, final=not model_labels)


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
    with open_job_store(settings, must_exist=True) as store:
        n = store.reset_failed(batch_id)
        err.print(f"batch {batch_id}: {n} papers {'re-run' if embedded else 'queued'} again")
        if n and embedded:
            run_and_write(store, batch_id, settings, None, None, show=False)
        elif n:
            _enqueue(settings, batch_id, [p.id for p in store.pending_papers(batch_id)])


def run(
    inputs: InputsArg,
    telescope: TelescopeOpt = None,
    output: OutputOpt = None,
    fmt: FormatOpt = None,
    tier: TierOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Bypass the LLM cache.")] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost", metavar="DOLLARS", help="Stop the LLM run at this many dollars."
        ),
    ] = None,
    skip_bad_rows: SkipBadOpt = None,
    config: ConfigOpt = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = None,
) -> None:
    """Run a batch in this process (embedded mode: no Redis, no workers).

    The batch is kept in the job store (AMC_DATABASE_URL; default amc.sqlite3 in AMC_HOME)
    like a submitted one: `amc status` and `amc results` work on it, and running the
    same command again resumes a run that was interrupted, killed or stopped early
    (budget, provider down); a finished one is not redone. Exit status as for
    `amc classify`: 0, 2, 3 (some pairs failed), 4 (stopped early), 130/143.

    Example:

        amc run papers.parquet -t HST -o results.csv
    """
    settings = load_settings(
        config, tier=tier, model=model, api_base=api_base, skip_bad_rows=skip_bad_rows,
        use_cache=False if no_cache else None, progress=progress, max_cost_usd=max_cost,
    )  # fmt: skip
    out_format: OutputFormat | None = infer_format(output, fmt) if output is not None else None
    check_ready(settings)  # before anything is submitted or sent
    with open_job_store(settings) as store:
        sub = submit_batch(store, inputs, telescope or (), settings)
        err.print(f"batch {sub.batch_id}: {sub.n_papers} papers")
        with _paper_bar(settings, sub.n_papers) as advance:
            run_and_write(store, sub.batch_id, settings, output, out_format, advance)


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
            "--concurrency",
            "-c",
            metavar="N",
            help="Tasks at once (threads) [4]; calls: AMC_LLM_CONCURRENCY.",
        ),
    ] = None,
    pool: Annotated[
        str | None,
        typer.Option("--pool", metavar="POOL", help="threads (default) | prefork | solo."),
    ] = None,
    hostname: Annotated[
        str | None,
        typer.Option("--hostname", "-n", metavar="NAME", help="Worker name, e.g. amc1@%h."),
    ] = None,
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", metavar="LEVEL", help="Log level.")
    ] = "INFO",
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
        typer.Option(
            "--schedule",
            metavar="FILE",
            help="Beat's state file [celerybeat-schedule in AMC_SPOOL_DIR].",
        ),
    ] = None,
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", metavar="LEVEL", help="Log level.")
    ] = "INFO",
    config: ConfigOpt = None,
) -> None:
    """Start Celery beat: the sweep that recovers lost papers, and the scheduled audit.

    Run exactly one. The sweep runs every AMC_SWEEP_INTERVAL_S seconds; the
    incremental audit of AMC_AUDIT_LABELS_PATH at AMC_AUDIT_CRON (e.g. '0 3 * * *'),
    when both are set. Without beat,
    a crontab line runs the same audit:
    0 3 * * * cd /srv/amc && .venv/bin/amc audit --labels historical.parquet

    Example:

        AMC_AUDIT_CRON='0 3 * * *' AMC_AUDIT_LABELS_PATH=historical.parquet amc beat
    """
    settings = load_settings(config)
    app = _celery(settings)
    if settings.audit_cron and not settings.audit_labels_path:
        err.print(
            "amc beat: no scheduled audit: AMC_AUDIT_CRON is set, AMC_AUDIT_LABELS_PATH is not"
        )
    state = schedule or settings.spool_dir / "celerybeat-schedule"
    state.parent.mkdir(parents=True, exist_ok=True)
    app.start(["beat", f"--schedule={state}", f"--loglevel={loglevel}"])
