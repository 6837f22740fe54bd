"""Request and response bodies of the HTTP API (they make its OpenAPI spec)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from amc.domain.models import Classification, TelescopeLabels
from amc.store import BatchInfo, BatchProgress, HumanLabel
from amc.web.review import PairView, PaperView, ResultRow
from eval.suspects import SuspectRow


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class BatchOut(BaseModel):
    id: str
    status: str
    created_at: datetime
    #: the uploaded files' names
    inputs: list[str]
    telescopes: list[str]
    tier: str
    n_papers: int

    @classmethod
    def of(cls, b: BatchInfo) -> BatchOut:
        names = [name.replace("\\", "/").rsplit("/", 1)[-1] for name in b.inputs]
        return cls(id=b.id, status=b.status, created_at=b.created_at, inputs=names,
                   telescopes=b.telescopes, tier=b.tier, n_papers=b.n_papers)  # fmt: skip


class ProgressOut(BatchProgress):
    """A batch's progress with its id and status."""

    batch_id: str
    status: str

    @classmethod
    def of(cls, batch: BatchInfo, p: BatchProgress) -> ProgressOut:
        """A finished batch shows as done even before its runner has closed it."""
        status = "done" if p.finished and batch.status in ("queued", "running") else batch.status
        fields = p.model_dump(exclude={"total", "finished"})
        return cls(batch_id=batch.id, status=status, **fields)


class SubmissionOut(BaseModel):
    batch_id: str
    #: False when the same content was submitted before (nothing new was queued)
    created: bool
    n_papers: int
    #: who runs it: ``celery`` workers, ``embedded`` in the server, ``none`` (nothing new)
    runner: str


class HumanLabelOut(BaseModel):
    bibcode: str
    telescope: str
    labels: TelescopeLabels
    reviewer: str
    note: str
    created_at: datetime

    @classmethod
    def of(cls, h: HumanLabel) -> HumanLabelOut:
        return cls(bibcode=h.bibcode, telescope=h.telescope, labels=h.labels,
                   reviewer=h.reviewer, note=h.note, created_at=h.created_at)  # fmt: skip


class ResultRowOut(BaseModel):
    paper_id: int
    pair_id: str
    bibcode: str
    telescope: str
    labels: TelescopeLabels | None
    confidence: float | None
    reference: TelescopeLabels | None
    disagree: bool
    error: str | None

    @classmethod
    def of(cls, r: ResultRow) -> ResultRowOut:
        c = r.result
        return cls(paper_id=r.paper_id, pair_id=c.pair_id, bibcode=c.bibcode,
                   telescope=c.telescope, labels=c.labels, confidence=r.confidence,
                   reference=r.reference, disagree=r.disagree,
                   error=f"{c.error.kind}: {c.error.message}" if c.error else None)  # fmt: skip


class ResultPage(BaseModel):
    total: int
    rows: list[ResultRowOut]


class PassageOut(BaseModel):
    field: str
    #: offset of ``text`` in the field
    start: int
    text: str
    #: quote spans to highlight, as offsets into ``text``
    marks: list[tuple[int, int]]


class PairOut(BaseModel):
    classification: Classification
    human: HumanLabelOut | None
    reference: TelescopeLabels | None
    disagree: bool
    passages: list[PassageOut]

    @classmethod
    def of(cls, v: PairView) -> PairOut:
        shown = [PassageOut(field=p.field, start=p.start, text=p.text, marks=p.marks)
                 for p in v.passages]  # fmt: skip
        human = HumanLabelOut.of(v.human) if v.human else None
        return cls(classification=v.result, human=human, reference=v.reference,
                   disagree=v.disagree, passages=shown)  # fmt: skip


class PaperOut(BaseModel):
    id: int
    batch_id: str
    bibcode: str
    status: str
    title: str
    error: str | None
    text_error: str | None
    pairs: list[PairOut]

    @classmethod
    def of(cls, v: PaperView) -> PaperOut:
        r = v.record
        error = f"{r.error_kind}: {r.error_message}" if r.error_kind else None
        return cls(id=r.id, batch_id=r.batch_id, bibcode=r.bibcode, status=r.status,
                   title=v.paper.title if v.paper else "", error=error,
                   text_error=v.text_error, pairs=[PairOut.of(p) for p in v.pairs])  # fmt: skip


class LabelIn(BaseModel):
    bibcode: str = Field(min_length=1, max_length=200)
    telescope: str = Field(min_length=1, max_length=50)
    labels: TelescopeLabels
    #: defaults to the token's holder
    reviewer: str | None = Field(None, max_length=200)
    note: str = Field("", max_length=5000)


class LabelOut(BaseModel):
    id: int
    bibcode: str
    telescope: str
    labels: TelescopeLabels
    reviewer: str
    note: str


class AuditOut(BaseModel):
    #: file name of the newest dated HTML report, when there is one
    report: str | None
    suspects: list[SuspectRow]
