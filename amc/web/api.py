"""The HTTP API (``/api``): batches, progress, results, result rows, papers.

The reviewing routes (pairs, labels, queue, bulk accept, bibliography, audit) are in
``amc.web.api_review``. Every route but ``/api/health`` needs
``Authorization: Bearer <token>`` (``amc.web.auth``). Errors are JSON
``{"detail": ...}``: 400 bad input, 401 no token, 404 unknown batch, paper or pair,
409 a view that changed, 413 too large, 422 invalid parameters or labels.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from amc.jobs.exports import export_results
from amc.settings import Settings, Tier
from amc.store import Store
from amc.web.auth import api_principal, store_of
from amc.web.review import ViewParams, paper_view
from amc.web.runner import BatchRunner
from amc.web.schemas import (
    BatchOut,
    Health,
    PaperOut,
    ProgressOut,
    ResultPage,
    ResultRowOut,
    SubmissionOut,
)
from amc.web.submissions import submit_uploads

ExportFormat = Literal["csv", "jsonl", "kaggle"]
_MEDIA = {"csv": "text/csv", "jsonl": "application/x-ndjson", "kaggle": "text/csv",
          "txt": "text/plain"}  # fmt: skip
_SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "kaggle": "-kaggle.csv"}
#: a paper or result id (an INTEGER column: 32-bit on PostgreSQL)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PaperId = RowId
#: a batch id as the store makes them (12 hex characters; older ids up to 32)
BatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]

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
ViewDep = Annotated[ViewParams, Query()]


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
def get_batch(batch_id: BatchId, store: StoreDep) -> BatchOut:
    """One batch's record."""
    return BatchOut.of(store.get_batch(batch_id))


@router.get("/batches/{batch_id}/progress", response_model=ProgressOut)
def batch_progress(batch_id: BatchId, store: StoreDep) -> ProgressOut:
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
    batch_id: BatchId,
    store: StoreDep,
    settings: SettingsDep,
    format: ExportFormat = "csv",
    labels: Annotated[
        Literal["final", "model"], Query(description="final: reviewer's, else model's")
    ] = "final",
) -> FileResponse:
    """The batch's results as CSV, JSON Lines or a Kaggle submission CSV. Labels are the
    final ones (the reviewer's when there is one, else the model's), with columns for
    their source, the reviewer, the review time and the model's own labels (CSV, JSONL);
    ``labels=model`` gives the model's labels alone."""
    store.get_batch(batch_id)
    final = labels == "final"

    def write(path: FilePath) -> int:
        return export_results(store, batch_id, path, format, final)

    return export_file(settings, batch_id, _SUFFIX[format], _MEDIA[format], write)


def export_file(
    settings: Settings, batch_id: str, suffix: str, media: str, write: Callable[[FilePath], int]
) -> FileResponse:
    """A file written by ``write`` to a private temporary path, sent, then removed."""
    folder = FilePath(settings.spool_dir) / ".exports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=suffix, delete=False) as tmp:
        path = FilePath(tmp.name)
    write(path)
    return FileResponse(path, media_type=media, filename=f"{batch_id}{suffix}",
                        background=BackgroundTask(path.unlink, missing_ok=True))  # fmt: skip


@router.get("/batches/{batch_id}/rows", response_model=ResultPage)
def batch_rows(
    batch_id: BatchId,
    store: StoreDep,
    view: ViewDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    after: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Row id")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Row id")] = None,
) -> ResultPage:
    """One page of the batch's result rows: filtered, sorted (least confident first by
    default) and paged in the database. Empty filter values mean no filter. ``after``
    (or ``before``) a row's id gives the rows right after (before) it in the order, as
    fast at the end of a large batch as at its start; ``offset`` walks to its place."""
    store.get_batch(batch_id)
    rows, total = store.result_page(batch_id, view.filter, view.sort, limit, offset,
                                    after=after, before=before)  # fmt: skip
    return ResultPage(total=total, offset=offset, limit=limit,
                      rows=[ResultRowOut.of(r) for r in rows])  # fmt: skip


@router.get("/papers/{paper_id}", response_model=PaperOut)
def get_paper(paper_id: PaperId, store: StoreDep, settings: SettingsDep) -> PaperOut:
    """A paper and its pairs (each pair's evidence: ``/api/pairs/{id}``)."""
    v = paper_view(store, settings, paper_id)
    r = v.record
    error = f"{r.error_kind}: {r.error_message}" if r.error_kind else None
    return PaperOut(id=r.id, batch_id=r.batch_id, bibcode=r.bibcode, status=r.status,
                    title=v.paper.title if v.paper else "", error=error,
                    text_error=v.text_error,
                    pairs=[ResultRowOut.of(row) for row in v.rows])  # fmt: skip


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """This API's OpenAPI spec (needs a token, like every route but health)."""
    spec: dict[str, Any] = request.app.openapi()
    return spec
