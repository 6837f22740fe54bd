"""The ``amc`` command (``amc.cli.main``): ``app`` and the ``main`` entry point."""

from amc.cli.main import app, main

__all__ = ["app", "main"]
