"""The label audit's reports: dated CSV and HTML, and ``suspects-latest.csv``, the state the
next incremental run starts from."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from eval.html import Raw, html_table, page
from eval.suspects import LATEST_CSV, SuspectRow, write_suspects_csv


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


def audit_html(suspects: Sequence[SuspectRow], meta: dict[str, Any]) -> str:
    """The suspects as one table, most suspicious first, quotes escaped."""
    rows = [
        [rank, r.pair_id, r.stored, r.suggested, f"{r.score:.3f}", "yes" if r.cl_issue else "",
         ", ".join(f"{k} {v:.2f}" for k, v in r.model_probs.items()),
         f"{r.verdict} ({r.verdict_tier})" if r.verdict else "", Raw(_quotes_html(r.evidence))]
        for rank, r in enumerate(suspects, 1)
    ]  # fmt: skip
    header = ["#", "pair", "stored", "suggested", "score", "CL issue", "model P(label)",
              "tier verdict", "evidence"]  # fmt: skip
    body = [
        "<h1>amc label audit: suspected label errors</h1>",
        html_table(["", ""], [[k, v] for k, v in meta.items()]),
        f"<p>{len(suspects)} suspect(s), most suspicious first.</p>",
        html_table(header, rows),
    ]
    return page("amc label audit", body)


def _quotes_html(quotes: Sequence[str]) -> str:
    return "".join(f'<div class="q">“{html.escape(q)}”</div>' for q in quotes)
