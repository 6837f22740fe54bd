"""Private to ``amc.ingest``: the same pair twice in the inputs.

A row is keyed by its bibcode and telescope (a Kaggle ``Id``; a row naming no telescope
by its bibcode alone). The same key again with the same content (text, labels) is
merged: the later row is dropped with a warning. With different content nobody can
tell which row is right, so the later one is a bad row naming both: it stops the run,
or with ``--skip-bad-rows`` becomes an error row of its own (``<pair id>#row=N``, so
that ids stay unique).

Only a short digest per field of each row is kept: memory grows by ~500 bytes a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from amc.domain.errors import InputError
from amc.ingest.records import InputRow

log = logging.getLogger(__name__)

#: identical duplicates reported one by one; the rest are counted
WARN_EACH = 10


class DuplicateRowError(InputError):
    """A row repeats the key of an earlier row with different content."""

    kind = "duplicate"


@dataclass(frozen=True)
class _Seen:
    digests: tuple[int, ...]
    path: str
    row: int


@dataclass
class DuplicateCheck:
    """Remembers the rows read so far (one per input stream)."""

    seen: dict[tuple[str, str | None], _Seen] = field(default_factory=dict)
    merged: int = 0

    def check(self, row: InputRow) -> Literal["new", "repeat"] | DuplicateRowError:
        """``new`` for a row whose key was not seen; ``repeat`` for an identical repeat of
        an earlier row (drop it: a warning says so); ``DuplicateRowError`` for a row with
        the key of an earlier one and other content."""
        key = (row.paper.bibcode, row.telescope)
        digests = _digests(row)
        earlier = self.seen.get(key)
        if earlier is None:
            self.seen[key] = _Seen(digests, row.path, row.row)
            return "new"
        where = f"{earlier.path}, row {earlier.row}"
        if earlier.path == row.path:
            where = f"row {earlier.row}"
        name = f"{key[0]}_{key[1]}" if key[1] else key[0]
        if earlier.digests == digests:
            self.merged += 1
            if self.merged <= WARN_EACH:
                log.warning("%s, row %d: duplicate of %s (%s), identical: kept once",
                            row.path, row.row, where, name)  # fmt: skip
            return "repeat"
        differ = [f for f, a, b in zip(_FIELDS, earlier.digests, digests, strict=True) if a != b]
        return DuplicateRowError(
            f"duplicate of {where}: both are {name}, with a different {', '.join(differ)}; "
            "keep the right one (or pass --skip-bad-rows to record this row as an error)",
            row.path,
            row.row,
        )

    def finish(self) -> None:
        """Say how many identical duplicates were merged beyond those reported one by one."""
        if self.merged > WARN_EACH:
            log.warning("%d more identical duplicate rows were kept once", self.merged - WARN_EACH)


_FIELDS = ("title", "abstract", "body", "acknowledgments", "grants", "references", "year",
           "authors", "identifiers", "labels")  # fmt: skip


def _digests(row: InputRow) -> tuple[int, ...]:
    """A 64-bit digest of each field: Python's own (keyed SipHash) string hash, which a str
    keeps once computed, so a paper's body costs nothing here that a later stage (the
    text memo's lookup) would not pay anyway (blake2b of the body was 70 us a row).
    Digests are only compared within one run, where the hash key is the same."""
    paper = row.paper
    values = [getattr(paper, name) for name in _FIELDS[:-1]]
    values.append(row.gold.as_dict() if row.gold is not None else None)
    return tuple(_digest(v) for v in values)


def _digest(value: object) -> int:
    """A text's hash as it is (``repr`` of a paper-sized text cost more than the hash),
    anything else by its ``repr``; the two kinds kept apart."""
    if isinstance(value, str):
        return hash(value) * 2
    return hash(repr(value)) * 2 + 1
