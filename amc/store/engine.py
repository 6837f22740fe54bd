"""Database URLs and engines for the job store: SQLite embedded, PostgreSQL by URL."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from amc.domain.errors import AmcError, require_extra

#: how long a SQLite writer waits for another one before giving up
SQLITE_BUSY_TIMEOUT_S = 30


class StoreError(AmcError):
    """The job store cannot do what was asked (bad database URL, unknown batch, ...)."""

    kind = "store"


def normalize_url(url: str | Path) -> str:
    """A SQLAlchemy URL for ``url``: a plain path means a SQLite file, and
    ``postgres://`` / ``postgresql://`` use the psycopg (v3) driver."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser()}"
    scheme, rest = text.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return text


def sqlite_path(url: str | Path) -> Path | None:
    """The database file of a SQLite store; None for PostgreSQL or an in-memory database."""
    try:
        parsed = make_url(normalize_url(url))
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def describe_url(url: str | Path) -> str:
    """Where the store is, for messages: the SQLite file, or the URL without its password."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def make_engine(url: str | Path) -> Engine:
    """An engine for the store. SQLite gets WAL, foreign keys and a busy timeout."""
    normalized = normalize_url(url)
    try:
        parsed = make_url(normalized)
    except ArgumentError as exc:
        raise StoreError(
            f"database URL {str(url)!r} is not valid; use a file path, "
            "sqlite:///path/amc.db or postgresql://user@host/dbname"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(normalized, parsed.database)
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"database URL {str(url)!r}: only SQLite and PostgreSQL are supported")
    require_extra("postgres", "a PostgreSQL job store", ("psycopg",))
    return create_engine(normalized, pool_pre_ping=True)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    in_memory = database in (None, "", ":memory:")
    options: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if in_memory:
        # one shared connection, or every checkout would see a new empty database
        options["poolclass"] = StaticPool
        options["connect_args"]["check_same_thread"] = False
    else:
        Path(database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    _wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _wal(cursor: Any) -> None:
    """Switch to WAL. Several processes opening a new database at once race to switch it,
    and the switch answers "database is locked" at once (no busy wait): try again until
    one of them has done it."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def dialect_insert(engine: Engine, table: Any) -> Any:
    """The dialect's own INSERT construct, which has ``on_conflict_do_update/nothing``."""
    name = engine.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise StoreError(f"unsupported database {name!r}; use SQLite or PostgreSQL")
