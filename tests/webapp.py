"""Helpers of the web app tests: settings in tmp_path, an app with a token, waiting."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from amc.settings import Settings, load_settings
from amc.store import Store
from amc.store.tokens import create_token
from amc.web import create_app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"


def web_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings with every file under ``tmp_path``; batches run embedded (SQLite)."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'amc.sqlite3'}",
        "spool_dir": tmp_path / "spool",
        "audit_out_dir": tmp_path / "audit",
        "cache_path": tmp_path / "cache.sqlite",
        "web_workers": "embedded",
        "progress": False,
    }
    values.update(overrides)
    return load_settings(environ={}, **values)


def app_with_token(settings: Settings, name: str = "Ada Reviewer") -> tuple[FastAPI, str]:
    """The app and a fresh API token of ``name``."""
    app = create_app(settings)
    store: Store = app.state.store
    return app, create_token(store, name)


def wait_finished(store: Store, batch_id: str, timeout_s: float = 60.0) -> None:
    """Block until the batch has no pending or running paper."""
    deadline = time.monotonic() + timeout_s
    while not store.batch_progress(batch_id).finished:
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch_id} did not finish in {timeout_s} s")
        time.sleep(0.05)
