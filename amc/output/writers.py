"""Write classifications as they arrive: CSV, JSONL, parquet, or a Kaggle submission.

Writers stream (a row is on disk soon after it is classified), so an
interrupted run keeps what it finished. Failed pairs are written too, with
their error; in the Kaggle format, which has no error column, they are
written all-False and counted in the run summary.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from amc.domain.errors import ConfigError
from amc.domain.metrics import KAGGLE_COLUMNS
from amc.domain.models import LABELS, Classification

OutputFormat = Literal["csv", "jsonl", "parquet", "kaggle"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet", "kaggle")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


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
    return row


def kaggle_row(c: Classification) -> dict[str, str]:
    labels = c.labels.as_dict() if c.labels else {label.value: False for label in LABELS}
    return {"Id": c.pair_id, "telescope": c.telescope, **{k: str(v) for k, v in labels.items()}}


class ResultWriter:
    """Context manager writing classifications to ``path`` in ``fmt``."""

    def __init__(
        self,
        path: Path,
        fmt: OutputFormat,
        parquet_batch: int = 1000,
        extra_columns: Sequence[tuple[str, pa.DataType]] = (),
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.count = 0
        self._file: IO[str] | None = None
        self._csv: csv.DictWriter[str] | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._pending: list[dict[str, Any]] = []
        self._parquet_batch = parquet_batch
        #: columns each ``write`` may add after the standard ones (not in Kaggle files)
        self._schema = pa.schema([*_PARQUET_SCHEMA, *(pa.field(n, t) for n, t in extra_columns)])

    def __enter__(self) -> ResultWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt in ("csv", "kaggle", "jsonl"):
            self._file = self.path.open("w", encoding="utf-8", newline="")
        return self

    def write(self, c: Classification, extra: dict[str, Any] | None = None) -> None:
        """Write one pair; ``extra`` values go in the ``extra_columns`` (JSON: extra keys)."""
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
            self._parquet = pq.ParquetWriter(self.path, self._schema)
        self._parquet.write_table(table)
        self._pending = []

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.fmt == "parquet":
            self._flush_parquet()
            if self._parquet is None:  # no rows: still leave a valid, empty file
                pq.write_table(self._schema.empty_table(), self.path)
            else:
                self._parquet.close()
        elif self._file is not None:
            if self.count == 0 and self.fmt == "kaggle":
                self._file.write(",".join(KAGGLE_COLUMNS) + "\n")
            self._file.close()


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
    ]
)
