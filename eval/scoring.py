"""Score a Kaggle-shaped submission against a solution, the way TRACS results are reported.

A *label table* has one row per pair: ``Id`` (``<bibcode>_<TELESCOPE>``), ``telescope``
and the four boolean label columns. In a solution the ``telescope`` is the Id's; in a
submission it is a prediction (the Kaggle page scores it), so it may differ and is
scored, not rejected. The metrics themselves (cell macro-F1, the official Kaggle
macro-F1, sklearn macro-F1, micro-F1; tracs-task.md, "Scoring", explains why there are
several) are ``amc.domain.metrics``; this module reads and checks the tables and prints
the scores.

Row numbers in error messages count data rows from 1 (the header is not counted); the
message also quotes the row's ``Id``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from amc.domain.errors import InputError
from amc.domain.metrics import (
    KAGGLE_COLUMNS,
    LABEL_COLUMNS,
    METRIC_NAMES,
    CellScore,
    LabelScore,
    ScoreReport,
    parse_label_value,
    score_arrays,
)
from amc.domain.models import split_pair_id

_PREVIEW = 5


class SubmissionError(InputError):
    """A submission or solution table is unreadable or does not match the other."""

    kind = "submission"


def score_markdown(report: ScoreReport) -> str:
    """Three tables a person can read: headline metrics, per label, per cell."""
    cells = f"{report.n_counted_cells} of {len(report.cells)} cells counted"
    headline = [
        (METRIC_NAMES["cell_macro_f1"], f"{_fmt(report.cell_macro_f1)} ({cells})"),
        (METRIC_NAMES["official_macro_f1"], _fmt(report.official_macro_f1)),
        (METRIC_NAMES["sklearn_macro_f1"], _fmt(report.sklearn_macro_f1)),
        (METRIC_NAMES["micro_f1"], _fmt(report.micro_f1)),
        ("rows scored", str(report.n_rows)),
    ]
    per_label = [[s.label, *_score_columns(s)] for s in report.per_label]
    per_telescope = [[s.label, *_score_columns(s)] for s in report.per_telescope]
    per_cell = [
        [c.telescope, c.label, *_score_columns(c), c.n_rows, "yes" if c.counted else "no"]
        for c in report.cells
    ]
    scores = ["precision", "recall", "F1", "support (true)", "predicted positives"]
    return "\n".join(
        [
            _markdown_table(["metric", "value"], headline),
            "",
            "Per label, pooled across telescopes:",
            "",
            _markdown_table(["label", *scores], per_label),
            "",
            "Predicted telescope column, per class (enters the official macro-F1):",
            "",
            _markdown_table(["telescope", *scores], per_telescope),
            "",
            "Per cell (telescope × label); only counted cells enter cell macro-F1:",
            "",
            _markdown_table(["telescope", "label", *scores, "rows", "counted"], per_cell),
        ]
    )


def _score_columns(score: CellScore | LabelScore) -> list[object]:
    return [
        _fmt(score.precision),
        _fmt(score.recall),
        _fmt(score.f1),
        score.support,
        score.predicted_positives,
    ]


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


# --- reading and validating tables -----------------------------------------------------


def read_label_table(path: Path | str, *, role: str = "submission") -> pd.DataFrame:
    """Read a Kaggle-shaped label table (CSV, or parquet by suffix) and check it.

    Label columns may hold True/False, true/false or 1/0 and come back as ``bool``.
    Extra columns (a solution's ``confidence``) are kept. Raises ``SubmissionError``
    naming the file, row and column for a missing column, a non-boolean value, a
    duplicate ``Id``, or (in a solution, where it is the truth) an ``Id`` whose telescope
    suffix differs from ``telescope``.
    """
    path = Path(path)
    frame = _parse_label_table(_load_frame(path, role), role, str(path))
    if role == "solution":
        _check_id_suffixes(frame, role, str(path))
    return frame


def validate_submission(submission: pd.DataFrame, solution: pd.DataFrame) -> None:
    """Raise ``SubmissionError`` unless ``submission`` can be scored against ``solution``.

    Checks columns, boolean values and unique Ids of both tables, then that the
    submission has exactly the solution's Ids (its telescope column is a prediction and
    may differ from the solution's).
    """
    _validated(solution, submission)


def _load_frame(path: Path, role: str) -> pd.DataFrame:
    if not path.is_file():
        raise SubmissionError(f"{role} file not found", str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SubmissionError(f"cannot read {role} table: {exc}", str(path)) from exc


def _parse_label_table(frame: pd.DataFrame, role: str, path: str = "") -> pd.DataFrame:
    """Columns present, labels parsed to bool, Ids unique; returns a cleaned copy."""
    _check_columns(frame, role, path)
    if frame.empty:
        raise SubmissionError(f"{role} has no rows", path)
    table = frame.reset_index(drop=True).copy()
    table["Id"] = table["Id"].astype(str).str.strip()
    table["telescope"] = table["telescope"].astype(str).str.strip()
    for column in LABEL_COLUMNS:
        table[column] = _parse_bool_column(table, column, role, path)
    _check_unique_ids(table, role, path)
    return table


def _check_columns(frame: pd.DataFrame, role: str, path: str) -> None:
    missing = [column for column in KAGGLE_COLUMNS if column not in frame.columns]
    if not missing:
        return
    unexpected = [str(column) for column in frame.columns if column not in KAGGLE_COLUMNS]
    hint = f"; it has unexpected column(s) {unexpected}" if unexpected else ""
    raise SubmissionError(
        f"{role} is missing column(s) {missing}{hint}; expected {KAGGLE_COLUMNS}", path
    )


def _parse_bool_column(table: pd.DataFrame, column: str, role: str, path: str) -> pd.Series:
    if table[column].dtype == bool:  # not the nullable "boolean": its NA must be reported
        return table[column]
    parsed = [parse_label_value(value) for value in table[column]]
    for position, value in enumerate(parsed):
        if value is None:
            raw, pair = table[column].iloc[position], table["Id"].iloc[position]
            raise SubmissionError(
                f"{role} column {column!r} has {raw!r} for Id {pair!r}, which is not a "
                "boolean; use True/False, true/false or 1/0",
                path,
                row=position + 1,
            )
    return pd.Series(parsed, index=table.index, dtype=bool)


def _check_unique_ids(table: pd.DataFrame, role: str, path: str) -> None:
    repeated = table["Id"].duplicated(keep="first")
    if not repeated.any():
        return
    duplicates = list(dict.fromkeys(table.loc[repeated, "Id"]))
    first_row = int(np.flatnonzero(repeated.to_numpy())[0]) + 1
    raise SubmissionError(
        f"{role} has {len(duplicates)} duplicate Id(s): {_preview(duplicates)}; "
        "each Id must appear once",
        path,
        row=first_row,
    )


def _check_id_suffixes(table: pd.DataFrame, role: str, path: str) -> None:
    """Each Id must end in ``_<telescope>``; the telescope follows the LAST underscore."""
    for position, (pair, telescope) in enumerate(zip(table["Id"], table["telescope"], strict=True)):
        try:
            _, suffix = split_pair_id(pair)
        except ValueError as exc:
            raise SubmissionError(f"{role}: {exc}", path, row=position + 1) from exc
        if suffix != telescope:
            raise SubmissionError(
                f"{role} Id {pair!r} ends in telescope {suffix!r} but its telescope "
                f"column says {telescope!r}",
                path,
                row=position + 1,
            )


def _preview(items: Sequence[str]) -> str:
    shown = ", ".join(repr(item) for item in items[:_PREVIEW])
    rest = len(items) - _PREVIEW
    return f"{shown} and {rest} more" if rest > 0 else shown


def _validated(
    solution: pd.DataFrame, submission: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables parsed and checked; the submission reordered to the solution's Ids."""
    sol = _parse_label_table(solution, "solution")
    sub = _parse_label_table(submission, "submission")
    _check_same_ids(sub, sol)
    aligned = sub.set_index("Id").loc[sol["Id"]].reset_index()
    _check_id_suffixes(sol, "solution", "")
    return sol, aligned


def _check_same_ids(submission: pd.DataFrame, solution: pd.DataFrame) -> None:
    sub_ids = set(submission["Id"])
    sol_ids = set(solution["Id"])
    missing = [pair for pair in solution["Id"] if pair not in sub_ids]
    extra = [pair for pair in submission["Id"] if pair not in sol_ids]
    problems = []
    if missing:
        problems.append(f"submission is missing {len(missing)} Id(s): {_preview(missing)}")
    if extra:
        problems.append(
            f"submission has {len(extra)} extra Id(s) not in the solution: {_preview(extra)}"
        )
    if problems:
        raise SubmissionError(
            "; ".join(problems) + "; the submission needs exactly one row per solution Id"
        )


# --- scoring ---------------------------------------------------------------------------


def score(solution: pd.DataFrame, submission: pd.DataFrame) -> ScoreReport:
    """Validate ``submission`` against ``solution`` and compute every metric.

    Cells are grouped by the solution's ``telescope`` column; rows are matched by ``Id``;
    the submission's ``telescope`` column is scored as a prediction (official macro-F1).
    """
    sol, sub = _validated(solution, submission)
    return score_arrays(
        sol["telescope"].to_numpy(dtype=str),
        sol[LABEL_COLUMNS].to_numpy(dtype=bool),
        sub[LABEL_COLUMNS].to_numpy(dtype=bool),
        sub["telescope"].to_numpy(dtype=str),
    )
