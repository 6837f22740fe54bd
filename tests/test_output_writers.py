"""Result files (``amc.output.writers``): written beside the output and renamed into place,
so a failed run never truncates an existing file; an incomplete result never replaces
one; failed pairs never appear as Kaggle verdicts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from amc.domain.models import Classification, TelescopeLabels
from amc.output.writers import ResultWriter

OLD = (
    b"Id,telescope,science,instrumentation,mention,not_telescope\n"
    b"X_HST,HST,True,False,False,False\n"
)


def verdict(bibcode: str) -> Classification:
    return Classification(pair_id=f"{bibcode}_HST", bibcode=bibcode, telescope="HST",
                          labels=TelescopeLabels.only("science"))  # fmt: skip


def failure(bibcode: str) -> Classification:
    return Classification.failed(f"{bibcode}_HST", bibcode, "HST", ValueError("the model said no"))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "kaggle"])
def test_an_error_leaves_an_existing_file_untouched_and_no_temp_file(
    tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"keep.{fmt}"
    out.write_bytes(OLD)
    with pytest.raises(RuntimeError), ResultWriter(out, fmt) as writer:  # type: ignore[arg-type]
        writer.write(verdict("A"))
        raise RuntimeError("the input broke")
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_a_complete_run_replaces_the_file(tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_bytes(OLD)
    with ResultWriter(out, "csv") as writer:
        assert out.read_bytes() == OLD  # nothing changes before the end
        writer.write(verdict("A"))
    assert [r["Id"] for r in csv.DictReader(out.open())] == ["A_HST"]
    assert leftovers(tmp_path) == []


def test_an_incomplete_run_goes_beside_an_existing_file_or_in_place_of_a_missing_one(
    tmp_path: Path,
) -> None:
    existing, fresh = tmp_path / "keep.csv", tmp_path / "fresh.csv"
    existing.write_bytes(OLD)
    for out in (existing, fresh):
        writer = ResultWriter(out, "csv")
        with pytest.raises(KeyboardInterrupt), writer:
            writer.write(verdict("A"))
            writer.keep_incomplete()
            raise KeyboardInterrupt
        assert writer.kept == (tmp_path / "keep.csv.partial" if out == existing else fresh)
    assert existing.read_bytes() == OLD
    assert [r["Id"] for r in csv.DictReader((tmp_path / "keep.csv.partial").open())] == ["A_HST"]
    assert [r["Id"] for r in csv.DictReader(fresh.open())] == ["A_HST"]


def test_kaggle_leaves_failed_pairs_out_and_lists_them_in_a_side_file(tmp_path: Path) -> None:
    out = tmp_path / "sub.csv"
    with ResultWriter(out, "kaggle") as writer:
        for c in (verdict("A"), failure("B"), verdict("C")):
            writer.write(c)
    assert [r["Id"] for r in csv.DictReader(out.open())] == ["A_HST", "C_HST"]
    assert writer.count == 2 and writer.errors_path == tmp_path / "sub.errors.csv"
    [row] = list(csv.DictReader(writer.errors_path.open()))
    assert (row["Id"], row["error_kind"], row["error"]) == ("B_HST", "ValueError",
                                                            "the model said no")  # fmt: skip
    with ResultWriter(out, "kaggle") as again:  # a clean run: the old side file would mislead
        again.write(verdict("A"))
    assert not writer.errors_path.exists()
