"""Batch commands (submit, status, results, retry, run, worker, beat): issue 5, in progress."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``amc`` app (none yet)."""
