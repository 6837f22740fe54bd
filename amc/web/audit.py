"""The latest label-audit report (``amc audit``), read from ``audit_out_dir``."""

from __future__ import annotations

from pathlib import Path

from amc.web.schemas import AuditOut
from eval.suspects import LATEST_CSV, read_suspects_csv


def latest_audit(out_dir: Path) -> AuditOut | None:
    """The suspects of ``suspects-latest.csv`` and the newest dated report; None if none."""
    suspects = read_suspects_csv(out_dir / LATEST_CSV)
    if suspects is None:
        return None
    reports = sorted(out_dir.glob("audit-*.html"))
    return AuditOut(report=reports[-1].name if reports else None, suspects=suspects)
