"""The `amc` command line, run as a user runs it (a real subprocess) where it matters."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from clirun import amc, readme_setup_command
from typer.testing import CliRunner

from amc.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
runner = CliRunner()


def test_readme_main_command_runs_on_the_bundled_sample(tmp_path: Path) -> None:
    """The README's first command after its install part, verbatim, in an empty folder."""
    command = readme_setup_command("install")
    install, classify = command.split(" && amc ", 1)
    assert install == "python3 -m venv .venv && . .venv/bin/activate && pip install -e ."
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"amc {classify}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "results.csv").open(encoding="utf-8")))
    gold = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(gold) >= 40
    assert {r["Id"] for r in rows} == {f"{g['bibcode']}_{g['telescope']}" for g in gold}
    assert "cell macro-F1" in result.stderr and "sklearn macro-F1" in result.stderr
    assert re.search(r"pairs: \d+", result.stderr) and "errors: 0" in result.stderr


def test_kaggle_format_output(tmp_path: Path) -> None:
    out = tmp_path / "sub.csv"
    result = runner.invoke(app, ["classify", str(SAMPLE), "--format", "kaggle", "-o", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str)
    assert list(frame.columns) == [
        "Id",
        "telescope",
        "science",
        "instrumentation",
        "mention",
        "not_telescope",
    ]
    assert set(frame[["science", "mention"]].to_numpy().ravel()) <= {"True", "False"}
    assert frame["Id"].str.rsplit("_", n=1).str[1].tolist() == frame["telescope"].tolist()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_output_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    result = runner.invoke(app, ["classify", str(SAMPLE), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    if suffix == ".jsonl":
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert all(r["tier"] == "rules" and "confidence" in r for r in records)
        n = len(records)
    elif suffix == ".parquet":
        frame = pd.read_parquet(out)
        assert frame["science"].dtype == bool
        n = len(frame)
    else:
        frame = pd.read_csv(out)
        assert {"confidence_science", "evidence", "reason"} <= set(frame.columns)
        n = len(frame)
    assert n == sum(1 for _ in SAMPLE.open(encoding="utf-8"))


def test_text_file_without_telescope_lists_candidates_on_stdout(tmp_path: Path) -> None:
    paper = tmp_path / "mypaper.txt"
    paper.write_text(
        "We obtained new spectra with JWST/NIRSpec (GO 1234). The Hubble tension remains.",
        encoding="utf-8",
    )
    result = amc("classify", str(paper))
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.strip().splitlines()
    assert header == "pair_id\tlabels\tmin_confidence\treason"
    lines = dict(line.split("\t")[:2] for line in rows)
    assert lines == {"mypaper_HST": "not_telescope", "mypaper_JWST": "science"}


def test_unknown_telescope_is_a_one_line_error(tmp_path: Path) -> None:
    result = amc("classify", str(SAMPLE), "-t", "SPITZER")
    assert result.returncode == 2
    assert result.stderr.startswith("amc: error: unknown telescope 'SPITZER'")
    assert "HST" in result.stderr and "Traceback" not in result.stderr


def test_bad_row_stops_with_file_and_row_then_skip_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"bibcode": "A", "telescope": "HST", "body": "HST data", "science": "maybe"}\n'
        '{"bibcode": "B", "telescope": "HST", "body": "We observed with HST."}\n',
        encoding="utf-8",
    )
    stopped = amc("classify", str(path))
    assert stopped.returncode == 2
    assert "in.jsonl" in stopped.stderr and "row 1" in stopped.stderr
    assert "Traceback" not in stopped.stderr
    out = tmp_path / "out.csv"
    skipped = amc("classify", str(path), "--skip-bad-rows", "-o", str(out))
    assert skipped.returncode == 3, skipped.stderr  # the run finished; a pair has no verdict
    assert "errors: 1" in skipped.stderr and "A_HST" in skipped.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["error_kind"] for r in rows] == ["input", ""]


def test_non_utf8_text_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Caf\xe9 observations: we observed with HST/ACS.".encode("cp1252"))
    result = amc("classify", str(path), "-t", "HST")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("latin_HST\tscience")


def test_every_command_has_help_with_an_example() -> None:
    for command in (["--help"], ["classify", "--help"], ["telescopes", "--help"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0
        assert "Example" in result.output, command


def test_telescopes_lists_registry_and_user_additions(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "telescopes:\n  SPITZER:\n    name: Spitzer Space Telescope\n"
        "    aliases: [{term: Spitzer, case_sensitive: true}, IRAC]\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["telescopes", "--registry", str(extra), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"HST", "JWST", "CHANDRA", "SPITZER"} <= set(data)
    assert data["SPITZER"]["name"] == "Spitzer Space Telescope"


def test_new_telescope_from_env_registry_classifies_a_paper(tmp_path: Path) -> None:
    extra = tmp_path / "spitzer.yaml"
    extra.write_text(
        "telescopes:\n  SPITZER:\n    name: Spitzer\n"
        "    aliases: [{term: Spitzer, case_sensitive: true}]\n"
        "    instruments: [IRAC]\n",
        encoding="utf-8",
    )
    paper = tmp_path / "p.txt"
    paper.write_text("We observed the galaxy with Spitzer/IRAC at 3.6 micron.", encoding="utf-8")
    result = amc("classify", str(paper), env={"AMC_REGISTRY_FILES": str(extra)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("p_SPITZER\tscience")


def test_config_file_error_is_clear(tmp_path: Path) -> None:
    config = tmp_path / "amc.toml"
    config.write_text("[amc]\nwindow = 3\n", encoding="utf-8")
    result = amc("classify", str(SAMPLE), "--config", str(config))
    assert result.returncode == 2
    assert "unknown setting(s) window" in result.stderr


def test_stdout_has_a_header_and_its_confidence_is_the_weakest_label_call(
    tmp_path: Path,
) -> None:
    printed = runner.invoke(app, ["classify", str(SAMPLE), "--no-progress"])
    assert printed.exit_code == 0, printed.output
    header, *lines = printed.stdout.splitlines()
    assert header.split("\t") == ["pair_id", "labels", "min_confidence", "reason"]
    assert (
        runner.invoke(app, ["classify", str(SAMPLE), "-o", str(tmp_path / "o.csv")]).exit_code == 0
    )
    rows = {r["Id"]: r for r in csv.DictReader((tmp_path / "o.csv").open(encoding="utf-8"))}
    assert len(lines) == len(rows) == 57
    labels = ("science", "instrumentation", "mention", "not_telescope")
    for line in lines:
        pair_id, positives, confidence, _ = line.split("\t")
        row = rows[pair_id]
        calls = [float(row[f"confidence_{lab}"]) for lab in labels]
        decided = [c if row[lab] == "True" else 1 - c for lab, c in zip(labels, calls, strict=True)]
        assert positives == ("+".join(lab for lab in labels if row[lab] == "True") or "none")
        assert float(confidence) == pytest.approx(min(decided), abs=0.005)
