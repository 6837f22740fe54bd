"""A SQLite cache of validated model answers, so re-running a finished batch costs nothing.

The key is the sha256 of everything that determines an answer: the model
string, the prompt file's hash, the rendered messages (which contain the
snippets) and the request parameters. Changing the model, the prompt file or
a parameter therefore never returns a stale answer. Only answers that
passed validation are stored: a pair that failed is asked again next time.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

from amc.classify.llm.encoding import JsonEncoder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
)
"""


#: the key's JSON: sorted keys, text as it is (the system message encoded once a run)
_KEY_JSON = JsonEncoder(sort_keys=True, ensure_ascii=False)


def cache_key(model: str, prompt_hash: str, messages: Any, params: dict[str, Any]) -> str:
    """sha256 of (model, prompt hash, rendered messages, parameters): of
    ``json.dumps(payload, sort_keys=True, ensure_ascii=False)``, so keys stay those of
    earlier versions."""
    payload = {"model": model, "prompt": prompt_hash, "messages": messages, "params": params}
    blob = _KEY_JSON.request(payload).encode()
    return hashlib.sha256(blob).hexdigest()


#: how long opening the cache waits for another process that holds the file (setting it up)
SETUP_WAIT_S = 60.0


class AnswerCache:
    """Answers keyed by ``cache_key``. Safe to share between the tasks of one event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # one connection used from the event-loop thread; WAL lets other processes read
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        deadline = time.monotonic() + SETUP_WAIT_S
        while True:
            try:
                self._set_up()
                return
            except sqlite3.OperationalError as exc:
                # two processes switching a new file to WAL at once: SQLite may refuse one
                # at once ("database is locked") rather than wait; the other finishes soon
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _set_up(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        # in WAL mode, NORMAL syncs at checkpoints, not at every commit: a put cost ~9 ms of
        # fsync on the event loop's thread (a run stalled at ~110 answers/s). A crash of
        # the machine may lose the last answers: they are asked again, nothing else is lost
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT text FROM answers WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def put(self, key: str, model: str, prompt_hash: str, text: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO answers (key, model, prompt_hash, text, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, model, prompt_hash, text, time.time()),
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        self._db.close()
