"""Request and response bodies of the HTTP API (they make its OpenAPI spec)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from amc.domain.models import Classification, TelescopeLabels
from amc.store import BatchInfo, BatchProgress, HumanLabel, ResultRow, ReviewCounts
from amc.web.evidence import Passage
from amc.web.fields import Text
from amc.web.link_schemas import PairLinksOut
from amc.web.review import PairView, ViewParams
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


class ReviewOut(BaseModel):
    """A reviewer decision: the pair's current label, or a row of its history."""

    bibcode: str
    telescope: str
    #: None for an undo that left the pair without a reviewer label
    labels: TelescopeLabels | None
    reviewer: str
    action: str
    note: str
    created_at: datetime

    @classmethod
    def of(cls, h: HumanLabel) -> ReviewOut:
        return cls(bibcode=h.bibcode, telescope=h.telescope,
                   labels=None if h.cleared else h.labels, reviewer=h.reviewer,
                   action=h.action, note=h.note, created_at=h.created_at)  # fmt: skip


class ResultRowOut(BaseModel):
    #: the result's id (``/api/pairs/{id}``)
    id: int
    paper_id: int
    pair_id: str
    bibcode: str
    telescope: str
    #: the model's labels (None when the pair failed)
    labels: TelescopeLabels | None
    #: confidence of the model's decision as a whole (its weakest label call)
    confidence: float | None
    #: the labels that came with the input file
    input_labels: TelescopeLabels | None
    input_differs: bool
    #: the current reviewer label
    review: ReviewOut | None
    review_status: Literal["unreviewed", "accepted", "corrected"]
    #: the reviewer's labels when there are some, else the model's
    final_labels: TelescopeLabels | None
    label_source: Literal["reviewer", "model", "failed"]
    error: str | None

    @classmethod
    def of(cls, r: ResultRow) -> ResultRowOut:
        c = r.result
        final, source = r.final
        return cls(id=r.id, paper_id=r.paper_id, pair_id=c.pair_id, bibcode=c.bibcode,
                   telescope=c.telescope, labels=c.labels, confidence=r.confidence,
                   input_labels=c.gold, input_differs=r.input_differs,
                   review=ReviewOut.of(r.review) if r.review else None,
                   review_status=r.review_status, final_labels=final, label_source=source,
                   error=f"{c.error.kind}: {c.error.message}" if c.error else None)  # fmt: skip


class ResultPage(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[ResultRowOut]


class MarkOut(BaseModel):
    start: int
    end: int
    #: term (a registry term of the telescope), trap (a known false positive or grant),
    #: quote (a verified quote of the verdict), link (the quote of a bibliography link)
    kind: str


class PassageOut(BaseModel):
    field: str
    #: offset of ``text`` in the field
    start: int
    text: str
    #: spans to mark, as offsets into ``text``
    marks: list[MarkOut]
    #: PDF pages (first, last) when the input was a PDF
    pages: tuple[int, int] | None

    @classmethod
    def of(cls, p: Passage) -> PassageOut:
        marks = [MarkOut(start=m.start, end=m.end, kind=m.kind) for m in p.marks]
        return cls(field=p.field, start=p.start, text=p.text, marks=marks, pages=p.pages)


class QueueOut(BaseModel):
    previous: int | None
    next: int | None
    position: int
    total: int
    reviewed: int


class PairOut(BaseModel):
    """One pair as the review page shows it."""

    result: ResultRowOut
    batch_id: str
    classification: Classification
    title: str
    authors: list[str]
    year: int | None
    links: dict[str, str]
    passages: list[PassageOut]
    history: list[ReviewOut]
    queue: QueueOut
    text_error: str | None
    #: the pair's bibliography links after review (final and removed), with their quotes
    bibliography_links: PairLinksOut

    @classmethod
    def of(cls, v: PairView) -> PairOut:
        q, paper = v.queue, v.paper
        queue = QueueOut(previous=q.previous, next=q.next, position=q.position,
                         total=q.counts.total, reviewed=q.counts.reviewed)  # fmt: skip
        return cls(result=ResultRowOut.of(v.row), batch_id=v.row.batch_id,
                   classification=v.row.result, title=paper.title if paper else "",
                   authors=paper.authors if paper else [], year=paper.year if paper else None,
                   links=dict(v.links), passages=[PassageOut.of(p) for p in v.passages],
                   history=[ReviewOut.of(h) for h in v.history], queue=queue,
                   text_error=v.text_error,
                   bibliography_links=PairLinksOut.of(v.pair_links, v.paper))  # fmt: skip


class PaperOut(BaseModel):
    id: int
    batch_id: str
    bibcode: str
    status: str
    title: str
    error: str | None
    text_error: str | None
    pairs: list[ResultRowOut]


class LabelsIn(BaseModel):
    """The four labels as ticked; combinations the precedence would rewrite are refused."""

    model_config = ConfigDict(extra="forbid")

    science: bool = False
    instrumentation: bool = False
    mention: bool = False
    not_telescope: bool = False


class LabelIn(BaseModel):
    """A reviewer's labels for a pair; the reviewer is the token's holder."""

    model_config = ConfigDict(extra="forbid")

    bibcode: Text = Field(min_length=1, max_length=200)
    telescope: Text = Field(min_length=1, max_length=50)
    labels: LabelsIn
    note: Text = Field("", max_length=5000)


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bibcode: Text = Field(min_length=1, max_length=200)
    telescope: Text = Field(min_length=1, max_length=50)


class LabelOut(BaseModel):
    id: int
    bibcode: str
    telescope: str
    labels: TelescopeLabels
    reviewer: str
    action: str
    note: str

    @classmethod
    def of(cls, h: HumanLabel) -> LabelOut:
        return cls(id=h.id, bibcode=h.bibcode, telescope=h.telescope, labels=h.labels,
                   reviewer=h.reviewer, action=h.action, note=h.note)  # fmt: skip


class UndoOut(BaseModel):
    bibcode: str
    telescope: str
    #: the pair's reviewer label after the undo (None: no reviewer label any more)
    review: ReviewOut | None


class BulkAcceptIn(ViewParams):
    """Accept the model's labels for every unreviewed pair of a view."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: how many pairs the client was shown it would accept (refused when the view changed)
    expected: int = Field(ge=0)
    note: Text = Field("", max_length=5000)


class BulkAcceptOut(BaseModel):
    accepted: int
    view: str


class ReviewCountsOut(BaseModel):
    total: int
    reviewed: int
    by_reviewer: dict[str, int]

    @classmethod
    def of(cls, c: ReviewCounts) -> ReviewCountsOut:
        return cls(total=c.total, reviewed=c.reviewed, by_reviewer=c.by_reviewer)


class ResolutionOut(BaseModel):
    decision: str
    labels: str
    reviewer: str
    resolved_at: datetime


class SuspectOut(SuspectRow):
    """A suspect of the audit, with its resolution when a librarian made one."""

    resolution: ResolutionOut | None = None
    #: the id of the pair's newest result (its review page), when a batch has it
    result_id: int | None = None


class AuditOut(BaseModel):
    #: file name of the newest dated HTML report, when there is one
    report: str | None
    suspects: list[SuspectOut]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pair_id: Text = Field(min_length=3, max_length=260)
    #: keep the stored label, or take the suggested one
    decision: Literal["keep", "take"]
    note: Text = Field("", max_length=5000)
