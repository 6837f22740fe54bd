"""Throwaway PostgreSQL databases for the tests (next to ``test`` on 127.0.0.1).

Unreachable PostgreSQL makes a test FAIL, naming what to do, unless
``AMC_TEST_SKIP_POSTGRES=1`` is set (then it is skipped).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

#: read at import: the suite's autouse fixture clears AMC_* variables before each test
PG_ADMIN_URL = os.environ.get(
    "AMC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SKIP_POSTGRES = os.environ.get("AMC_TEST_SKIP_POSTGRES") == "1"


@contextmanager
def postgres_database(prefix: str = "amc_test") -> Iterator[str]:
    """A database created for the caller and dropped afterwards; its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({exc.orig})"
        if SKIP_POSTGRES:
            pytest.skip(message)
        pytest.fail(f"{message}; start it, or set AMC_TEST_SKIP_POSTGRES=1 to skip these tests")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
