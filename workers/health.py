"""Health check of the worker in this container: ``python -m workers.health [NAME ...]``.

Exits 0 when the worker of this host (``celery@<hostname>``, Celery's default name, or
the names given, e.g. ``amc1@host``) answers a ping through the broker, 1 otherwise
with one line saying why. docker-compose.yml's worker healthcheck runs it.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence

import redis

from amc.settings import load_settings
from workers.app import make_app

#: how long to wait for the worker's reply
PING_TIMEOUT_S = 5.0


def main(names: Sequence[str] = ()) -> int:
    """0 when every named worker (default: this host's) answers a ping, else 1."""
    wanted = list(names) or [f"celery@{socket.gethostname()}"]
    try:
        settings = load_settings()
        # Celery would retry an unreachable broker for ever: ask Redis first, briefly
        redis.Redis.from_url(settings.broker_url, socket_connect_timeout=PING_TIMEOUT_S).ping()
        replies = make_app(settings).control.ping(destination=wanted, timeout=PING_TIMEOUT_S)
    except Exception as exc:  # the broker is down, the settings are broken, ...
        print(f"amc worker health: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    answered = {name for reply in replies for name in reply}
    missing = [name for name in wanted if name not in answered]
    if missing:
        print(f"amc worker health: no reply from {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
