"""Helpers of the web app tests: settings in tmp_path, an app with a token, waiting."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

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


@contextmanager
def api_client(settings: Settings, name: str = "Ada Reviewer") -> Iterator[TestClient]:
    """A client of the app over ``settings`` sending a fresh token of ``name`` as its
    bearer (the token is ``client.token``)."""
    app, token = app_with_token(settings, name)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        client.token = token  # type: ignore[attr-defined]
        yield client


def wait_finished(store: Store, batch_id: str, timeout_s: float = 60.0) -> None:
    """Block until the batch has no pending or running paper."""
    deadline = time.monotonic() + timeout_s
    while not store.batch_progress(batch_id).finished:
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch_id} did not finish in {timeout_s} s")
        time.sleep(0.05)


def login(client: TestClient, token: str) -> str:
    """Log ``client`` in through the login form (its CSRF token and cookie, then the API
    token); returns the session's CSRF token for the forms of the pages."""
    form = client.get("/login")
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.text))
    done = client.post("/login", data={**fields, "token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    return csrf_of(client.get("/batches").text)


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found[1]
