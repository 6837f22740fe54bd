"""Reports a person can look at: evaluation (JSON, Markdown, HTML, PNG) and the label audit
(CSV, HTML).

HTML is built from plain string templates; every value that came from the
data (pair ids, quotes, reasons) goes through ``html.escape`` because paper
text is untrusted input. Figures are drawn with matplotlib's non-interactive
backend so this works on a server with no display.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval.audit import SuspectRow
from eval.scoring import LABEL_COLUMNS, METRIC_NAMES, ScoreReport, score_arrays

LATEST_CSV = "suspects-latest.csv"
SUSPECT_COLUMNS = ["rank", "pair_id", "bibcode", "telescope", "stored", "suggested", "score",
                   "cl_issue", "model_probs", "verdict", "verdict_tier", "evidence", "reason",
                   "scored_at"]  # fmt: skip
_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;"
    "text-align:left;vertical-align:top}th{background:#eee}img{max-width:100%}"
    ".q{font-style:italic;color:#333}"
)


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
) -> dict[str, Path]:
    """Score and write ``report.json``, ``report.md``, ``report.html`` and two PNG figures."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = score_arrays(np.asarray(telescopes, dtype=str), y_true, y_pred)
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
    lines += ["", report.to_markdown(), "", "![per-cell F1](cell_f1.png)", "",
              "![confusion matrices](confusion.png)", ""]  # fmt: skip
    return "\n".join(lines)


def eval_html(
    report: ScoreReport, confusion: dict[str, list[list[int]]], meta: dict[str, Any]
) -> str:
    headline: list[list[object]] = [
        [METRIC_NAMES["cell_macro_f1"], _f(report.cell_macro_f1)],
        [METRIC_NAMES["sklearn_macro_f1"], _f(report.sklearn_macro_f1)],
        [METRIC_NAMES["micro_f1"], _f(report.micro_f1)],
        ["rows scored", report.n_rows],
    ]
    scores = ["precision", "recall", "F1", "support", "predicted"]
    per_label = [[s.label, _f(s.precision), _f(s.recall), _f(s.f1), s.support,
                  s.predicted_positives] for s in report.per_label]  # fmt: skip
    cells = [[c.telescope, c.label, _f(c.precision), _f(c.recall), _f(c.f1), c.support,
              c.predicted_positives, "yes" if c.counted else "no"]
             for c in report.cells]  # fmt: skip
    conf = [[lab, m[0][0], m[0][1], m[1][0], m[1][1]] for lab, m in confusion.items()]
    body = [
        "<h1>amc evaluation</h1>",
        _html_table(["", ""], [[k, v] for k, v in meta.items()]),
        _html_table(["metric", "value"], headline),
        "<h2>Per label (pooled)</h2>",
        _html_table(["label", *scores], per_label),
        "<h2>Per cell (telescope × label)</h2>",
        _html_table(["telescope", "label", *scores, "counted"], cells),
        '<img src="cell_f1.png" alt="per-cell F1">',
        "<h2>Confusion per label</h2>",
        _html_table(["label", "TN", "FP", "FN", "TP"], conf),
        '<img src="confusion.png" alt="confusion matrices">',
    ]
    return _page("amc evaluation", body)


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
    ax.set_title(f"Per-cell F1 (cell macro-F1 {_f(report.cell_macro_f1)}; cells with ≥1 positive)")
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


# --- audit report ----------------------------------------------------------------------


def write_audit_reports(
    out_dir: Path, suspects: Sequence[SuspectRow], meta: dict[str, Any], now: datetime
) -> dict[str, Path]:
    """Dated ``audit-YYYY-MM-DD.csv`` / ``.html`` and ``suspects-latest.csv`` (the state the
    next incremental run starts from). A second run the same day replaces that day's files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%d")
    files = {"csv": out_dir / f"audit-{stamp}.csv", "html": out_dir / f"audit-{stamp}.html",
             "latest": out_dir / LATEST_CSV}  # fmt: skip
    write_suspects_csv(files["csv"], suspects)
    write_suspects_csv(files["latest"], suspects)
    files["html"].write_text(audit_html(suspects, meta), encoding="utf-8")
    return files


def write_suspects_csv(path: Path, suspects: Sequence[SuspectRow]) -> None:
    tmp = path.with_suffix(".tmp")  # written whole, then renamed: a crash never leaves half a file
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUSPECT_COLUMNS)
        writer.writeheader()
        for rank, row in enumerate(suspects, 1):
            writer.writerow(_suspect_record(rank, row))
    tmp.replace(path)


def _suspect_record(rank: int, row: SuspectRow) -> dict[str, Any]:
    return {
        "rank": rank, "pair_id": row.pair_id, "bibcode": row.bibcode, "telescope": row.telescope,
        "stored": row.stored, "suggested": row.suggested, "score": f"{row.score:.4f}",
        "cl_issue": row.cl_issue, "model_probs": json.dumps(row.model_probs),
        "verdict": row.verdict, "verdict_tier": row.verdict_tier,
        "evidence": json.dumps(row.evidence), "reason": row.reason, "scored_at": row.scored_at,
    }  # fmt: skip


def read_suspects_csv(path: Path) -> list[SuspectRow] | None:
    """The suspects of a previous run, or None when there is no (readable) previous report."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return [_suspect_from(record) for record in csv.DictReader(handle)]
    except (KeyError, ValueError):  # an unreadable report means: score everything again
        return None


def _suspect_from(r: dict[str, str]) -> SuspectRow:
    return SuspectRow(
        pair_id=r["pair_id"], bibcode=r["bibcode"], telescope=r["telescope"], stored=r["stored"],
        suggested=r["suggested"], score=float(r["score"]), cl_issue=r["cl_issue"] == "True",
        model_probs=json.loads(r["model_probs"]), verdict=r["verdict"],
        verdict_tier=r["verdict_tier"], evidence=json.loads(r["evidence"]), reason=r["reason"],
        scored_at=r["scored_at"],
    )  # fmt: skip


def audit_html(suspects: Sequence[SuspectRow], meta: dict[str, Any]) -> str:
    """The suspects as one table, most suspicious first, quotes escaped."""
    rows = [
        [rank, r.pair_id, r.stored, r.suggested, f"{r.score:.3f}", "yes" if r.cl_issue else "",
         ", ".join(f"{k} {v:.2f}" for k, v in r.model_probs.items()),
         f"{r.verdict} ({r.verdict_tier})" if r.verdict else "", _Raw(_quotes_html(r.evidence))]
        for rank, r in enumerate(suspects, 1)
    ]  # fmt: skip
    header = ["#", "pair", "stored", "suggested", "score", "CL issue", "model P(label)",
              "tier verdict", "evidence"]  # fmt: skip
    body = [
        "<h1>amc label audit: suspected label errors</h1>",
        _html_table(["", ""], [[k, v] for k, v in meta.items()]),
        f"<p>{len(suspects)} suspect(s), most suspicious first.</p>",
        _html_table(header, rows),
    ]
    return _page("amc label audit", body)


def _quotes_html(quotes: Sequence[str]) -> str:
    return "".join(f'<div class="q">“{html.escape(q)}”</div>' for q in quotes)


# --- HTML helpers ----------------------------------------------------------------------


class _Raw(str):
    """Already-escaped HTML (built here from escaped parts); every other value is escaped."""


def _cell(value: object) -> str:
    return value if isinstance(value, _Raw) else html.escape(str(value))


def _html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _page(title: str, body: Sequence[str]) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _f(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"  # NaN: no counted cell
