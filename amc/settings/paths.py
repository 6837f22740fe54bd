"""Where amc keeps its own files when no setting says otherwise: one per-user data folder.

``home`` (``AMC_HOME``) defaults to the platform's user data folder (platformdirs:
``~/.local/share/amc`` on Linux, or ``$XDG_DATA_HOME/amc``; ``~/Library/Application
Support/amc`` on macOS), so the job store, the LLM answer cache, the spool and the audit
reports are the same whatever folder a command runs in. Nothing here creates a folder:
each file is made by the code that first writes it.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

#: the embedded job store (SQLite), the LLM answer cache, submitted inputs, audit reports
STORE_FILE = "amc.sqlite3"
CACHE_FILE = "llm-cache.sqlite"
SPOOL_DIR = "spool"
AUDIT_DIR = "audit-reports"


def default_home() -> Path:
    """The per-user data folder of amc on this platform (not created)."""
    return Path(platformdirs.user_data_dir("amc", appauthor=False))


def store_url(home: Path) -> str:
    """The SQLite job store's URL under ``home``."""
    return f"sqlite:///{home / STORE_FILE}"
