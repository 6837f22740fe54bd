"""Reading link files for ``amc eval links``: gold links (``links.tsv`` shape) and amc's output.

GOLD is tab-separated with a header, one link per row: ``pair_id, telescope, kind,
value, evidence, certain`` (``kind`` one of instrument, programme, obsid, doi, or
``none`` for a pair checked and found to have no link). PRED is amc's output: JSON
Lines (the ``links`` of each record) or CSV (the ``instruments``, ``programmes``,
``obsids``, ``dois`` columns, ``;``-separated). Errors name the file and the line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amc.domain.errors import InputError
from amc.domain.models import DATA_LINK_KINDS, split_pair_id
from amc.output.writers import LINK_COLUMNS, LINK_SEPARATOR

GOLD_COLUMNS = ("pair_id", "telescope", "kind", "value", "evidence", "certain")
PDF_PREFIX = "pdf:"


class LinkFileError(InputError):
    """A gold or predicted link file cannot be read."""

    kind = "link_file"


@dataclass(frozen=True)
class GoldLink:
    pair_id: str
    kind: str
    value: str
    evidence: str
    certain: bool
    line: int


@dataclass
class PredictedPair:
    pair_id: str
    telescope: str
    source: str
    #: kind -> values
    links: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""


def read_gold(path: Path) -> tuple[list[str], list[GoldLink]]:
    """The covered pair ids (in file order) and the gold links of ``path``."""
    rows = _tsv_rows(path)
    pairs: dict[str, None] = {}
    links = []
    for line, row in rows:
        pair, kind, value = row["pair_id"].strip(), row["kind"].strip(), row["value"].strip()
        if not pair:
            raise LinkFileError(f"{path}, line {line}: empty pair_id")
        if kind not in (*DATA_LINK_KINDS, "none"):
            raise LinkFileError(
                f"{path}, line {line} ({pair}): kind {kind!r} is not one of "
                f"{', '.join((*DATA_LINK_KINDS, 'none'))}"
            )
        if kind != "none" and not value:
            raise LinkFileError(f"{path}, line {line} ({pair}): a {kind} link needs a value")
        pairs[pair] = None
        if kind != "none":
            certain = row["certain"].strip().lower() not in ("no", "n", "false", "0")
            links.append(GoldLink(pair, kind, value, row["evidence"], certain, line))
    return list(pairs), links


def _tsv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LinkFileError(f"cannot read gold file {path}: {exc}") from None
    reader = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in GOLD_COLUMNS if c not in header]
    if missing:
        raise LinkFileError(
            f"{path}: missing column(s) {', '.join(missing)}; a gold link file "
            f"is tab-separated with the header {' '.join(GOLD_COLUMNS)}"
        )
    out = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise LinkFileError(
                f"{path}, line {line}: {len(cells)} fields, the header has "
                f"{len(header)} (tabs inside a value?)"
            )
        out.append((line, dict(zip(header, cells, strict=True))))
    return out


def read_predictions(path: Path) -> list[PredictedPair]:
    """amc's output, JSON Lines or CSV, as pairs with their link values."""
    if path.suffix.lower() in (".jsonl", ".json"):
        return list(_jsonl_predictions(path))
    if path.suffix.lower() == ".csv":
        return list(_csv_predictions(path))
    raise LinkFileError(f"{path}: predictions must be amc output as .jsonl or .csv")


def _jsonl_predictions(path: Path) -> Iterable[PredictedPair]:
    with _open(path) as lines:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                pair = PredictedPair(
                    record["pair_id"], record.get("telescope", ""), record.get("source") or ""
                )
                for link in record.get("links") or []:
                    pair.links.setdefault(link["kind"], []).append(str(link["value"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise LinkFileError(f"{path}, line {n}: not an amc JSONL record ({exc})") from None
            pair.error = (record.get("error") or {}).get("kind", "")
            yield pair


def _csv_predictions(path: Path) -> Iterable[PredictedPair]:
    with _open(path) as lines:
        reader = csv.DictReader(lines)
        columns = set(reader.fieldnames or [])
        if "Id" not in columns or not columns & set(LINK_COLUMNS):
            raise LinkFileError(
                f"{path}: no Id and link columns ({', '.join(LINK_COLUMNS)}); "
                "write predictions with `amc classify ... -o out.csv` or .jsonl"
            )
        for row in reader:
            telescope = row.get("telescope") or _telescope_of(row["Id"])
            pair = PredictedPair(row["Id"], telescope, row.get("source") or "")
            for column, kind in LINK_COLUMNS.items():
                values = [v for v in (row.get(column) or "").split(LINK_SEPARATOR) if v.strip()]
                if values:
                    pair.links[kind] = values
            pair.error = row.get("error_kind") or ""
            yield pair


def _open(path: Path) -> Any:
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise LinkFileError(f"cannot read predictions {path}: {exc}") from None


def _telescope_of(pair_id: str) -> str:
    try:
        return split_pair_id(pair_id)[1]
    except ValueError:
        return ""
