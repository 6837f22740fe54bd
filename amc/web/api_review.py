"""The reviewing half of the HTTP API: pairs, reviewer labels (record, undo, history),
reviewer link edits (add, remove, history), the review queue and its progress, bulk
accept, the bibliography of record, the audit.

The reviewer of every decision is the token's holder; a body naming a reviewer is
refused (422), like labels that break the precedence rules (422) and labels for a pair
no batch has classified (404).
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from amc.jobs.exports import export_bibliography
from amc.output.bibliography import DEFAULT_LABELS
from amc.store import Store
from amc.web.api import BatchId, RowId, SettingsDep, StoreDep, ViewDep, export_file
from amc.web.audit import latest_audit, resolve_suspect
from amc.web.auth import Principal, api_principal
from amc.web.decisions import bulk_accept, record_labels, undo_last
from amc.web.link_decisions import edit_link
from amc.web.link_schemas import LinkEditOut, LinkIn
from amc.web.review import pair_view
from amc.web.schemas import (
    AuditOut,
    BulkAcceptIn,
    BulkAcceptOut,
    LabelIn,
    LabelOut,
    PairIn,
    PairOut,
    ResolveIn,
    ReviewCountsOut,
    ReviewOut,
    UndoOut,
)

router = APIRouter(prefix="/api", tags=["review"], dependencies=[Depends(api_principal)])
PrincipalDep = Annotated[Principal, Depends(api_principal)]
LabelName = Literal["science", "instrumentation", "mention", "not_telescope"]


@router.get("/pairs/{result_id}", response_model=PairOut)
def get_pair(result_id: RowId, store: StoreDep, settings: SettingsDep, view: ViewDep) -> PairOut:
    """One pair as the review page shows it: verdict, paper, evidence passages with their
    marks (terms, traps, verified quotes) and PDF pages, labels (input, reviewer, final),
    history, and its neighbours in the view given by the query (the review queue)."""
    return PairOut.of(pair_view(store, settings, result_id, view))


@router.get("/batches/{batch_id}/queue", response_model=dict[str, int | None])
def queue_start(batch_id: BatchId, store: StoreDep, view: ViewDep) -> dict[str, int | None]:
    """The first pair of the view in its order (least confident first by default)."""
    store.get_batch(batch_id)
    return {"first": store.queue_neighbour(batch_id, view.filter, view.sort, None, True)}


@router.get("/batches/{batch_id}/review-progress", response_model=ReviewCountsOut)
def review_progress(batch_id: BatchId, store: StoreDep, view: ViewDep) -> ReviewCountsOut:
    """How many pairs of the view (whatever their review status) are reviewed, in all
    and by each reviewer."""
    store.get_batch(batch_id)
    return ReviewCountsOut.of(store.review_counts(batch_id, view.filter))


@router.post("/labels", response_model=LabelOut, status_code=201)
def add_label(
    body: LabelIn, store: StoreDep, settings: SettingsDep, principal: PrincipalDep
) -> LabelOut:
    """Record the token holder's labels for a (bibcode, telescope) pair of a batch."""
    flags = body.labels.model_dump()
    return LabelOut.of(record_labels(store, settings, (body.bibcode, body.telescope), flags,
                                     principal, body.note))  # fmt: skip


@router.post("/labels/undo", response_model=UndoOut)
def undo_label(body: PairIn, store: StoreDep, principal: PrincipalDep) -> UndoOut:
    """Undo the pair's last reviewer decision still standing (restores the one before)."""
    after = undo_last(store, (body.bibcode, body.telescope.upper()), principal)
    return UndoOut(bibcode=body.bibcode, telescope=body.telescope.upper(),
                   review=ReviewOut.of(after) if after else None)  # fmt: skip


@router.get("/labels/history", response_model=list[ReviewOut])
def label_history(
    store: StoreDep,
    bibcode: Annotated[str, Query(min_length=1, max_length=200)],
    telescope: Annotated[str, Query(min_length=1, max_length=50)],
) -> list[ReviewOut]:
    """Every reviewer decision on the pair, newest first (who, when, action, note)."""
    return [ReviewOut.of(h) for h in store.review_history(bibcode, telescope)]


@router.post("/links", response_model=LinkEditOut, status_code=201,
             responses={400: {"description": "not a link"},
                        409: {"description": "does not fit the pair"}})  # fmt: skip
def add_link(
    body: LinkIn, store: StoreDep, settings: SettingsDep, principal: PrincipalDep
) -> LinkEditOut:
    """Add a link to a science/instrumentation pair of a batch (the value made canonical:
    the registry's instrument name, ``TELESCOPE:NUMBER``, a lower-cased DOI). 400 for an
    instrument the registry does not know or a malformed id; 409 when the pair has it."""
    pair, link = (body.bibcode, body.telescope), (body.kind, body.value)
    return LinkEditOut.of(edit_link(store, settings, pair, link, "add", principal, body.note))


@router.post("/links/remove", response_model=LinkEditOut, status_code=201,
             responses={409: {"description": "not a link of the pair"}})  # fmt: skip
def remove_link(
    body: LinkIn, store: StoreDep, settings: SettingsDep, principal: PrincipalDep
) -> LinkEditOut:
    """Remove one of the pair's final links (the model's or a reviewer's); adding it
    again brings it back."""
    pair, link = (body.bibcode, body.telescope), (body.kind, body.value)
    return LinkEditOut.of(edit_link(store, settings, pair, link, "remove", principal, body.note))


@router.get("/links/history", response_model=list[LinkEditOut])
def link_history(
    store: StoreDep,
    bibcode: Annotated[str, Query(min_length=1, max_length=200)],
    telescope: Annotated[str, Query(min_length=1, max_length=50)],
) -> list[LinkEditOut]:
    """Every reviewer edit of the pair's links, newest first (who, when, what, note)."""
    return [LinkEditOut.of(e) for e in reversed(store.link_edits(bibcode, telescope))]


@router.post("/batches/{batch_id}/accept", response_model=BulkAcceptOut)
def accept_view(
    batch_id: BatchId, body: BulkAcceptIn, store: StoreDep, principal: PrincipalDep
) -> BulkAcceptOut:
    """Accept the model's labels for every unreviewed pair of a view (one decision per
    pair, by the token's holder). ``expected`` is the number the client confirmed (from
    ``review-progress`` or the rows' total with ``review=unreviewed``): 409 if it changed."""
    flt = body.filter
    done = bulk_accept(store, batch_id, flt, body.expected, principal, body.note)
    return BulkAcceptOut(accepted=done, view=flt.describe())


@router.get("/batches/{batch_id}/bibliography", response_class=FileResponse,
            responses={200: {"content": {"text/csv": {}, "text/plain": {}}}})  # fmt: skip
def bibliography(
    batch_id: BatchId,
    store: StoreDep,
    settings: SettingsDep,
    telescope: Annotated[str | None, Query(max_length=50)] = None,
    format: Literal["csv", "txt"] = "csv",
    labels: Annotated[list[LabelName] | None, Query()] = None,
) -> FileResponse:
    """The bibliography of record: every pair with its final label (csv), or the bibcodes
    whose final labels include ``labels`` (txt; science and instrumentation by default),
    ready to paste into an ADS library."""
    store.get_batch(batch_id)
    wanted = labels or list(DEFAULT_LABELS)
    key = telescope.upper() if telescope else None
    suffix = f"-{key or 'all'}-bibliography.{format}"
    return export_file(settings, batch_id, suffix, "text/csv" if format == "csv" else "text/plain",
                       lambda path: export_bibliography(store, batch_id, path, key, format,
                                                        wanted))  # fmt: skip


@router.get("/audit/latest", response_model=AuditOut)
def audit_latest(store: StoreDep, settings: SettingsDep) -> AuditOut:
    """The latest label audit: suspected label errors, most suspicious first, with their
    resolutions and review pages."""
    return audit_or_404(store, FilePath(settings.audit_out_dir))


def audit_or_404(store: Store, out_dir: FilePath) -> AuditOut:
    report = latest_audit(store, out_dir)
    if report is None:
        raise HTTPException(404, "no audit report yet; run `amc audit --labels FILE` "
                            "(or set AMC_AUDIT_CRON for `amc beat`)")  # fmt: skip
    return report


@router.post("/audit/resolve", response_model=LabelOut, status_code=201)
def audit_resolve(
    body: ResolveIn, store: StoreDep, settings: SettingsDep, principal: PrincipalDep
) -> LabelOut:
    """Resolve a suspect: keep its stored labels or take the suggestion (recorded like any
    review; the next incremental audit does not flag it again unless its text changes)."""
    done = resolve_suspect(store, FilePath(settings.audit_out_dir), body.pair_id, body.decision,
                           principal.reviewer, body.note)  # fmt: skip
    return LabelOut.of(done)
