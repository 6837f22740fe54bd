"""The TRACS metrics, as plain functions over label matrices (shared by amc and ``eval``).

A *label matrix* is a bool array ``(n, 4)`` with the columns in ``LABEL_COLUMNS``
order (science, instrumentation, mention, not_telescope), one row per pair;
``telescopes`` is the aligned ``(n,)`` array of telescope keys. Three metrics
are reported, each under a fixed name (tracs-task.md, "Scoring", explains why
there are several):

- ``cell_macro_f1``: for every (telescope, label) cell, binary F1 over that
  telescope's rows; the mean over the cells whose ground truth has at least one
  positive. All-false ``NONE`` rows therefore never form a counted cell. This is
  the amc authors' reference metric.
- ``official_macro_f1``: what the Kaggle competition ranks by, macro-F1 across the
  ``telescope`` column and the label columns. The submission's ``telescope`` is a
  prediction: each telescope class of the solution (the Id's classes) gets its
  one-vs-rest F1 (predicted telescope == class against true telescope == class, over
  all rows), each label column its pooled F1 (as in ``sklearn_macro_f1``), and the
  metric is the plain mean of these k + 4 numbers. A predicted telescope outside
  the solution's classes is a miss for the true class and no class of its own.
- ``sklearn_macro_f1``: scikit-learn's ``f1_score(Y, Y_hat, average="macro",
  zero_division=0)`` over all rows at once (computed here with numpy, tested
  equal to scikit-learn's).
- ``micro_f1``: the same with ``average="micro"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from amc.domain.models import LABELS, TelescopeLabels

LABEL_COLUMNS: list[str] = [label.value for label in LABELS]
#: the columns of a Kaggle submission (and of a solution, which may add more)
KAGGLE_COLUMNS: list[str] = ["Id", "telescope", *LABEL_COLUMNS]

#: each metric's short name and what it averages over
METRIC_PARTS: dict[str, tuple[str, str]] = {
    "cell_macro_f1": ("cell macro-F1", "per telescope×label, cells with ≥1 positive"),
    "official_macro_f1": ("official macro-F1", "Kaggle: telescope classes + 4 label columns"),
    "sklearn_macro_f1": ("sklearn macro-F1", "4 label columns pooled"),
    "micro_f1": ("micro-F1", "4 label columns pooled"),
}
#: each metric's full name, as tables and reports show it
METRIC_NAMES: dict[str, str] = {k: f"{name} ({over})" for k, (name, over) in METRIC_PARTS.items()}


#: spellings a label cell may use in an input or a submission
LABEL_WORDS: dict[str, bool] = {
    "true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False,
}  # fmt: skip


def parse_label_value(value: object) -> bool | None:
    """A label cell as a bool (True/False, true/false, 1/0, numpy bools), or None when it
    is none of the accepted spellings."""
    if isinstance(value, str):
        return LABEL_WORDS.get(value.strip().lower())
    try:
        if value in (0, 1):  # bool, int, float and numpy scalars alike
            return bool(value)
    except (TypeError, ValueError):
        pass
    return None


# --- label matrices --------------------------------------------------------------------


def label_matrix(labels: Sequence[TelescopeLabels | None]) -> np.ndarray:
    """Bool matrix ``(n, 4)`` of labels; a missing one (a failed pair) is all-false."""
    rows = [[bool(one is not None and getattr(one, c)) for c in LABEL_COLUMNS] for one in labels]
    return np.array(rows, dtype=bool).reshape(len(rows), len(LABEL_COLUMNS))


def labels_of_row(row: Sequence[bool] | np.ndarray) -> TelescopeLabels:
    """The labels of one matrix row (precedence applied)."""
    return TelescopeLabels(**{c: bool(v) for c, v in zip(LABEL_COLUMNS, row, strict=True)})


def label_names(labels: TelescopeLabels | Sequence[bool] | np.ndarray) -> str:
    """``science+instrumentation``, ``mention``, ... or ``none`` for all-false."""
    if not isinstance(labels, TelescopeLabels):
        on = [c for c, v in zip(LABEL_COLUMNS, labels, strict=True) if v]
        return "+".join(on) or "none"
    return "+".join(label.value for label in labels.positives) or "none"


# --- scores ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CellScore:
    """Binary scores of one label over one telescope's rows."""

    telescope: str
    label: str
    precision: float
    recall: float
    f1: float
    #: positives in the ground truth
    support: int
    #: positives in the prediction
    predicted_positives: int
    n_rows: int
    #: included in ``cell_macro_f1`` (support >= 1)
    counted: bool


@dataclass(frozen=True)
class LabelScore:
    """Binary scores of one label column pooled across all telescopes."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted_positives: int


@dataclass(frozen=True)
class ScoreReport:
    """Every metric of one scoring run, with the per-cell and per-label detail."""

    cell_macro_f1: float
    official_macro_f1: float
    sklearn_macro_f1: float
    micro_f1: float
    cells: list[CellScore]
    per_label: list[LabelScore]
    n_rows: int
    #: one-vs-rest scores of the predicted telescope, one per class of the truth
    per_telescope: list[LabelScore]

    @property
    def n_counted_cells(self) -> int:
        return sum(cell.counted for cell in self.cells)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; a metric with no defined value (no counted cell) is None."""
        return {
            "cell_macro_f1": None if math.isnan(self.cell_macro_f1) else self.cell_macro_f1,
            "official_macro_f1": self.official_macro_f1,
            "sklearn_macro_f1": self.sklearn_macro_f1,
            "micro_f1": self.micro_f1,
            "metric_names": dict(METRIC_NAMES),
            "n_rows": self.n_rows,
            "n_counted_cells": self.n_counted_cells,
            "per_label": [asdict(score) for score in self.per_label],
            "per_telescope": [asdict(score) for score in self.per_telescope],
            "cells": [asdict(cell) for cell in self.cells],
        }

    def headline(self, digits: int = 3, sep: str = ", ") -> str:
        """One line with every metric: ``cell macro-F1 0.806 (per telescope×label, cells
        with ≥1 positive), official macro-F1 0.902 (Kaggle: ...), sklearn macro-F1 0.845
        (4 label columns pooled), micro-F1 0.861``."""
        parts = []
        for key, (name, over) in METRIC_PARTS.items():
            value = float(getattr(self, key))
            shown = "n/a" if math.isnan(value) else f"{value:.{digits}f}"
            parts.append(f"{name} {shown}" + ("" if key == "micro_f1" else f" ({over})"))
        return sep.join(parts)


def binary_scores(truth: np.ndarray, guess: np.ndarray) -> tuple[float, float, float, int, int]:
    """Precision, recall, F1 (0 where undefined, like ``zero_division=0``), support and
    predicted positives of one bool column."""
    truth, guess = np.asarray(truth, dtype=bool), np.asarray(guess, dtype=bool)
    true_pos = int(np.sum(truth & guess))
    support, predicted = int(truth.sum()), int(guess.sum())
    precision = true_pos / predicted if predicted else 0.0
    recall = true_pos / support if support else 0.0
    f1 = 2 * true_pos / (support + predicted) if support + predicted else 0.0
    return precision, recall, f1, support, predicted


def binary_f1(truth: np.ndarray, guess: np.ndarray) -> float:
    """F1 of one bool column (0 when there is neither a true nor a predicted positive)."""
    return binary_scores(truth, guess)[2]


def score_arrays(
    telescopes: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    predicted_telescopes: np.ndarray | None = None,
) -> ScoreReport:
    """Every metric from aligned arrays: ``telescopes`` (n,) the true telescope of each
    row, ``y_true``/``y_pred`` (n, 4), ``predicted_telescopes`` (n,) the telescope column of
    a submission (default: the true ones, as when a pair's telescope is given)."""
    telescopes = np.asarray(telescopes, dtype=str)
    guessed = telescopes if predicted_telescopes is None else np.asarray(predicted_telescopes, str)
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    cells = _cell_scores(telescopes, y_true, y_pred)
    counted = [cell.f1 for cell in cells if cell.counted]
    per_label = [
        LabelScore(column, *binary_scores(y_true[:, j], y_pred[:, j]))
        for j, column in enumerate(LABEL_COLUMNS)
    ]
    per_telescope = [
        LabelScore(key, *binary_scores(telescopes == key, guessed == key))
        for key in sorted(set(telescopes.tolist()))
    ]
    official = [s.f1 for s in per_telescope] + [s.f1 for s in per_label]
    return ScoreReport(
        cell_macro_f1=float(np.mean(counted)) if counted else math.nan,
        official_macro_f1=float(np.mean(official)),
        sklearn_macro_f1=float(np.mean([s.f1 for s in per_label])),
        micro_f1=binary_f1(y_true.ravel(), y_pred.ravel()),
        cells=cells,
        per_label=per_label,
        n_rows=len(telescopes),
        per_telescope=per_telescope,
    )


def score_labels(
    gold: Sequence[TelescopeLabels],
    pred: Sequence[TelescopeLabels | None],
    telescopes: Sequence[str],
    predicted_telescopes: Sequence[str] | None = None,
) -> ScoreReport:
    """Score predicted labels against gold labels given pair by pair (a missing prediction,
    a failed pair, counts as all-false)."""
    if not len(gold) == len(pred) == len(telescopes):
        raise ValueError(
            f"cannot score: {len(gold)} gold labels, {len(pred)} predictions and "
            f"{len(telescopes)} telescopes; each pair needs one of each"
        )
    guessed = None if predicted_telescopes is None else np.asarray(predicted_telescopes, str)
    return score_arrays(
        np.asarray(telescopes, dtype=str), label_matrix(gold), label_matrix(pred), guessed
    )


def _cell_scores(telescopes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> list[CellScore]:
    cells = []
    for telescope in sorted(set(telescopes.tolist())):
        rows = telescopes == telescope
        for j, column in enumerate(LABEL_COLUMNS):
            scores = binary_scores(y_true[rows, j], y_pred[rows, j])
            counted = scores[3] >= 1  # the ground truth has a positive in this cell
            cells.append(CellScore(telescope, column, *scores, int(rows.sum()), counted))
    return cells
