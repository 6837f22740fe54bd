"""The evaluation report a person can look at: JSON, Markdown, HTML and PNG figures.

HTML is built from plain string templates; every value that came from the
data (pair ids, quotes, reasons) goes through ``html.escape`` because paper
text is untrusted input. Figures are drawn with matplotlib's non-interactive
backend so this works on a server with no display.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from amc.domain.metrics import LABEL_COLUMNS, METRIC_NAMES, ScoreReport, score_arrays
from eval.html import fmt, html_table, page
from eval.scoring import score_markdown

# --- evaluation report -----------------------------------------------------------------


def confusion_matrices(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, list[list[int]]]:
    """Per label, ``[[TN, FP], [FN, TP]]`` over all rows (rows = truth, columns = prediction)."""
    out = {}
    for j, label in enumerate(LABEL_COLUMNS):
        t, p = y_true[:, j].astype(bool), y_pred[:, j].astype(bool)
        out[label] = [[int(np.sum(~t & ~p)), int(np.sum(~t & p))],
                      [int(np.sum(t & ~p)), int(np.sum(t & p))]]  # fmt: skip
    return out


def write_eval_report(
    out_dir: Path | str,
    telescopes: Sequence[str],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    meta: dict[str, Any],
    predicted_telescopes: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Score and write ``report.json``, ``report.md``, ``report.html`` and two PNG figures
    (``predicted_telescopes``: a submission's telescope column, default the true ones)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    guessed = None if predicted_telescopes is None else np.asarray(predicted_telescopes, str)
    report = score_arrays(np.asarray(telescopes, dtype=str), y_true, y_pred, guessed)
    confusion = confusion_matrices(y_true, y_pred)
    files = {"f1_png": out / "cell_f1.png", "confusion_png": out / "confusion.png"}
    plot_cell_f1(report, files["f1_png"])
    plot_confusions(confusion, files["confusion_png"])
    files["json"] = out / "report.json"
    data = {"meta": meta, **report.to_dict(), "confusion": confusion}
    files["json"].write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    files["markdown"] = out / "report.md"
    files["markdown"].write_text(eval_markdown(report, meta), encoding="utf-8")
    files["html"] = out / "report.html"
    files["html"].write_text(eval_html(report, confusion, meta), encoding="utf-8")
    return files


def eval_markdown(report: ScoreReport, meta: dict[str, Any]) -> str:
    lines = ["# amc evaluation", ""]
    lines += [f"- **{k}**: {v}" for k, v in meta.items()]
    lines += ["", score_markdown(report), "", "![per-cell F1](cell_f1.png)", "",
              "![confusion matrices](confusion.png)", ""]  # fmt: skip
    return "\n".join(lines)


def eval_html(
    report: ScoreReport, confusion: dict[str, list[list[int]]], meta: dict[str, Any]
) -> str:
    headline: list[list[object]] = [
        [METRIC_NAMES["cell_macro_f1"], fmt(report.cell_macro_f1)],
        [METRIC_NAMES["official_macro_f1"], fmt(report.official_macro_f1)],
        [METRIC_NAMES["sklearn_macro_f1"], fmt(report.sklearn_macro_f1)],
        [METRIC_NAMES["micro_f1"], fmt(report.micro_f1)],
        ["rows scored", report.n_rows],
    ]
    scores = ["precision", "recall", "F1", "support", "predicted"]
    per_label = [[s.label, fmt(s.precision), fmt(s.recall), fmt(s.f1), s.support,
                  s.predicted_positives] for s in report.per_label]  # fmt: skip
    per_telescope = [[s.label, fmt(s.precision), fmt(s.recall), fmt(s.f1), s.support,
                      s.predicted_positives] for s in report.per_telescope]  # fmt: skip
    cells = [[c.telescope, c.label, fmt(c.precision), fmt(c.recall), fmt(c.f1), c.support,
              c.predicted_positives, "yes" if c.counted else "no"]
             for c in report.cells]  # fmt: skip
    conf = [[lab, m[0][0], m[0][1], m[1][0], m[1][1]] for lab, m in confusion.items()]
    body = [
        "<h1>amc evaluation</h1>",
        html_table(["", ""], [[k, v] for k, v in meta.items()]),
        html_table(["metric", "value"], headline),
        "<h2>Per label (pooled)</h2>",
        html_table(["label", *scores], per_label),
        "<h2>Predicted telescope column (official macro-F1)</h2>",
        html_table(["telescope", *scores], per_telescope),
        "<h2>Per cell (telescope × label)</h2>",
        html_table(["telescope", "label", *scores, "counted"], cells),
        '<img src="cell_f1.png" alt="per-cell F1">',
        "<h2>Confusion per label</h2>",
        html_table(["label", "TN", "FP", "FN", "TP"], conf),
        '<img src="confusion.png" alt="confusion matrices">',
    ]
    return page("amc evaluation", body)


def plot_cell_f1(report: ScoreReport, path: Path) -> None:
    """Grouped bars: F1 of each counted (telescope, label) cell, one colour per label."""
    plt = _pyplot()
    telescopes = sorted({c.telescope for c in report.cells if c.counted})  # NONE has no cell
    fig, ax = plt.subplots(figsize=(min(18.0, max(6.0, 1.5 * len(telescopes) + 2)), 4.6))
    width = 0.8 / len(LABEL_COLUMNS)
    for j, label in enumerate(LABEL_COLUMNS):
        cells = {c.telescope: c for c in report.cells if c.label == label}
        xs = [i + (j - 1.5) * width for i, t in enumerate(telescopes) if cells[t].counted]
        ys = [cells[t].f1 for t in telescopes if cells[t].counted]
        bars = ax.bar(xs, ys, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(telescopes)), telescopes)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("F1")
    ax.set_title(f"Per-cell F1 (cell macro-F1 {fmt(report.cell_macro_f1)}; cells with ≥1 positive)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(LABEL_COLUMNS), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusions(confusion: dict[str, list[list[int]]], path: Path) -> None:
    """One 2×2 confusion matrix per label, with counts written in the cells."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(confusion), figsize=(3.2 * len(confusion), 3.4))
    for ax, (label, matrix) in zip(np.atleast_1d(axes), confusion.items(), strict=True):
        values = np.array(matrix)
        ax.imshow(values, cmap="Blues")
        for (r, c), v in np.ndenumerate(values):
            colour = "white" if v > values.max() / 2 else "black"
            ax.text(c, r, str(v), ha="center", va="center", color=colour, fontsize=11)
        ax.set_xticks([0, 1], ["pred F", "pred T"])
        ax.set_yticks([0, 1], ["true F", "true T"])
        ax.set_title(label)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in cron
    import matplotlib.pyplot as plt

    return plt
