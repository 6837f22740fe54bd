"""The job store: batches, papers, results and their history, in SQLite or PostgreSQL.

``open_store(url)`` is the one entry point: it creates or upgrades the schema
(Alembic migrations shipped in ``amc/store/migrations``) and returns a ``Store``.
``url`` is a file path or ``sqlite:///path/amc.db`` for the embedded default, or
``postgresql://user@host/dbname`` (the psycopg v3 driver is used).
"""

from __future__ import annotations

from pathlib import Path

from amc.store.engine import StoreError, describe_url, make_engine, normalize_url, sqlite_path
from amc.store.labels import AuditResolution, Reviewer
from amc.store.migrations import upgrade_to_head
from amc.store.records import AuditState, BatchInfo, BatchProgress, HumanLabel, PaperRecord
from amc.store.repository import Store, submission_hash
from amc.store.review import ResultRow, ReviewCounts
from amc.store.views import INPUT_FILTERS, LABEL_FILTERS, REVIEW_FILTERS, SORTS, ResultFilter

__all__ = [
    "INPUT_FILTERS",
    "LABEL_FILTERS",
    "REVIEW_FILTERS",
    "SORTS",
    "AuditResolution",
    "AuditState",
    "BatchInfo",
    "BatchProgress",
    "HumanLabel",
    "PaperRecord",
    "ResultFilter",
    "ResultRow",
    "ReviewCounts",
    "Reviewer",
    "Store",
    "StoreError",
    "describe_url",
    "make_engine",
    "normalize_url",
    "open_store",
    "sqlite_path",
    "submission_hash",
    "upgrade_to_head",
]


def open_store(url: str | Path) -> Store:
    """Open (creating or upgrading as needed) the job store at ``url``."""
    engine = make_engine(url)
    upgrade_to_head(engine)
    return Store(engine)
