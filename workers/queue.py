"""Handing work to the worker fleet: what the edges (the CLI, the web app) call.

``enqueue`` sends a batch's papers to Redis as ``amc.process_papers`` messages (the
one place a message is built, whoever submits); ``workers_ready`` tells whether
any worker would take them.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from amc.settings import Settings
from workers.app import make_app
from workers.tasks import enqueue_papers

__all__ = ["enqueue", "make_app", "workers_ready"]


def enqueue(settings: Settings, batch_id: str, paper_ids: Sequence[int]) -> None:
    """Queue these papers of the batch for the workers (``BrokerError`` if Redis is down)."""
    client = redis.Redis.from_url(settings.broker_url)
    enqueue_papers(make_app(settings), client, batch_id, paper_ids)


def workers_ready(settings: Settings) -> bool:
    """True when the broker answers and a worker replies to a ping (within about 2 s)."""
    try:
        redis.Redis.from_url(settings.broker_url, socket_connect_timeout=0.5).ping()
        return bool(make_app(settings).control.ping(timeout=1.0))
    except Exception:  # any failure means: no usable workers
        return False
