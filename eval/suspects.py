"""A suspect of the label audit, and the CSV file of suspects (``suspects-latest.csv`` is the
state the next incremental run starts from; the web app's audit page reads it)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

LATEST_CSV = "suspects-latest.csv"
SUSPECT_COLUMNS = ["rank", "pair_id", "bibcode", "telescope", "stored", "suggested", "score",
                   "cl_issue", "model_probs", "verdict", "verdict_tier", "evidence", "reason",
                   "scored_at"]  # fmt: skip


class SuspectRow(BaseModel):
    """One pair whose stored labels the audit suspects, with what supports the suspicion."""

    model_config = ConfigDict(frozen=True)

    #: place in the report, most suspicious first (0: not ranked yet)
    rank: int = 0
    pair_id: str
    bibcode: str
    telescope: str
    stored: str
    suggested: str
    score: float
    cl_issue: bool
    model_probs: dict[str, float]
    verdict: str
    verdict_tier: str
    evidence: list[str]
    reason: str
    #: UTC date-time this row was scored (unchanged rows keep their first one)
    scored_at: str = ""


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
        rank=int(r["rank"]), pair_id=r["pair_id"], bibcode=r["bibcode"],
        telescope=r["telescope"], stored=r["stored"],
        suggested=r["suggested"], score=float(r["score"]), cl_issue=r["cl_issue"] == "True",
        model_probs=json.loads(r["model_probs"]), verdict=r["verdict"],
        verdict_tier=r["verdict_tier"], evidence=json.loads(r["evidence"]), reason=r["reason"],
        scored_at=r["scored_at"],
    )  # fmt: skip
