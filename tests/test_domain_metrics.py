"""The TRACS metrics over label matrices (``amc.domain.metrics``), shared by amc and eval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from amc.domain.metrics import (
    binary_scores,
    label_matrix,
    label_names,
    labels_of_row,
    parse_label_value,
    score_arrays,
    score_labels,
)
from amc.domain.models import TelescopeLabels


@pytest.mark.parametrize("seed", range(5))
def test_macro_and_micro_f1_equal_scikit_learns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.random((60, 4)) < 0.3
    y_pred = rng.random((60, 4)) < 0.3
    y_true[:, 1] = False  # a column with no positive at all (zero_division=0)
    report = score_arrays(np.array(["HST"] * 30 + ["JWST"] * 30), y_true, y_pred)
    expected_macro = f1_score(y_true.astype(int), y_pred.astype(int), average="macro",
                              zero_division=0)  # fmt: skip
    expected_micro = f1_score(y_true.astype(int), y_pred.astype(int), average="micro",
                              zero_division=0)  # fmt: skip
    assert report.sklearn_macro_f1 == pytest.approx(expected_macro)
    assert report.micro_f1 == pytest.approx(expected_micro)


def test_cell_macro_f1_counts_only_cells_with_a_positive() -> None:
    telescopes = np.array(["HST", "HST", "NONE", "NONE"])
    y_true = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    y_pred = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool)
    report = score_arrays(telescopes, y_true, y_pred)
    counted = [(c.telescope, c.label) for c in report.cells if c.counted]
    assert counted == [("HST", "science"), ("HST", "mention")]
    assert report.cell_macro_f1 == pytest.approx((2 / 3 + 0.0) / 2)  # science 2/3, mention 0


def test_no_counted_cell_is_not_a_number_and_shows_as_n_a() -> None:
    report = score_arrays(np.array(["NONE"]), np.zeros((1, 4), bool), np.zeros((1, 4), bool))
    assert math.isnan(report.cell_macro_f1) and report.to_dict()["cell_macro_f1"] is None
    assert report.headline().startswith("cell macro-F1 n/a (per telescope×label")


def test_headline_names_each_metric() -> None:
    gold = [TelescopeLabels(science=True), TelescopeLabels(mention=True)]
    report = score_labels(gold, [TelescopeLabels(science=True), None], ["HST", "HST"])
    assert report.headline() == (
        "cell macro-F1 0.500 (per telescope×label, cells with ≥1 positive), "
        "official macro-F1 0.400 (Kaggle: telescope classes + 4 label columns), "
        "sklearn macro-F1 0.250 (4 label columns pooled), micro-F1 0.667"
    )  # official: (HST 1 + science 1 + instrumentation 0 + mention 0 + not_telescope 0) / 5


def test_binary_scores_define_zero_divisions_as_zero() -> None:
    none = np.zeros(3, bool)
    assert binary_scores(none, none) == (0.0, 0.0, 0.0, 0, 0)
    assert binary_scores(np.array([1, 1, 0], bool), np.array([1, 0, 1], bool)) == (
        0.5, 0.5, 0.5, 2, 2,
    )  # fmt: skip


def test_label_matrix_and_back() -> None:
    labels = [TelescopeLabels(science=True, instrumentation=True), None, TelescopeLabels()]
    matrix = label_matrix(labels)
    assert matrix.tolist() == [[True, True, False, False], [False] * 4, [False] * 4]
    assert labels_of_row(matrix[0]) == labels[0]
    assert label_names(matrix[0]) == "science+instrumentation" == label_names(labels[0])
    assert label_names(matrix[1]) == "none"
    assert label_matrix([]).shape == (0, 4)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("True", True), (" false ", False), ("1", True), ("0.0", False), (1, True), (0.0, False),
     (np.bool_(True), True), ("yes", None), (2, None), (float("nan"), None), ([1], None)],
)  # fmt: skip
def test_parse_label_value(value: object, expected: bool | None) -> None:
    assert parse_label_value(value) is expected
