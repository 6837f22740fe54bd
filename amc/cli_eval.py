"""Evaluation commands (eval run/score/submit, train, audit): issue 4, in progress."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``amc`` app (none yet)."""
