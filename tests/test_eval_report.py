"""Reports: files written, figures are real PNGs, HTML escapes paper text, CSV round-trips."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from eval.audit_report import audit_html, write_audit_reports
from eval.report import confusion_matrices, write_eval_report
from eval.suspects import SuspectRow, read_suspects_csv

_PNG = b"\x89PNG\r\n\x1a\n"


def _arrays() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y_true = rng.random((40, 4)) < 0.4
    y_pred = y_true.copy()
    y_pred[:5, 0] = ~y_pred[:5, 0]  # five science mistakes
    return ["HST"] * 20 + ["JWST"] * 20, y_true, y_pred


def test_confusion_matrices_count_the_planted_mistakes() -> None:
    _, y_true, y_pred = _arrays()
    science = confusion_matrices(y_true, y_pred)["science"]
    assert science[0][1] + science[1][0] == 5
    assert sum(map(sum, science)) == 40
    assert confusion_matrices(y_true, y_true)["mention"][0][1] == 0


def test_eval_report_writes_every_file_with_real_figures(tmp_path: Path) -> None:
    telescopes, y_true, y_pred = _arrays()
    files = write_eval_report(tmp_path, telescopes, y_true, y_pred, {"data": "<script>x</script>"})
    for key in ("json", "markdown", "html", "f1_png", "confusion_png"):
        assert files[key].is_file()
    for key in ("f1_png", "confusion_png"):
        data = files[key].read_bytes()
        assert data.startswith(_PNG) and len(data) > 10_000
    html = files["html"].read_text()
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "cell_f1.png" in files["markdown"].read_text()


def _suspect(quote: str) -> SuspectRow:
    return SuspectRow(rank=1, pair_id="B_HST", bibcode="B", telescope="HST", stored="mention",
                      suggested="science", score=0.97, cl_issue=True,
                      model_probs={"science": 0.97, "instrumentation": 0.01, "mention": 0.02,
                                   "not_telescope": 0.0}, verdict="science", verdict_tier="rules",
                      evidence=[quote], reason="because",
                      scored_at="2025-01-01T00:00:00+00:00")  # fmt: skip


def test_audit_html_escapes_quotes_from_papers() -> None:
    page = audit_html([_suspect('<img src=x onerror="alert(1)"> we observed')], {})
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_audit_csv_round_trips_and_is_dated(tmp_path: Path) -> None:
    rows = [_suspect('a "quoted", comma'), _suspect("second\nline").model_copy(update={"rank": 2})]
    files = write_audit_reports(tmp_path, rows, {"labels": "x"}, datetime(2025, 3, 4, tzinfo=UTC))
    assert files["csv"].name == "audit-2025-03-04.csv" and files["html"].is_file()
    assert read_suspects_csv(files["latest"]) == rows
    assert read_suspects_csv(tmp_path / "missing.csv") is None
