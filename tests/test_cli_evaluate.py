"""`amc eval run|score|submit`, `amc train`, `amc audit` end to end, and split discovery."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from amc.cli.main import app
from amc.domain.errors import InputError
from eval.splits import find_split_files
from eval.synthetic import flip_labels, make_labelled_pairs, write_jsonl

SAMPLE = Path(__file__).parent.parent / "amc" / "data" / "sample.jsonl"
runner = CliRunner()


def _ok(args: list[str], env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.mark.parametrize(
    "command", [["eval", "run"], ["eval", "score"], ["eval", "submit"], ["train"], ["audit"]]
)
def test_every_command_has_an_example(command: list[str]) -> None:
    assert "Example" in _ok([*command, "--help"])


def test_eval_run_scores_the_sample_and_writes_a_report(tmp_path: Path) -> None:
    output = _ok(["eval", "run", "--data", str(SAMPLE), "--out", str(tmp_path), "--limit", "30"])
    assert "cell macro-F1" in output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_rows"] == 30 and 0.0 <= report["sklearn_macro_f1"] <= 1.0
    assert report["meta"]["tier"] == "rules"
    for name in ("report.md", "report.html", "cell_f1.png", "confusion.png", "submission.csv"):
        assert (tmp_path / name).is_file()


def test_eval_score_and_submit_agree(tmp_path: Path) -> None:
    submission = tmp_path / "sub.csv"
    _ok(["eval", "submit", str(SAMPLE), "-o", str(submission)])
    table = pd.read_csv(submission)
    assert list(table.columns) == [
        "Id", "telescope", "science", "instrumentation", "mention", "not_telescope"
    ]  # fmt: skip
    assert len(table) == 57
    perfect = _ok(["eval", "score", str(submission), str(submission), "--out", str(tmp_path / "r")])
    assert "| 1.0000" in perfect and (tmp_path / "r" / "report.html").is_file()
    wrong = table.assign(science=~table["science"].astype(bool))
    wrong.to_csv(tmp_path / "wrong.csv", index=False)
    worse = _ok(["eval", "score", str(tmp_path / "wrong.csv"), str(submission)])
    assert worse != perfect


@pytest.mark.slow
def test_train_then_eval_with_the_trained_tier(tmp_path: Path) -> None:
    data = write_jsonl(make_labelled_pairs(200, seed=4), tmp_path / "train.jsonl")
    test = write_jsonl(make_labelled_pairs(60, seed=99), tmp_path / "test.jsonl")
    model = tmp_path / "model"
    trained = _ok(["train", "--data", str(data), "--model-path", str(model), "--folds", "3"])
    assert "cross-validated" in trained and (model / "manifest.json").is_file()
    out = tmp_path / "report"
    _ok(["eval", "run", "--data", str(test), "--tier", "trained", "--model-path", str(model),
         "--out", str(out)])  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["tier"] == "trained" and report["cell_macro_f1"] > 0.9


@pytest.mark.slow
def test_audit_exit_codes_for_cron(tmp_path: Path) -> None:
    planted = flip_labels(make_labelled_pairs(200, seed=8), 0.05, seed=8)
    labels = write_jsonl(planted.pairs, tmp_path / "labels.jsonl")
    env = {"AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    args = ["audit", "--labels", str(labels), "--out", str(tmp_path / "out"), "--fail-on-new"]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 1, first.output  # new suspects: the wrapper mails the report
    assert len(list((tmp_path / "out").glob("audit-*.html"))) == 1
    assert runner.invoke(app, args, env=env).exit_code == 0  # nothing new since
    missing = runner.invoke(app, ["audit", "--labels", str(tmp_path / "nope.jsonl")], env=env)
    assert missing.exit_code != 0 and isinstance(missing.exception, InputError)


def test_find_split_files_by_name_list_and_kind(tmp_path: Path) -> None:
    for name in ("HST_reference_test", "JWST_reference_test", "HST_reference_train"):
        path = tmp_path / "data" / f"{name}-00000-of-00001.parquet"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"PAR1")
    assert [p.name[:18] for p in find_split_files(tmp_path, "HST_reference_test")] == [
        "HST_reference_test"
    ]
    assert len(find_split_files(tmp_path, "test")) == 2
    assert len(find_split_files(tmp_path, "HST_reference_test,HST_reference_train")) == 2
    assert len(find_split_files(tmp_path, None)) == 2  # test by default
    assert len(find_split_files(tmp_path, None, default="train")) == 1
    with pytest.raises(InputError, match="splits found: HST_reference_test"):
        find_split_files(tmp_path, "CHANDRA_reference_test")


def test_submissions_carry_the_predicted_telescope(tmp_path: Path) -> None:
    """A paper that names no telescope gets one row per telescope amc finds in it, with
    that telescope in the Kaggle ``telescope`` column (the official score scores it)."""
    paper = tmp_path / "2024TEST..001A.txt"
    paper.write_text(
        "Dust in M82\n\nWe observed M82 with HST/WFC3 in F814W (GO 12345). Future JWST "
        "spectra will test this. We adopt a Hubble constant of 70 km/s/Mpc.\n",
        encoding="utf-8",
    )
    submission = tmp_path / "sub.csv"
    _ok(["eval", "submit", str(paper), "-o", str(submission)])
    table = pd.read_csv(submission)
    assert dict(zip(table["Id"], table["telescope"], strict=True)) == {
        "2024TEST..001A_HST": "HST", "2024TEST..001A_JWST": "JWST"
    }  # fmt: skip
    assert table.set_index("telescope").loc["HST", "science"]


def test_split_of_a_single_file_is_honoured_or_refused(tmp_path: Path) -> None:
    split_file = tmp_path / "HST_reference_test-00000-of-00001.parquet"
    split_file.write_bytes(b"PAR1")
    assert find_split_files(SAMPLE, None) == [SAMPLE]
    assert find_split_files(split_file, "test") == [split_file]
    assert find_split_files(split_file, "JWST_reference_test,HST_reference_test") == [split_file]
    with pytest.raises(InputError, match=r"--split nonsense .* 'sample'") as refused:
        find_split_files(SAMPLE, "nonsense")
    assert str(SAMPLE) in str(refused.value) and "drop --split" in str(refused.value)
    with pytest.raises(InputError, match="'HST_reference_test'"):
        find_split_files(split_file, "train")


def test_a_folder_without_split_files_is_used_whole_unless_a_split_is_named(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    (folder / "a.jsonl").write_text("{}\n")
    (folder / "b.csv").write_text("x\n")
    assert [p.name for p in find_split_files(folder, None)] == ["a.jsonl", "b.csv"]
    with pytest.raises(InputError, match=r"no files for split\(s\) test; splits found: a, b"):
        find_split_files(folder, "test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no labelled files"):
        find_split_files(tmp_path / "empty", None)


def test_eval_run_refuses_a_split_its_file_is_not(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "run", "--data", str(SAMPLE), "--split", "nonsense",
                                 "--out", str(tmp_path / "r")])  # fmt: skip
    assert result.exit_code != 0 and isinstance(result.exception, InputError)
    assert "drop --split" in str(result.exception) and not (tmp_path / "r").exists()
