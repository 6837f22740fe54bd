"""Who holds a claimed paper (``amc.jobs.owners``): a dead process of this host is known
dead at once; a live one, a reused pid and an owner on another host are not taken for dead."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from amc.jobs.owners import owner_is_dead, this_process


def test_this_process_is_host_pid_and_start_time() -> None:
    host, pid, start = this_process().rsplit("/", 2)
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())
    assert start.isdigit()  # /proc is there on the project's machines
    assert not owner_is_dead(this_process())


def test_a_finished_process_is_dead_a_running_one_is_not() -> None:
    code = "from amc.jobs.owners import this_process; print(this_process())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=60)  # fmt: skip
    assert owner_is_dead(child.stdout.strip())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stat = Path(f"/proc/{sleeper.pid}/stat").read_text()
        start = stat.rpartition(")")[2].split()[19]
        owner = f"{socket.gethostname()}/{sleeper.pid}/{start}"
        assert not owner_is_dead(owner)
        # the same pid with another start time: the pid was reused, the owner is gone
        assert owner_is_dead(f"{socket.gethostname()}/{sleeper.pid}/{int(start) + 1}")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert owner_is_dead(owner)


def test_owners_elsewhere_or_unreadable_are_never_taken_for_dead() -> None:
    assert not owner_is_dead("another-host/1/123")  # left to the lease
    assert not owner_is_dead("garbage")
    assert not owner_is_dead(f"{socket.gethostname()}/not-a-pid/1")
