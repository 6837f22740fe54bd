"""Who holds a claimed paper, and whether that process is still alive.

A paper claimed by ``amc run`` or a worker records its owner as
``host/pid/start`` (``start``: the process's start time in clock ticks since boot,
from ``/proc``, so a pid reused by another process is not mistaken for the owner).
A process killed with ``kill -9`` gives nothing back; when the owner is on this
host and no longer runs, its papers can be taken back at once instead of after
the lease (``task_lease_s``), which still covers owners on other hosts.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of ``/proc/<pid>/stat``), None without ``/proc``
    or without such a process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count after its end
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


@cache
def this_process() -> str:
    """This process as an owner: ``host/pid/start``."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_ticks(pid) or '?'}"


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    return True


def owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` (``host/pid/start``) is a process of this host that no
    longer runs; an owner on another host, or one that cannot be read, is not known dead."""
    parts = owner.rsplit("/", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    _, pid_text, start = parts
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return owner != this_process()
    if not _pid_runs(pid):
        return True
    now = _start_ticks(pid)
    return start != "?" and now is not None and now != start
