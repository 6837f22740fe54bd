"""The Batch API side of the batch commands: ``amc submit --batch-api`` and the plan that
``amc status`` shows for such a batch (``amc.jobs.provider_batch`` does the work)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import typer

from amc.classify.llm.provider_batch import describe_plan, load_state
from amc.cli.common import err, open_job_store
from amc.jobs.provider_batch import (
    advance_provider_batch,
    is_provider_batch,
    plan_path,
    start_provider_batch,
)
from amc.jobs.submit import submit_batch
from amc.settings import Settings
from amc.store import Store


def submit_to_provider(inputs: list[Path], telescopes: Sequence[str], settings: Settings) -> None:
    """Submit (or find) the batch, print its plan, send what is due; print the batch id."""
    with open_job_store(settings) as store:
        sub = submit_batch(store, inputs, telescopes, settings, batch_api=True)
        err.print(f"batch {sub.batch_id}: {sub.n_papers} papers, through the Batch API")
        start_provider_batch(store, sub.batch_id, settings, show=show)
        plan = advance_provider_batch(store, sub.batch_id, settings)
        show(["now:", *describe_plan(plan, time.time())[2:-1]])
        progress = store.batch_progress(sub.batch_id)
    err.print(
        f"{progress.papers['done']} of {progress.total} papers done; run the same command "
        "again (or keep `amc beat` running) to send the next files and collect the answers"
    )
    typer.echo(sub.batch_id)


def plan_lines(store: Store, batch_id: str, settings: Settings) -> list[str]:
    """The plan of a Batch API batch, described (nothing for other batches)."""
    batch = store.get_batch(batch_id)
    plan = load_state(plan_path(settings, batch)) if is_provider_batch(batch) else None
    return describe_plan(plan, time.time()) if plan is not None else []


def show(lines: list[str]) -> None:
    for line in lines:
        err.print(line, markup=False)
