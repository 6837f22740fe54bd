"""Alembic environment for the job store.

amc runs migrations itself (``amc.store.migrations.upgrade_to_head``), handing the
connection over in ``config.attributes["connection"]``; no alembic.ini is needed.
For ``alembic revision --autogenerate`` during development, see this package's
docstring.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from amc.store.schema import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("amc's job store migrations run online only (they need a connection)")
run_migrations_online()
