"""Plain records the store returns, and the mapping between rows and pydantic models.

Rows never leave a session: callers get these frozen dataclasses or, for results,
the ``amc.models.Classification`` they saved, rebuilt field for field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from amc.domain.models import (
    LABELS,
    Classification,
    ErrorInfo,
    Evidence,
    LabelConfidence,
    Link,
    TelescopeLabels,
    Usage,
)
from amc.domain.reviews import ReviewerLabel
from amc.store.schema import (
    FAILED_CONFIDENCE,
    BatchRow,
    ClassificationRow,
    HumanLabelRow,
    PaperRow,
    ReviewStateRow,
)


@dataclass(frozen=True)
class BatchInfo:
    id: str
    status: str
    created_at: datetime
    inputs: list[str]
    content_hash: str
    telescopes: list[str]
    tier: str
    settings: dict[str, Any]
    n_papers: int


@dataclass(frozen=True)
class PaperRecord:
    id: int
    batch_id: str
    bibcode: str
    source: str
    content_hash: str
    status: str
    attempts: int
    error_kind: str | None
    error_message: str | None


class BatchProgress(BaseModel):
    """Counts for ``amc status``: papers by status, pairs saved, errors by kind."""

    model_config = ConfigDict(frozen=True)

    #: papers by state: pending, running, done, failed
    papers: dict[str, int]
    pairs: int
    pairs_failed: int
    #: error kind -> number of failed papers plus failed pairs
    errors: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    #: of ``prompt_tokens``, read from the provider's prompt cache
    cached_tokens: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cached_share(self) -> float:
        """The share of prompt tokens the provider served from its prompt cache."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_per_1000_pairs(self) -> float:
        """Dollars per 1,000 pairs saved so far."""
        return 1000 * self.cost_usd / self.pairs if self.pairs else 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return sum(self.papers.values())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def finished(self) -> bool:
        """No paper is waiting or being worked on."""
        return self.papers["pending"] == 0 and self.papers["running"] == 0


#: a reviewer label, as the store returns it (history rows and current states)
HumanLabel = ReviewerLabel


@dataclass(frozen=True)
class AuditState:
    """What the incremental audit last computed for one pair."""

    pair_key: str
    content_hash: str
    last_score: float | None
    last_run_at: datetime
    #: hash of the pair's text alone (None in states written before it was kept)
    text_hash: str | None = None


def batch_info(row: BatchRow) -> BatchInfo:
    return BatchInfo(
        id=row.id,
        status=row.status,
        created_at=row.created_at,
        inputs=list(row.inputs),
        content_hash=row.content_hash,
        telescopes=list(row.telescopes),
        tier=row.tier,
        settings=dict(row.settings),
        n_papers=row.n_papers,
    )


def paper_record(row: PaperRow) -> PaperRecord:
    return PaperRecord(
        id=row.id,
        batch_id=row.batch_id,
        bibcode=row.bibcode,
        source=row.source,
        content_hash=row.content_hash,
        status=row.status,
        attempts=row.attempts,
        error_kind=row.error_kind,
        error_message=row.error_message,
    )


def human_label(row: HumanLabelRow) -> HumanLabel:
    labels = TelescopeLabels(**{lab.value: getattr(row, lab.value) for lab in LABELS})
    return HumanLabel(row.bibcode, row.telescope, labels, row.reviewer, row.note, row.created_at,
                      action=row.action, id=row.id, token_id=row.token_id, undoes=row.undoes,
                      cleared=row.cleared)  # fmt: skip


def review_state(row: ReviewStateRow) -> HumanLabel:
    """The current reviewer label of a pair, from its ``review_state`` row."""
    labels = TelescopeLabels(**{lab.value: getattr(row, lab.value) for lab in LABELS})
    return HumanLabel(row.bibcode, row.telescope, labels, row.reviewer, row.note,
                      row.reviewed_at, action=row.action, id=row.label_id,
                      token_id=row.token_id)  # fmt: skip


def classification_values(
    c: Classification, batch_id: str, paper_id: int, now: datetime
) -> dict[str, Any]:
    """Column values of one classification row (for a bulk upsert)."""
    labels = c.labels.as_dict() if c.labels is not None else dict.fromkeys(_label_names())
    return {
        "batch_id": batch_id,
        "paper_id": paper_id,
        "pair_id": c.pair_id,
        "bibcode": c.bibcode,
        "telescope": c.telescope,
        **labels,
        **{f"conf_{name}": c.confidence.of(name) for name in _label_names()},
        "evidence": [e.model_dump(mode="json") for e in c.evidence],
        "reason": c.reason,
        "tier": c.tier,
        "model": c.model,
        "prompt_name": c.prompt_name,
        "prompt_hash": c.prompt_hash,
        "registry_hash": c.registry_hash,
        "started_at": c.started_at,
        "elapsed_s": c.elapsed_s,
        "llm_calls": c.usage.calls,
        "prompt_tokens": c.usage.prompt_tokens,
        "completion_tokens": c.usage.completion_tokens,
        "cached_tokens": c.usage.cached_tokens,
        "cost_usd": c.usage.cost_usd,
        "n_snippets": c.n_snippets,
        "error_kind": c.error.kind if c.error else None,
        "error_message": c.error.message if c.error else None,
        "gold": c.gold.as_dict() if c.gold is not None else None,
        "confidence": (
            c.confidence.decided(c.labels) if c.labels is not None else FAILED_CONFIDENCE
        ),
        "input_differs": (
            c.gold != c.labels if c.gold is not None and c.labels is not None else None
        ),
        "source": c.source,
        "created_at": now,
        "updated_at": now,
    }


def llm_call_values(c: Classification, batch_id: str, now: datetime) -> list[dict[str, Any]]:
    """``llm_calls`` rows of the requests one classification made (its ``usage.call_log``)."""
    return [
        {
            "batch_id": batch_id, "pair_id": c.pair_id, "model": call.model,
            "prompt_hash": c.prompt_hash, "request_hash": None,
            "prompt_tokens": call.prompt_tokens, "completion_tokens": call.completion_tokens,
            "cached_tokens": call.cached_tokens, "cache_write_tokens": call.cache_write_tokens,
            "cost_usd": call.cost_usd, "latency_s": call.latency_s, "status": "ok",
            "error": None, "created_at": now,
        }
        for call in c.usage.call_log
    ]  # fmt: skip


def classification(row: ClassificationRow, links: Sequence[Link] = ()) -> Classification:
    """Rebuild the ``Classification`` that ``classification_values`` stored (with its
    ``links``, kept in their own table)."""
    labels = None
    if row.science is not None:
        labels = TelescopeLabels(**{name: bool(getattr(row, name)) for name in _label_names()})
    error = None
    if row.error_kind is not None:
        error = ErrorInfo(kind=row.error_kind, message=row.error_message or "")
    return Classification(
        pair_id=row.pair_id,
        bibcode=row.bibcode,
        telescope=row.telescope,
        labels=labels,
        confidence=LabelConfidence(**{n: getattr(row, f"conf_{n}") for n in _label_names()}),
        evidence=[Evidence.model_validate(e) for e in row.evidence],
        links=list(links),
        reason=row.reason,
        tier=row.tier,
        model=row.model,
        prompt_name=row.prompt_name,
        prompt_hash=row.prompt_hash,
        registry_hash=row.registry_hash,
        started_at=row.started_at,
        elapsed_s=row.elapsed_s,
        usage=Usage(
            calls=row.llm_calls,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cached_tokens=row.cached_tokens,
            cost_usd=row.cost_usd,
        ),
        n_snippets=row.n_snippets,
        error=error,
        gold=TelescopeLabels(**row.gold) if row.gold is not None else None,
        source=row.source,
    )


def error_counts(session: Session, batch_id: str) -> dict[str, int]:
    """Error kind -> count, over failed papers and failed pairs of a batch."""
    counts: dict[str, int] = {}
    for column, table in (
        (PaperRow.error_kind, PaperRow),
        (ClassificationRow.error_kind, ClassificationRow),
    ):
        query = (
            select(column, func.count())
            .where(table.batch_id == batch_id, column.is_not(None))
            .group_by(column)
        )
        for kind, n in session.execute(query):
            counts[str(kind)] = counts.get(str(kind), 0) + n
    return counts


def _label_names() -> list[str]:
    return [lab.value for lab in LABELS]
