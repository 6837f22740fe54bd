"""Links from the command line: in every output format, and scored by `amc eval links`."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pdfgen
import pytest
from link_papers import PAPERS
from typer.testing import CliRunner

from amc.cli.main import app

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PAPERS), encoding="utf-8")
    return path


EXPECTED = {
    "2024ApJ...1..1A_CHANDRA": {
        "instruments": "ACIS",
        "programmes": "",
        "obsids": "CHANDRA:4977;CHANDRA:6101;CHANDRA:10437",
        "dois": "10.25574/cdc.245",
    },
    "2024ApJ...1..1A_HST": {"instruments": "", "programmes": "", "obsids": "", "dois": ""},
    "2024AJ....2..2B_HST": {
        "instruments": "WFC3;STIS",
        "programmes": "HST:15000;HST:15001",
        "obsids": "",
        "dois": "",
    },
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_and_parquet_have_the_four_link_columns(
    papers: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"out{suffix}"
    _ok(["classify", str(papers), "-o", str(out), "--no-progress"])
    frame = pd.read_csv(out, dtype=str) if suffix == ".csv" else pd.read_parquet(out)
    frame = frame.fillna("")
    columns = ["instruments", "programmes", "obsids", "dois"]
    got = {row["Id"]: {c: row[c] for c in columns} for _, row in frame.iterrows()}
    assert got == EXPECTED


def test_jsonl_records_carry_each_link_with_its_evidence(papers: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    _ok(["classify", str(papers), "-o", str(out), "--no-progress"])
    records = {r["pair_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    links = records["2024AJ....2..2B_HST"]["links"]
    assert [(k["kind"], k["value"]) for k in links] == [
        ("instrument", "WFC3"),
        ("instrument", "STIS"),
        ("programme", "HST:15000"),
        ("programme", "HST:15001"),
        ("grant", "HST:16543"),
    ]
    body = PAPERS[2]["body"]
    for link in links:
        assert set(link) == {"kind", "value", "quote", "field", "start", "end", "verified",
                             "source"}  # fmt: skip
        assert link["verified"] and link["source"] == "rules"
        text = body if link["field"] == "body" else PAPERS[2]["acknowledgments"]
        assert text[link["start"] : link["end"]] == link["quote"]


def test_eval_links_scores_a_run_against_a_gold_file(papers: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    _ok(["classify", str(papers), "-o", str(out), "--no-progress"])
    gold = tmp_path / "gold.tsv"
    gold.write_text(
        "pair_id\ttelescope\tkind\tvalue\tevidence\tcertain\n"
        "2024ApJ...1..1A_CHANDRA\tCHANDRA\tobsid\tCHANDRA:4977\tObsIDs 4977\tyes\n"
        "2024ApJ...1..1A_CHANDRA\tCHANDRA\tobsid\tCHANDRA:6101\t6101\tyes\n"
        "2024ApJ...1..1A_CHANDRA\tCHANDRA\tobsid\tCHANDRA:10437\t10437\tyes\n"
        "2024ApJ...1..1A_CHANDRA\tCHANDRA\tinstrument\tACIS\tACIS-I\tyes\n"
        "2024AJ....2..2B_HST\tHST\tinstrument\tWFC3\tHST/WFC3\tyes\n"
        "2024AJ....2..2B_HST\tHST\tprogramme\tHST:15000\tGO-15000\tyes\n",
        encoding="utf-8",
    )
    report_dir = tmp_path / "report"
    output = _ok(["eval", "links", str(out), str(gold), "--out", str(report_dir)])
    # instrument: gold ACIS WFC3, predicted ACIS WFC3 STIS; programme: one extra (15001);
    # doi: one predicted, none in gold
    assert "| instrument | 2 | 3 | 2 | 0.667 | 1.000 | 0.800 |" in output
    assert "| programme | 1 | 2 | 1 | 0.500 | 1.000 | 0.667 |" in output
    assert "| obsid | 3 | 3 | 3 | 1.000 | 1.000 | 1.000 |" in output
    assert "| doi | 0 | 1 | 0 | 0.000 | 0.000 | 0.000 |" in output
    report = json.loads((report_dir / "links-report.json").read_text())
    assert report["macro_f1"] == pytest.approx((0.8 + 2 / 3 + 1.0 + 0.0) / 4)


def test_pdf_pairs_are_matched_by_file_name(tmp_path: Path) -> None:
    """A gold id pdf:NAME_TELESCOPE names the prediction for the file NAME.pdf."""
    spec = pdfgen.PaperSpec(
        sections=[("2. Observations", ["We observed the transit with HST/WFC3 (GO 14915). " * 3])]
    )
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "wasp_note.pdf").write_bytes(pdfgen.two_column_paper(spec))
    out = tmp_path / "pdf.csv"
    _ok(["classify", str(folder), "-t", "HST", "-o", str(out), "--no-progress"])
    gold = tmp_path / "gold.tsv"
    gold.write_text(
        "pair_id\ttelescope\tkind\tvalue\tevidence\tcertain\n"
        "pdf:wasp_note_HST\tHST\tinstrument\tWFC3\tHST/WFC3\tyes\n"
        "pdf:wasp_note_HST\tHST\tprogramme\tHST:14915\tGO 14915\tyes\n",
        encoding="utf-8",
    )
    output = _ok(["eval", "links", str(out), str(gold)])
    assert "macro-F1 over the kinds with gold or predicted links: 1.000" in output
    assert "not in the predictions" not in output


def test_eval_links_errors_are_one_line(tmp_path: Path) -> None:
    gold = tmp_path / "gold.tsv"
    gold.write_text("pair_id\tkind\n", encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text("", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "amc.cli", "eval", "links", str(pred), str(gold)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("amc: error:") and "gold.tsv" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_links_help_has_an_example() -> None:
    assert "Example" in _ok(["eval", "links", "--help"])


def test_csv_link_columns_are_semicolon_separated_strings(papers: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    _ok(["classify", str(papers), "-o", str(out), "--no-progress"])
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[-4:] == ["instruments", "programmes", "obsids", "dois"]
