"""Alembic migrations of the job store, shipped inside the package.

``upgrade_to_head`` runs them programmatically; users never need an alembic.ini.
To add a revision during development, change ``amc/store/schema.py`` and run::

    python -c "from amc.store.migrations import revision; revision('add x', 'sqlite:///dev.db')"

then read and tidy the generated file in ``versions/`` (name it ``vNNNN_<slug>.py``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from amc.store.engine import make_engine

HERE = Path(__file__).parent
#: arbitrary constant: PostgreSQL advisory lock serialising concurrent upgrades
_PG_LOCK_KEY = 0x616D63


def alembic_config(url: str = "") -> Config:
    """An in-memory Alembic config pointing at this package's scripts."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(HERE / "versions"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(target: Engine | str) -> None:
    """Bring the database to the newest schema; safe to call from many workers at once."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.connect() as connection:
            _lock(connection)
            if current_revision(connection) != head_revision():
                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            connection.commit()
    finally:
        if engine is not target:
            engine.dispose()


def _lock(connection: Connection) -> None:
    """Hold the database's migration lock until the transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def revision(message: str, url: str) -> None:
    """Autogenerate a new revision against a database already at head (development only)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
