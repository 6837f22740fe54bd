"""The same pair twice in the inputs (``amc.ingest.duplicates`` through ``read_pairs``):
identical rows are kept once with a warning; differing rows are a bad row naming both,
or, with --skip-bad-rows, an error row with an id of its own."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from amc.domain.models import Classification, Pair
from amc.ingest.duplicates import DuplicateRowError
from amc.ingest.pairs import read_pairs
from amc.registry import load_registry
from amc.settings import load_settings

REGISTRY = load_registry()
ROW = {"bibcode": "2024D", "telescope": "HST", "body": "We observed it with HST."}


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def pairs(paths: list[Path], **flags: object) -> list[Pair | Classification]:
    return list(read_pairs(paths, REGISTRY, load_settings(environ={}, **flags)))


def test_identical_rows_are_kept_once_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = {**ROW, "bibcode": "2024E"}
    data = write(tmp_path / "in.jsonl", [ROW, other, ROW, {**ROW, "telescope": "JWST"}])
    with caplog.at_level(logging.WARNING):
        got = pairs([data])
    assert [p.pair_id for p in got] == ["2024D_HST", "2024E_HST", "2024D_JWST"]
    assert "row 3: duplicate of row 1 (2024D_HST), identical" in caplog.text


def test_differing_rows_stop_the_run_naming_both_rows_and_what_differs(tmp_path: Path) -> None:
    data = write(tmp_path / "in.jsonl", [ROW, {**ROW, "body": "HST is mentioned.", "year": 2020}])
    with pytest.raises(DuplicateRowError) as stop:
        pairs([data])
    message = str(stop.value)
    assert "in.jsonl, row 2: duplicate of row 1" in message and "2024D_HST" in message
    assert "body, year" in message and "--skip-bad-rows" in message


def test_across_files_the_other_file_is_named(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", [ROW])
    second = write(tmp_path / "b.jsonl", [{**ROW, "science": True, "instrumentation": False,
                                           "mention": False, "not_telescope": False}])  # fmt: skip
    with pytest.raises(DuplicateRowError, match=r"b\.jsonl, row 1: duplicate of .*a\.jsonl, row 1"):
        pairs([first, second])


def test_with_skip_bad_rows_the_later_row_is_an_error_row_of_its_own(tmp_path: Path) -> None:
    data = write(tmp_path / "in.jsonl", [ROW, {**ROW, "body": "HST is mentioned."}])
    first, second = pairs([data], skip_bad_rows=True)
    assert isinstance(first, Pair) and first.pair_id == "2024D_HST"
    assert isinstance(second, Classification) and second.pair_id == "2024D_HST#row=2"
    assert second.error is not None and second.error.kind == "duplicate"
    assert second.bibcode == "2024D" and second.labels is None
