"""The HTTP API (``/api``): batches, progress, results, papers, labels, the audit.

Every route but ``/api/health`` needs ``Authorization: Bearer <token>``
(``amc.web.auth``). Errors are JSON ``{"detail": ...}``: 400 bad input, 401 no
token, 404 unknown batch or paper, 413 too large, 422 invalid parameters.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from amc.jobs.process import export_results
from amc.jobs.submit import registry_for
from amc.settings import Settings, Tier
from amc.store import Store
from amc.web.audit import latest_audit
from amc.web.auth import Principal, api_principal, store_of
from amc.web.review import LABEL_FILTERS, ResultFilter, paper_view, result_rows
from amc.web.runner import BatchRunner
from amc.web.schemas import (
    AuditOut,
    BatchOut,
    Health,
    LabelIn,
    LabelOut,
    PaperOut,
    ProgressOut,
    ResultPage,
    ResultRowOut,
    SubmissionOut,
)
from amc.web.submissions import submit_uploads

ExportFormat = Literal["csv", "jsonl", "kaggle"]
_MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson", "kaggle": "text/csv"}
_SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "kaggle": "-kaggle.csv"}
#: a paper id (an INTEGER column: 32-bit on PostgreSQL)
PaperId = Annotated[int, Path(ge=1, le=2**31 - 1)]

public = APIRouter(prefix="/api", tags=["health"])
router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(api_principal)])


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def runner_of(request: Request) -> BatchRunner:
    runner: BatchRunner = request.app.state.runner
    return runner


StoreDep = Annotated[Store, Depends(store_of)]
SettingsDep = Annotated[Settings, Depends(settings_of)]


@public.get("/health", response_model=Health)
def health() -> Health:
    """Liveness: no token needed."""
    return Health()


@router.post("/batches", response_model=SubmissionOut, status_code=201)
def create_batch(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="JSONL, CSV, parquet, PDF or zip")],
    telescopes: Annotated[list[str], Form(description="Telescope keys; none: from input")] = [],  # noqa: B006
    tier: Annotated[Tier | None, Form()] = None,
) -> SubmissionOut:
    """Create a batch from uploaded files and start it (Celery workers or in the server)."""
    return submit_uploads(store, runner_of(request), settings, files, telescopes, tier)


@router.get("/batches", response_model=list[BatchOut])
def list_batches(store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Any:
    """The most recent batches first."""
    return [BatchOut.of(b) for b in store.list_batches(limit)]


@router.get("/batches/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: str, store: StoreDep) -> BatchOut:
    """One batch's record."""
    return BatchOut.of(store.get_batch(batch_id))


@router.get("/batches/{batch_id}/progress", response_model=ProgressOut)
def batch_progress(batch_id: str, store: StoreDep) -> ProgressOut:
    """Papers by state, pairs saved and failed, errors by kind, tokens and cost."""
    return progress_of(store, batch_id)


def progress_of(store: Store, batch_id: str) -> ProgressOut:
    """A batch's progress (read only: whoever runs the batch closes it when it is done)."""
    batch = store.get_batch(batch_id)
    return ProgressOut.of(batch, store.batch_progress(batch_id))


@router.get(
    "/batches/{batch_id}/results",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def batch_results(
    batch_id: str, store: StoreDep, settings: SettingsDep, format: ExportFormat = "csv"
) -> FileResponse:
    """The batch's results as CSV, JSON Lines or a Kaggle submission CSV."""
    store.get_batch(batch_id)
    folder = FilePath(settings.spool_dir) / ".exports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=_SUFFIX[format], delete=False) as tmp:
        path = FilePath(tmp.name)
    export_results(store, batch_id, path, format)
    return FileResponse(
        path,
        media_type=_MEDIA[format],
        filename=f"{batch_id}{_SUFFIX[format]}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/batches/{batch_id}/rows", response_model=ResultPage)
def batch_rows(
    batch_id: str,
    store: StoreDep,
    telescope: Annotated[str | None, Query(max_length=50)] = None,
    label: Annotated[Literal[LABEL_FILTERS] | None, Query()] = None,  # type: ignore[valid-type]
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    disagree: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ResultPage:
    """Result rows, filtered; ``disagree``: predicted labels differ from the stored ones."""
    flt = ResultFilter(telescope, label, min_confidence, max_confidence, disagree)
    rows, total = result_rows(store, batch_id, flt, limit, offset)
    return ResultPage(total=total, rows=[ResultRowOut.of(r) for r in rows])


@router.get("/papers/{paper_id}", response_model=PaperOut)
def get_paper(paper_id: PaperId, store: StoreDep, settings: SettingsDep) -> PaperOut:
    """A paper's pairs: labels, confidence, reason, evidence, reviewer label, passages."""
    return PaperOut.of(paper_view(store, settings, paper_id))


@router.post("/labels", response_model=LabelOut, status_code=201)
def add_label(
    body: LabelIn,
    store: StoreDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(api_principal)],
) -> LabelOut:
    """Record a reviewer's labels for a (bibcode, telescope) pair; the latest wins."""
    return record_label(store, settings, body, principal)


def record_label(store: Store, settings: Settings, body: LabelIn, principal: Principal) -> LabelOut:
    """Store a human label (telescope checked against the registry)."""
    telescope = registry_for(settings).check(body.telescope)
    reviewer = (body.reviewer or "").strip() or principal.name
    label_id = store.add_human_label(body.bibcode, telescope, body.labels, reviewer, body.note)
    return LabelOut(id=label_id, bibcode=body.bibcode, telescope=telescope, labels=body.labels,
                    reviewer=reviewer, note=body.note)  # fmt: skip


@router.get("/audit/latest", response_model=AuditOut)
def audit_latest(settings: SettingsDep) -> AuditOut:
    """The latest label audit: suspected label errors, most suspicious first."""
    report = latest_audit(FilePath(settings.audit_out_dir))
    if report is None:
        raise HTTPException(404, f"no audit report in {settings.audit_out_dir}; run `amc audit`")
    return report


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """This API's OpenAPI spec (needs a token, like every route but health)."""
    spec: dict[str, Any] = request.app.openapi()
    return spec
