"""Tests for eval/scoring.py: every expected metric below is computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import f1_score

from amc.domain.metrics import KAGGLE_COLUMNS as SUBMISSION_COLUMNS
from amc.domain.metrics import LABEL_COLUMNS, METRIC_NAMES, score_labels
from amc.domain.models import TelescopeLabels
from eval.scoring import (
    SubmissionError,
    read_label_table,
    score,
    score_markdown,
    validate_submission,
)

DEV_SOLUTION = Path("/work/shared/data/dev-papers/solution.csv")

_LETTERS = {"s": "science", "i": "instrumentation", "m": "mention", "n": "not_telescope"}


def table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    """Rows of (Id, positive-label letters); the telescope is the Id's suffix."""
    records = []
    for pair, letters in rows:
        record: dict[str, object] = {"Id": pair, "telescope": pair.rsplit("_", 1)[1]}
        record.update({column: False for column in LABEL_COLUMNS})
        record.update({_LETTERS[letter]: True for letter in letters})
        records.append(record)
    return pd.DataFrame(records, columns=SUBMISSION_COLUMNS)


# Solution and submission of six pairs over HST, JWST and NONE.
SOLUTION = table(
    [("A_HST", "s"), ("B_HST", "m"), ("C_HST", "n"), ("A_JWST", "s"), ("B_JWST", "i"),
     ("C_NONE", "")]
)  # fmt: skip
SUBMISSION = table(
    [("A_HST", "s"), ("B_HST", "s"), ("C_HST", "n"), ("A_JWST", "s"), ("B_JWST", "s"),
     ("C_NONE", "m")]
)  # fmt: skip


def cell(report, telescope: str, label: str):
    return next(c for c in report.cells if (c.telescope, c.label) == (telescope, label))


def test_cell_macro_f1_by_hand() -> None:
    report = score(SOLUTION, SUBMISSION)
    # HST science: truth [1,0,0], pred [1,1,0] -> tp 1, P 1/2, R 1, F1 2/3
    hst_science = cell(report, "HST", "science")
    assert (hst_science.precision, hst_science.recall) == (0.5, 1.0)
    assert hst_science.f1 == pytest.approx(2 / 3)
    assert (hst_science.support, hst_science.predicted_positives, hst_science.n_rows) == (1, 2, 3)
    # HST mention: truth [0,1,0], pred none -> F1 0, counted (support 1)
    assert cell(report, "HST", "mention").f1 == 0.0
    assert cell(report, "HST", "mention").counted
    # HST not_telescope exact -> 1; JWST science [1,0] vs [1,1] -> 2/3; JWST instr missed -> 0
    assert cell(report, "HST", "not_telescope").f1 == 1.0
    assert cell(report, "JWST", "science").f1 == pytest.approx(2 / 3)
    assert cell(report, "JWST", "instrumentation").f1 == 0.0
    # Counted: those five cells; HST instr, JWST mention/not_telescope and all NONE are not.
    assert [(c.telescope, c.label) for c in report.cells if c.counted] == [
        ("HST", "science"), ("HST", "mention"), ("HST", "not_telescope"),
        ("JWST", "science"), ("JWST", "instrumentation"),
    ]  # fmt: skip
    assert len(report.cells) == 12
    # (2/3 + 0 + 1 + 2/3 + 0) / 5 = 7/15
    assert report.cell_macro_f1 == pytest.approx(7 / 15)
    assert report.n_rows == 6


def test_pooled_metrics_by_hand() -> None:
    report = score(SOLUTION, SUBMISSION)
    # pooled science: truth A_HST, A_JWST; pred also B_HST, B_JWST -> tp 2, pred 4 -> F1 2/3
    # instrumentation: B_JWST missed -> 0; mention: B_HST missed, C_NONE false positive -> 0
    # not_telescope: exact -> 1.   macro = (2/3 + 0 + 0 + 1) / 4 = 5/12
    per_label = {s.label: s for s in report.per_label}
    assert per_label["science"].f1 == pytest.approx(2 / 3)
    assert (per_label["mention"].support, per_label["mention"].predicted_positives) == (1, 1)
    assert report.sklearn_macro_f1 == pytest.approx(5 / 12)
    # micro: tp 2+0+0+1 = 3, predicted 4+0+1+1 = 6, true 2+1+1+1 = 5 -> 2*3 / 11
    assert report.micro_f1 == pytest.approx(6 / 11)
    truth = SOLUTION[LABEL_COLUMNS].to_numpy(int)
    guess = SUBMISSION[LABEL_COLUMNS].to_numpy(int)
    assert report.sklearn_macro_f1 == pytest.approx(f1_score(truth, guess, average="macro"))


def test_none_rows_never_count_in_cells_but_hurt_pooled_metrics() -> None:
    solution = table([("P_HST", "s"), ("Q_HST", "i"), ("R_HST", "m"), ("S_HST", "n"),
                      ("T_NONE", "")])  # fmt: skip
    perfect = score(solution, solution)
    assert (perfect.cell_macro_f1, perfect.sklearn_macro_f1, perfect.micro_f1) == (1, 1, 1)

    noisy = solution.copy()
    noisy.loc[4, "mention"] = True  # a false positive on the NONE row
    report = score(solution, noisy)
    # NONE cells have no positive in truth: excluded, so the 4 HST cells stay at 1.0
    assert report.cell_macro_f1 == 1.0
    none_mention = cell(report, "NONE", "mention")
    assert (none_mention.counted, none_mention.predicted_positives, none_mention.f1) == (
        False, 1, 0.0,
    )  # fmt: skip
    # pooled mention: tp 1, predicted 2, true 1 -> F1 2/3; macro (1 + 1 + 2/3 + 1) / 4 = 11/12
    assert report.sklearn_macro_f1 == pytest.approx(11 / 12)
    # micro: tp 4, predicted 5, true 4 -> 8/9
    assert report.micro_f1 == pytest.approx(8 / 9)


def test_cell_without_true_positives_is_excluded_even_with_false_positives() -> None:
    solution = table([("A_HST", "s"), ("B_HST", "m")])
    submission = table([("A_HST", "si"), ("B_HST", "m")])
    report = score(solution, submission)
    instrumentation = cell(report, "HST", "instrumentation")
    assert (instrumentation.support, instrumentation.predicted_positives) == (0, 1)
    assert (instrumentation.f1, instrumentation.counted) == (0.0, False)
    assert report.cell_macro_f1 == 1.0  # mean of HST science (1) and HST mention (1)
    assert report.n_counted_cells == 2


def test_perfect_submission_scores_one_everywhere() -> None:
    solution = table([("A_HST", "s"), ("B_HST", "i"), ("C_JWST", "m"), ("D_JWST", "n")])
    report = score(solution, solution.iloc[::-1])  # row order does not matter
    assert report.cell_macro_f1 == 1.0
    assert report.sklearn_macro_f1 == 1.0
    assert report.micro_f1 == 1.0
    assert all(c.f1 == 1.0 for c in report.cells if c.counted)
    assert all(s.f1 == 1.0 for s in report.per_label)


def test_report_names_each_metric() -> None:
    report = score(SOLUTION, SUBMISSION)
    markdown = score_markdown(report)
    assert "| cell macro-F1 (per telescope×label, cells with ≥1 positive) | 0.4667" in markdown
    assert "| official macro-F1 (Kaggle: telescope classes + 4 label columns) | 0.6667 |" in (
        markdown
    )  # (3 + 5/3) / 7: the Id's telescope predicted for every row
    assert "| sklearn macro-F1 (4 label columns pooled) | 0.4167 |" in markdown
    assert "| micro-F1 (4 label columns pooled) | 0.5455 |" in markdown
    assert "| HST | science | 0.5000 | 1.0000 | 0.6667 | 1 | 2 | 3 | yes |" in markdown
    data = json.loads(json.dumps(report.to_dict()))
    assert data["cell_macro_f1"] == pytest.approx(7 / 15)
    assert data["metric_names"] == METRIC_NAMES
    assert data["n_counted_cells"] == 5
    assert data["cells"][0]["telescope"] == "HST"


def test_score_labels_matches_score() -> None:
    gold = [TelescopeLabels.only(_LETTERS[x]) for x in "smnsi"] + [TelescopeLabels()]
    pred = [TelescopeLabels.only(_LETTERS[x]) for x in "ssnssm"]
    report = score_labels(gold, pred, ["HST", "HST", "HST", "JWST", "JWST", "NONE"])
    assert report.cell_macro_f1 == pytest.approx(7 / 15)
    assert report.sklearn_macro_f1 == pytest.approx(5 / 12)
    assert report == score(SOLUTION, SUBMISSION)


def test_score_labels_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="2 gold labels, 1 predictions and 2 telescopes"):
        score_labels([TelescopeLabels()] * 2, [TelescopeLabels()], ["HST", "JWST"])


# --- validation ---------------------------------------------------------------------------


def test_missing_ids_listed_up_to_five_with_count() -> None:
    solution = table([(f"P{i}_HST", "s") for i in range(8)])
    with pytest.raises(SubmissionError) as caught:
        validate_submission(solution.iloc[:1], solution)
    message = str(caught.value)
    assert "submission is missing 7 Id(s): 'P1_HST', 'P2_HST'" in message
    assert "'P5_HST' and 2 more" in message
    assert "P6_HST" not in message


def test_extra_ids_are_named() -> None:
    solution = table([("A_HST", "s")])
    submission = table([("A_HST", "s"), ("Z_JWST", "m")])
    with pytest.raises(SubmissionError, match="1 extra Id\\(s\\) not in the solution: 'Z_JWST'"):
        validate_submission(submission, solution)


def test_duplicate_ids_are_named_with_row() -> None:
    solution = table([("A_HST", "s"), ("B_HST", "m")])
    submission = table([("A_HST", "s"), ("B_HST", "m"), ("A_HST", "m")])
    with pytest.raises(SubmissionError) as caught:
        validate_submission(submission, solution)
    assert str(caught.value) == (
        "row 3: submission has 1 duplicate Id(s): 'A_HST'; each Id must appear once"
    )


def test_non_boolean_value_names_column_row_and_id() -> None:
    solution = table([("A_HST", "s"), ("B_HST", "m")])
    submission = solution.astype({"mention": object})
    submission.loc[1, "mention"] = "yes"
    with pytest.raises(SubmissionError) as caught:
        validate_submission(submission, solution)
    message = str(caught.value)
    assert message.startswith("row 2: submission column 'mention' has 'yes' for Id 'B_HST'")
    assert caught.value.row == 2


def test_wrong_columns_are_named() -> None:
    solution = table([("A_HST", "s")])
    submission = solution.rename(columns={"science": "sci"})
    with pytest.raises(SubmissionError) as caught:
        validate_submission(submission, solution)
    message = str(caught.value)
    assert "submission is missing column(s) ['science']" in message
    assert "unexpected column(s) ['sci']" in message


def test_official_macro_f1_scores_the_telescope_column_as_a_prediction() -> None:
    """The Kaggle page ranks by macro-F1 across the telescope column and the label columns.
    Before, a submission whose telescope differed from the solution's was rejected."""
    submission = SUBMISSION.copy()
    submission.loc[4, "telescope"] = "HST"  # B_JWST predicted as HST
    submission.loc[5, "telescope"] = "JWST"  # C_NONE predicted as JWST
    validate_submission(submission, SOLUTION)  # a prediction, not an error
    report = score(SOLUTION, submission)
    # true [HST HST HST JWST JWST NONE], predicted [HST HST HST JWST HST JWST]
    # HST: tp 3, predicted 4, true 3 -> 6/7; JWST: tp 1, predicted 2, true 2 -> 1/2;
    # NONE: tp 0, predicted 0, true 1 -> 0; label columns as before: 2/3, 0, 0, 1
    per_telescope = {s.label: s.f1 for s in report.per_telescope}
    assert per_telescope == pytest.approx({"HST": 6 / 7, "JWST": 1 / 2, "NONE": 0.0})
    assert report.official_macro_f1 == pytest.approx((6 / 7 + 1 / 2 + 0 + 2 / 3 + 0 + 0 + 1) / 7)
    # the cells and the pooled label metrics do not depend on the telescope column
    assert report.cell_macro_f1 == pytest.approx(7 / 15)
    assert report.sklearn_macro_f1 == pytest.approx(5 / 12)
    # with the Id's telescope predicted, every telescope class is right: (3 + 5/3) / 7
    assert score(SOLUTION, SUBMISSION).official_macro_f1 == pytest.approx((3 + 5 / 3) / 7)


def test_official_macro_f1_is_reported_and_named() -> None:
    submission = SUBMISSION.copy()
    submission.loc[5, "telescope"] = "JWST"
    markdown = score_markdown(score(SOLUTION, submission))
    assert "| official macro-F1 (Kaggle: telescope classes + 4 label columns) |" in markdown
    assert "| cell macro-F1 (per telescope×label, cells with ≥1 positive) | 0.4667" in markdown
    # NONE: tp 0, predicted 0, true 1 -> P 0, R 0, F1 0; JWST: tp 2, predicted 3 -> 0.8
    assert "| NONE | 0.0000 | 0.0000 | 0.0000 | 1 | 0 |" in markdown
    assert "| JWST | 0.6667 | 1.0000 | 0.8000 | 2 | 3 |" in markdown


def test_valid_submission_passes() -> None:
    validate_submission(SUBMISSION, SOLUTION)  # raises on any problem
    assert score(SOLUTION, SUBMISSION).n_rows == 6


# --- reading files ------------------------------------------------------------------------


def test_read_csv_parses_booleans_and_ids_with_underscores(tmp_path: Path) -> None:
    path = tmp_path / "sub.csv"
    path.write_text(
        "Id,telescope,science,instrumentation,mention,not_telescope\n"
        "DEV.2017_wasp107_ms_HST,HST,True,false,0,FALSE\n"
        "2020A&A...1_2B_NONE,NONE,0,0,0,0\n"
        "DEV.x_y_JWST,JWST,1,true,False,0\n"
    )
    frame = read_label_table(path)
    assert frame["science"].tolist() == [True, False, True]
    assert frame["instrumentation"].tolist() == [False, False, True]
    assert frame["science"].dtype == bool
    assert frame["telescope"].tolist() == ["HST", "NONE", "JWST"]


def test_read_rejects_a_solution_id_whose_suffix_is_not_the_telescope(tmp_path: Path) -> None:
    path = tmp_path / "sol.csv"
    path.write_text(
        "Id,telescope,science,instrumentation,mention,not_telescope\n"
        "DEV.2017_wasp107_ms_HST,ms_HST,True,False,False,False\n"
    )
    with pytest.raises(SubmissionError) as caught:
        read_label_table(path, role="solution")
    assert str(caught.value) == (
        f"{path}, row 1: solution Id 'DEV.2017_wasp107_ms_HST' ends in telescope 'HST' "
        "but its telescope column says 'ms_HST'"
    )
    # in a submission the telescope column is a prediction: read as it is
    assert read_label_table(path)["telescope"].tolist() == ["ms_HST"]


def test_read_non_boolean_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "sub.csv"
    path.write_text(
        "Id,telescope,science,instrumentation,mention,not_telescope\n"
        "A_HST,HST,True,False,False,False\n"
        "B_HST,HST,yes,False,False,False\n"
    )
    with pytest.raises(SubmissionError) as caught:
        read_label_table(path, role="solution")
    message = str(caught.value)
    assert message.startswith(f"{path}, row 2: solution column 'science' has 'yes'")
    assert (caught.value.path, caught.value.kind) == (str(path), "submission")


def test_read_parquet_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub.parquet"
    SUBMISSION.to_parquet(path)
    frame = read_label_table(path)
    assert frame[SUBMISSION_COLUMNS].equals(SUBMISSION)


def test_read_parquet_reports_missing_value(tmp_path: Path) -> None:
    path = tmp_path / "sub.parquet"
    frame = SUBMISSION.astype({"science": "boolean"})
    frame.loc[2, "science"] = pd.NA
    frame.to_parquet(path)
    with pytest.raises(SubmissionError, match="row 3: submission column 'science' has <NA>"):
        read_label_table(path)


def test_read_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="submission file not found"):
        read_label_table(tmp_path / "absent.csv")


@pytest.mark.skipif(not DEV_SOLUTION.is_file(), reason="dev solution.csv not available")
def test_read_dev_solution_keeps_confidence() -> None:
    solution = read_label_table(DEV_SOLUTION, role="solution")
    assert len(solution) == 17
    assert "confidence" in solution.columns
    assert set(solution["confidence"]) <= {"low", "high"}
    first = solution.iloc[0]
    assert first["Id"] == "DEV.slob2024_suspense_overview_sample631_HST"
    assert (first["telescope"], first["mention"], first["science"]) == ("HST", True, False)
    report = score(solution, solution.drop(columns="confidence"))
    assert report.cell_macro_f1 == 1.0
