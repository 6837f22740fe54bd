"""The Celery app, built from the one ``Settings`` object at worker or beat start.

Redis is the broker and the result backend (``AMC_BROKER_URL``); the job store
(``AMC_DATABASE_URL``) holds the truth about every batch and paper, so losing
Redis loses no work (see ``workers.tasks.sweep_batches``). Crash safety:
``acks_late`` + ``reject_on_worker_lost`` put a message back when its worker
dies, the broker's visibility timeout re-delivers messages a killed worker had
taken, and ``Store.save_results`` is an idempotent upsert, so a paper processed
twice still has exactly one result per pair.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab

from amc.domain.errors import ConfigError
from amc.settings import Settings
from workers.tasks import AUDIT_TASK, SWEEP_TASK, register_tasks

#: how often kombu looks for messages a dead worker took (bounded by the lease)
MAX_RESTORE_INTERVAL_S = 10


def make_app(settings: Settings) -> Celery:
    """A Celery app for these settings, with the amc tasks registered."""
    app = Celery("amc", broker=settings.broker_url, backend=settings.broker_url)
    lease = settings.task_lease_s
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,  # progress lives in the job store, not in results
        task_serializer="json",
        accept_content=["json"],
        # one message per free slot: a dead worker strands few, and a busy one hoards none
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        worker_pool=settings.worker_pool,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # ride out a Redis restart, however long
        broker_transport_options={
            "visibility_timeout": lease,
            "unacked_restore_interval": max(1, min(MAX_RESTORE_INTERVAL_S, int(lease / 2))),
            "unacked_restore_throttle": 1,
        },
        timezone="UTC",
        beat_schedule=beat_schedule(settings),
        amc_task_papers=settings.task_papers,  # papers per message (workers.tasks)
    )
    register_tasks(app, settings)
    return app


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The sweep every ``sweep_interval_s``; the incremental audit at ``audit_cron`` when a
    labels file to audit is configured too (``audit_labels_path``), else none."""
    schedule: dict[str, dict[str, Any]] = {
        "amc-sweep": {"task": SWEEP_TASK, "schedule": settings.sweep_interval_s},
    }
    if settings.audit_cron and settings.audit_labels_path:
        schedule["amc-audit"] = {"task": AUDIT_TASK, "schedule": parse_cron(settings.audit_cron)}
    return schedule


def parse_cron(expression: str) -> crontab:
    """A 5-field cron expression (minute hour day-of-month month day-of-week) as a crontab."""
    fields = expression.split()
    if len(fields) != 5:
        raise ConfigError(
            f"audit_cron {expression!r} must have 5 fields: minute hour day-of-month month "
            "day-of-week, e.g. '0 3 * * *' for 03:00 every day"
        )
    minute, hour, day_of_month, month, day_of_week = fields
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month,
            day_of_week=day_of_week,
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"audit_cron {expression!r} is not a valid cron expression: {exc}"
        ) from None
