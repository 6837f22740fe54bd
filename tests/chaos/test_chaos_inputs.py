"""Issue points 5 and 6: files with the same name are different papers, and duplicate
Ids in a table are reported (merged with a warning, or a bad row naming both rows).

Rules tier throughout (offline, no provider needed): these are about reading inputs.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from chaos_support import Amc, duplicates, no_traceback, paper_states, read_csv
from chaos_support import tail as tail_of

pytestmark = pytest.mark.timeout(180)

HUBBLE_A = "We observed M31 with the Hubble Space Telescope using ACS/WFC in F814W."
HUBBLE_B = (
    "We observed M33 with the Hubble Space Telescope using WFC3/UVIS. Future work will use "
    "the James Webb Space Telescope."
)


def _same_names(root: Path) -> Path:
    """a/paper.txt and b/paper.txt (different papers), empty.pdf and empty.txt."""
    import pymupdf

    folder = root / "papers"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    (folder / "a" / "paper.txt").write_text(HUBBLE_A, encoding="utf-8")
    (folder / "b" / "paper.txt").write_text(HUBBLE_B, encoding="utf-8")
    doc = pymupdf.open()
    doc.new_page()  # one blank page: a real PDF with no text
    doc.save(folder / "empty.pdf")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder


FILES = ("a/paper.txt", "b/paper.txt", "empty.pdf", "empty.txt")


def _sources(rows: list[dict[str, str]]) -> dict[str, set[str]]:
    """Pair ids by input file (matched on the end of the row's source)."""
    found: dict[str, set[str]] = {name: set() for name in FILES}
    for row in rows:
        source = row["source"].replace("\\", "/").split("#")[0]
        for name in FILES:
            if source.endswith("/" + name) or source == name:
                found[name].add(row["Id"])
    return found


def test_classify_gives_same_name_files_distinct_stable_ids(amc: Amc) -> None:
    """``amc classify DIR``: every file's pairs have ids of their own (today a/paper.txt and
    b/paper.txt both give paper_HST, empty.pdf and empty.txt both empty_?), the same
    ids on a second run."""
    folder = _same_names(amc.root)
    ids_of_runs = []
    for out in ("first.csv", "second.csv"):
        result = amc("classify", folder, "-o", out)
        assert no_traceback(result.stderr), tail_of(result.stderr)
        rows = read_csv(amc.root / out)
        ids = [r["Id"] for r in rows]
        assert duplicates(ids) == [], f"the same pair id for different files: {duplicates(ids)}"
        by_file = _sources(rows)
        assert all(by_file.values()), f"files without a row: {by_file}"
        ids_of_runs.append(sorted(ids))
    assert ids_of_runs[0] == ids_of_runs[1], "pair ids differ between two runs"


def test_run_keeps_every_same_name_file_as_its_own_paper(amc: Amc) -> None:
    """``amc run DIR`` keeps four papers (today two: one paper.txt and one empty.* are
    silently dropped); ids are unique and the same on a second, fresh store."""
    folder = _same_names(amc.root)
    result = amc("run", folder, "-o", "results.csv")
    assert no_traceback(result.stderr), tail_of(result.stderr)
    states = paper_states(amc.db)
    assert sum(states.values()) == len(FILES), f"papers in the store: {states}"
    rows = read_csv(amc.root / "results.csv")
    ids = [r["Id"] for r in rows]
    assert duplicates(ids) == []
    by_file = _sources(rows)
    assert all(by_file.values()), f"files without a row: {by_file}"
    again = amc("run", folder, "-o", "again.csv", AMC_DATABASE_URL=f"sqlite:///{amc.root}/b.db")
    assert again.returncode == result.returncode
    assert sorted(r["Id"] for r in read_csv(amc.root / "again.csv")) == sorted(ids)


# -- duplicate ids -----------------------------------------------------------------------

ROW = {
    "bibcode": "2024DUPE0001X",
    "telescope": "HST",
    "title": "A paper",
    "body": "We observed NGC 1 with the Hubble Space Telescope using WFC3.",
}


def _table(root: Path, fmt: str, second: dict[str, str]) -> Path:
    """Five data rows; rows 2 and 5 (1-based, header not counted) have the same Id."""
    others = [
        {**ROW, "bibcode": f"2024OTHER{i:03d}X", "body": f"We observed NGC {i} with HST."}
        for i in (1, 3, 4)
    ]
    rows = [others[0], ROW, others[1], others[2], second]
    if fmt == "jsonl":
        path = root / "table.jsonl"
        import json

        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path
    path = root / "table.csv"  # Kaggle style: Id = <bibcode>_<TELESCOPE>
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["Id", "title", "body"])
        writer.writeheader()
        for r in rows:
            writer.writerow(
                {"Id": f"{r['bibcode']}_{r['telescope']}", "title": r["title"], "body": r["body"]}
            )
    return path


DUPE_ID = "2024DUPE0001X_HST"


@pytest.mark.parametrize("command", ["classify", "run"])
@pytest.mark.parametrize("fmt", ["jsonl", "kaggle-csv"])
def test_identical_duplicate_rows_are_merged_with_a_warning(
    amc: Amc, command: str, fmt: str
) -> None:
    """The same row twice: one pair, a warning on stderr containing "duplicate", exit 0
    (today classify keeps both, run keeps one, both silently)."""
    data = _table(amc.root, fmt, dict(ROW))
    result = amc(command, data, "-o", "out.csv")
    assert result.returncode == 0, (result.returncode, tail_of(result.stderr))
    ids = [r["Id"] for r in read_csv(amc.root / "out.csv")]
    assert ids.count(DUPE_ID) == 1, f"{ids.count(DUPE_ID)} rows for the duplicated id"
    assert len(ids) == 4
    assert "duplicate" in result.stderr.lower(), tail_of(result.stderr)


def _names_rows(stderr: str, *rows: int) -> bool:
    lines = [line for line in stderr.splitlines() if "duplicate" in line.lower()]
    return any(all(re.search(rf"\b{n}\b", line) for n in rows) for line in lines)


@pytest.mark.parametrize("command", ["classify", "run"])
@pytest.mark.parametrize("fmt", ["jsonl", "kaggle-csv"])
def test_differing_duplicate_rows_are_a_bad_row_naming_both(
    amc: Amc, command: str, fmt: str
) -> None:
    """The same Id twice with different text: exit 2, one ``amc: error:`` line naming the
    duplicate and both rows (2 and 5); today classify keeps both and run silently
    drops one."""
    data = _table(amc.root, fmt, {**ROW, "body": "The Hubble Space Telescope is mentioned."})
    result = amc(command, data, "-o", "out.csv")
    assert result.returncode == 2, (result.returncode, tail_of(result.stderr))
    assert "amc: error:" in result.stderr and no_traceback(result.stderr)
    assert _names_rows(result.stderr, 2, 5), tail_of(result.stderr)


@pytest.mark.parametrize("command", ["classify", "run"])
def test_differing_duplicate_with_skip_bad_rows_is_an_error_row(amc: Amc, command: str) -> None:
    """With --skip-bad-rows the differing duplicate is recorded as an error row for its
    pair and the run exits 3 (some pairs failed)."""
    data = _table(amc.root, "jsonl", {**ROW, "body": "The Hubble Space Telescope is mentioned."})
    result = amc(command, data, "-o", "out.csv", "--skip-bad-rows")
    rows = read_csv(amc.root / "out.csv") if (amc.root / "out.csv").exists() else []
    errors = [r for r in rows if r["error_kind"]]
    assert errors, f"no error row for the duplicate: {[r['Id'] for r in rows]}"
    assert any(DUPE_ID in r["Id"] or "2024DUPE0001X" in r["bibcode"] for r in errors)
    assert result.returncode == 3, (result.returncode, tail_of(result.stderr))
