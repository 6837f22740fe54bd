"""The librarian web app and HTTP API (``amc serve``): a thin shell over ``amc.jobs``
and the store. ``create_app(settings)`` builds it; see ``amc.web.app``."""

from __future__ import annotations

from amc.web.app import create_app

__all__ = ["create_app"]
