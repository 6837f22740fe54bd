"""Write classifications as they arrive: CSV, JSONL, parquet, or a Kaggle submission.

Writers stream to a temporary file beside the output (a row is on disk soon after
it is classified) and rename it into place when the run is complete, so a run that
fails, stops or is interrupted never truncates or half-writes an existing file:
what it finished is kept (``keep_incomplete``) in the output when there was none,
else beside it as ``<name>.partial``. Failed pairs are written too, with their
error; the Kaggle format has no error column, so they are left out of the
submission and listed with their error in a side file, ``<stem>.errors<suffix>``.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from amc.domain.errors import ConfigError
from amc.domain.metrics import KAGGLE_COLUMNS
from amc.domain.models import LABELS, Classification, LinkKind

OutputFormat = Literal["csv", "jsonl", "parquet", "kaggle"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet", "kaggle")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
#: CSV/parquet column -> link kind; values are joined with LINK_SEPARATOR
LINK_COLUMNS: dict[str, LinkKind] = {
    "instruments": "instrument", "programmes": "programme", "obsids": "obsid", "dois": "doi",
}  # fmt: skip
LINK_SEPARATOR = ";"


def infer_format(path: Path, requested: str | None) -> OutputFormat:
    """The format from ``--format`` or else from the file suffix."""
    if requested:
        if requested not in FORMATS:
            raise ConfigError(f"unknown output format {requested!r}; choose one of {FORMATS}")
        return requested  # type: ignore[return-value]
    try:
        return _SUFFIXES[path.suffix.lower()]  # type: ignore[return-value]
    except KeyError:
        raise ConfigError(
            f"cannot tell the output format of {path}: use a .csv, .jsonl or .parquet name "
            "or --format csv|jsonl|parquet|kaggle"
        ) from None


def flat_row(c: Classification) -> dict[str, Any]:
    """One flat record per pair: labels, confidences, provenance, evidence as JSON."""
    labels = c.labels.as_dict() if c.labels else {label.value: None for label in LABELS}
    row: dict[str, Any] = {"Id": c.pair_id, "bibcode": c.bibcode, "telescope": c.telescope}
    row.update(labels)
    row.update({f"confidence_{k}": v for k, v in c.confidence.model_dump().items()})
    row.update(
        {
            "tier": c.tier,
            "model": c.model or "",
            "prompt": c.prompt_name or "",
            "reason": c.reason,
            "evidence": json.dumps([e.model_dump(mode="json") for e in c.evidence]),
            "error_kind": c.error.kind if c.error else "",
            "error": c.error.message if c.error else "",
            "elapsed_s": c.elapsed_s,
            "cost_usd": c.usage.cost_usd,
            "source": c.source,
        }
    )
    row.update(link_columns(c))
    return row


def link_columns(c: Classification) -> dict[str, str]:
    """The four link columns of a flat row: values of each kind, ``;``-separated."""
    return {
        column: LINK_SEPARATOR.join(c.link_values(kind)) for column, kind in LINK_COLUMNS.items()
    }


def kaggle_row(c: Classification) -> dict[str, str]:
    labels = c.labels.as_dict() if c.labels else {label.value: False for label in LABELS}
    return {"Id": c.pair_id, "telescope": c.telescope, **{k: str(v) for k, v in labels.items()}}


class ResultWriter:
    """Context manager writing classifications to ``path`` in ``fmt``, atomically.

    Rows go to a temporary file in the same folder. Leaving the block normally renames
    it to ``path``. Leaving it with an exception discards it (``path`` untouched) unless
    ``keep_incomplete`` was called: then the rows so far go to ``path`` if it did not
    exist, else to ``<path>.partial``, and ``kept`` says where.
    """

    def __init__(
        self,
        path: Path,
        fmt: OutputFormat,
        parquet_batch: int = 1000,
        errors_file: bool = True,
        extra_columns: Sequence[tuple[str, pa.DataType]] = (),
    ) -> None:
        """``errors_file``: write the Kaggle side file of failed pairs (``failed`` lists
        them either way); ``extra_columns``: columns each ``write`` may add after the
        standard ones (not in Kaggle files)."""
        self.path = path
        self.fmt = fmt
        self.errors_file = errors_file
        self.count = 0
        #: Kaggle only: (pair id, telescope, error kind, message) of the failed pairs
        self.failed: list[tuple[str, str, str, str]] = []
        #: where an incomplete output was kept (``keep_incomplete``), once the block is left
        self.kept: Path | None = None
        self._keep = False
        self._temp = _temp_beside(path)
        self._file: IO[str] | None = None
        self._csv: csv.DictWriter[str] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._pending: list[dict[str, Any]] = []
        self._parquet_batch = parquet_batch
        #: columns each ``write`` may add after the standard ones (not in Kaggle files)
        self._schema = pa.schema([*_PARQUET_SCHEMA, *(pa.field(n, t) for n, t in extra_columns)])

    @property
    def errors_path(self) -> Path:
        """The Kaggle side file listing the failed pairs: ``sub.csv`` -> ``sub.errors.csv``."""
        return self.path.with_name(f"{self.path.stem}.errors{self.path.suffix}")

    def __enter__(self) -> ResultWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt in ("csv", "kaggle", "jsonl"):
            self._file = self._temp.open("w", encoding="utf-8", newline="")
        return self

    def write(self, c: Classification, extra: dict[str, Any] | None = None) -> None:
        """Write one pair; ``extra`` values go in the ``extra_columns`` (JSON: extra keys).
        A failed pair is no Kaggle row: it is listed in ``failed``."""
        if self.fmt == "kaggle" and not c.ok:
            error = c.error.kind if c.error else "error", c.error.message if c.error else ""
            self.failed.append((c.pair_id, c.telescope, *error))
            return
        self.count += 1
        if self.fmt == "jsonl":
            assert self._file is not None
            line = (
                c.model_dump_json()
                if not extra
                else json.dumps({**c.model_dump(mode="json"), **extra}, ensure_ascii=False)
            )
            self._file.write(line + "\n")
        elif self.fmt in ("csv", "kaggle"):
            self._write_csv(
                kaggle_row(c) if self.fmt == "kaggle" else {**flat_row(c), **(extra or {})}
            )
        else:
            self._pending.append({**flat_row(c), **(extra or {})})
            if len(self._pending) >= self._parquet_batch:
                self._flush_parquet()

    def keep_incomplete(self) -> None:
        """Keep what was written if the block ends with an exception (a stop, an interrupt)."""
        self._keep = True

    def _write_csv(self, row: dict[str, Any]) -> None:
        assert self._file is not None
        if self._csv is None:
            self._csv = csv.DictWriter(self._file, fieldnames=list(row))
            self._csv.writeheader()
        self._csv.writerow(row)

    def _flush_parquet(self) -> None:
        if not self._pending:
            return
        table = pa.Table.from_pylist(self._pending, schema=self._schema)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._temp, self._schema)
        self._parquet.write_table(table)
        self._pending = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._close()
        except Exception:
            if exc is None:
                raise
        if exc is not None and not self._keep:
            self._temp.unlink(missing_ok=True)
            return
        target = self.path if exc is None or not self.path.exists() else _partial(self.path)
        self._write_errors(partial=target != self.path, complete=exc is None)
        os.replace(self._temp, target)
        self.kept = target if exc is not None else None

    def _close(self) -> None:
        if self.fmt == "parquet":
            self._flush_parquet()
            if self._parquet is None:  # no rows: still leave a valid, empty file
                pq.write_table(self._schema.empty_table(), self._temp)
            else:
                self._parquet.close()
        elif self._file is not None:
            if self.count == 0 and self.fmt == "kaggle":
                self._file.write(",".join(KAGGLE_COLUMNS) + "\n")
            self._file.close()

    def _write_errors(self, partial: bool, complete: bool) -> None:
        """The Kaggle side file of failed pairs, named after the file the rows went to; after
        a complete run without failures, an old one is removed (it would mislead)."""
        target = _partial(self.errors_path) if partial else self.errors_path
        if not self.errors_file:
            return
        if not self.failed:
            if complete:
                self.errors_path.unlink(missing_ok=True)
            return
        temp = _temp_beside(target)
        with temp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Id", "telescope", "error_kind", "error"])
            writer.writerows(self.failed)
        os.replace(temp, target)


def _temp_beside(path: Path) -> Path:
    """A fresh hidden file name in the same folder (a rename there is atomic)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


_PARQUET_SCHEMA = pa.schema(
    [
        ("Id", pa.string()),
        ("bibcode", pa.string()),
        ("telescope", pa.string()),
        *[(label.value, pa.bool_()) for label in LABELS],
        *[(f"confidence_{label.value}", pa.float64()) for label in LABELS],
        ("tier", pa.string()),
        ("model", pa.string()),
        ("prompt", pa.string()),
        ("reason", pa.string()),
        ("evidence", pa.string()),
        ("error_kind", pa.string()),
        ("error", pa.string()),
        ("elapsed_s", pa.float64()),
        ("cost_usd", pa.float64()),
        ("source", pa.string()),
        *[(column, pa.string()) for column in LINK_COLUMNS],
    ]
)
