"""The review pages: the queue over a view of a batch, the pair page and its actions, the
bulk accept with its confirmation, the audit page, the bibliography download.

Every action is saved when it is taken (one POST each) and the page moves on: accept
and save go to the next pair of the queue, undo comes back to the pair it undid. The
queue's view travels in the query string (and in hidden fields of the forms), so
the back button, a bookmark or a shared link open the same queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field

from amc.domain.errors import AmcError
from amc.output.bibliography import DEFAULT_LABELS
from amc.settings import Settings
from amc.store import Store
from amc.web import api, api_review
from amc.web.audit import latest_audit, resolve_suspect
from amc.web.auth import Principal, check_csrf
from amc.web.decisions import accept_result, bulk_accept, record_labels, undo_last
from amc.web.link_decisions import edit_link
from amc.web.pages import SettingsDep, StoreDep, UserDep, ViewDep, redirect, render
from amc.web.review import ViewParams, at, how_decided, pair_view
from amc.web.schemas import Text

router = APIRouter(include_in_schema=False)


class DecisionForm(ViewParams):
    """The pair page's form: an action, the ticked labels, a note, the queue's view."""

    csrf: str = Field("", max_length=200)
    action: Literal["accept", "correct", "undo"] = "correct"
    science: bool = False
    instrumentation: bool = False
    mention: bool = False
    not_telescope: bool = False
    note: Text = Field("", max_length=5000)
    #: the result whose last decision an undo takes back (default: this pair)
    undo_id: int | None = Field(None, ge=1, le=2**31 - 1)


class LinkForm(ViewParams):
    """The pair page's link forms: add a link (kind, value as typed) or remove one."""

    csrf: str = Field("", max_length=200)
    action: Literal["add", "remove"] = "add"
    kind: Literal["instrument", "programme", "obsid", "doi", "grant"] = "instrument"
    value: Text = Field("", max_length=300)
    note: Text = Field("", max_length=5000)


class AcceptForm(ViewParams):
    """The bulk accept confirmation: the view, the count confirmed, a note."""

    csrf: str = Field("", max_length=200)
    expected: int = Field(ge=0)
    note: Text = Field("", max_length=5000)


@router.get("/batches/{batch_id}/review")
def start_queue(batch_id: api.BatchId, user: UserDep, store: StoreDep, view: ViewDep) -> Response:
    """Open the queue over the view at its first pair (least confident first by default)."""
    store.get_batch(batch_id)
    first = store.queue_neighbour(batch_id, view.filter, view.sort, None, True)
    if first is None:
        return redirect(f"/batches/{batch_id}?{view.query(done=1)}")
    return redirect(at(f"/pairs/{first}", view.query()))


@router.get("/pairs/{result_id}")
def pair_page(
    request: Request,
    result_id: api.RowId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    view: ViewDep,
    last: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    undone: bool = False,
) -> HTMLResponse:
    """One pair of the queue: evidence, labels, history, and the actions (with keys)."""
    return _pair(request, user, store, settings, result_id, view, last=last, undone=undone)


def _pair(
    request: Request,
    user: Principal,
    store: Store,
    settings: Settings,
    result_id: int,
    view: ViewParams,
    status: int = 200,
    **ctx: object,
) -> HTMLResponse:
    v = pair_view(store, settings, result_id, view)
    last = ctx.get("last")
    last_row = store.get_result(last) if isinstance(last, int) else None
    return render(request, "pair.html", user, status, v=v, view=view, last_row=last_row,
                  how=how_decided(v.row), **ctx)  # fmt: skip


@router.post("/pairs/{result_id}/decide")
def decide(
    request: Request,
    result_id: api.RowId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    form: Annotated[DecisionForm, Form()],
) -> Response:
    """Accept the model's labels, save the ticked ones, or undo; then move on."""
    check_csrf(user, form.csrf)
    row = store.get_result(result_id)
    view = ViewParams.model_validate(form.model_dump(include=set(ViewParams.model_fields)))
    c = row.result
    try:
        if form.action == "undo":
            target = store.get_result(form.undo_id) if form.undo_id else row
            undo_last(store, (target.result.bibcode, target.result.telescope), user)
            return redirect(f"/pairs/{target.id}?{view.query(undone=1)}")
        if form.action == "accept":
            accept_result(store, row, user, form.note)
        else:
            ticked = {k: getattr(form, k) for k in ("science", "instrumentation", "mention",
                                                    "not_telescope")}  # fmt: skip
            record_labels(store, settings, (c.bibcode, c.telescope), ticked, user, form.note)
    except AmcError as exc:
        return _pair(request, user, store, settings, result_id, view,
                     getattr(exc, "status_code", 400), error=str(exc), form=form)  # fmt: skip
    following = store.queue_neighbour(row.batch_id, view.filter, view.sort, row.id, True)
    if following is None:
        return redirect(f"/batches/{row.batch_id}?{view.query(done=1)}")
    return redirect(f"/pairs/{following}?{view.query(last=row.id)}")


@router.post("/pairs/{result_id}/links")
def edit_links(
    request: Request,
    result_id: api.RowId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    form: Annotated[LinkForm, Form()],
) -> Response:
    """Add a link to the pair or remove one of its links; then back to the pair."""
    check_csrf(user, form.csrf)
    c = store.get_result(result_id).result
    view = ViewParams.model_validate(form.model_dump(include=set(ViewParams.model_fields)))
    try:
        edit_link(store, settings, (c.bibcode, c.telescope), (form.kind, form.value),
                  form.action, user, form.note)  # fmt: skip
    except AmcError as exc:
        return _pair(request, user, store, settings, result_id, view,
                     getattr(exc, "status_code", 400), link_error=str(exc),
                     link_form=form)  # fmt: skip
    return redirect(f"{at(f'/pairs/{result_id}', view.query())}#links")


@router.get("/batches/{batch_id}/accept")
def confirm_accept(
    request: Request, batch_id: api.BatchId, user: UserDep, store: StoreDep, view: ViewDep
) -> HTMLResponse:
    """How many pairs a bulk accept of this view would record, and the button to do it."""
    batch = store.get_batch(batch_id)
    counts = store.review_counts(batch_id, view.filter)
    return render(request, "accept.html", user, batch=batch, view=view, count=counts.acceptable,
                  counts=counts)  # fmt: skip


@router.post("/batches/{batch_id}/accept")
def do_accept(
    request: Request,
    batch_id: api.BatchId,
    user: UserDep,
    store: StoreDep,
    form: Annotated[AcceptForm, Form()],
) -> Response:
    """Record one ``bulk_accept`` per pair of the view (refused if the view changed)."""
    check_csrf(user, form.csrf)
    view = ViewParams.model_validate(form.model_dump(include=set(ViewParams.model_fields)))
    try:
        done = bulk_accept(store, batch_id, view.filter, form.expected, user, form.note)
    except AmcError as exc:
        counts = store.review_counts(batch_id, view.filter)
        return render(request, "accept.html", user, getattr(exc, "status_code", 400),
                      batch=store.get_batch(batch_id), view=view, count=counts.acceptable,
                      error=str(exc), counts=counts)  # fmt: skip
    return redirect(f"/batches/{batch_id}?{view.query(accepted=done)}")


@router.get("/batches/{batch_id}/bibliography")
def bibliography_download(
    batch_id: api.BatchId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    telescope: Annotated[str | None, Query(max_length=50)] = None,
    format: Literal["csv", "txt"] = "csv",
) -> Response:
    """The bibliography of record of one telescope (or all), CSV or a bibcode list."""
    return api_review.bibliography(batch_id, store, settings, telescope or None, format,
                                   list(DEFAULT_LABELS))  # fmt: skip


@router.get("/audit")
def audit_page(
    request: Request, user: UserDep, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """The latest audit's suspects, each with its evidence, review page and resolution."""
    report = latest_audit(store, Path(settings.audit_out_dir))
    return render(request, "audit.html", user, report=report)


@router.post("/audit/resolve")
def audit_resolve(
    request: Request,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    pair_id: Annotated[Text, Form(min_length=3, max_length=260)],
    decision: Annotated[Literal["keep", "take"], Form()],
    csrf: Annotated[str, Form(max_length=200)] = "",
    note: Annotated[Text, Form(max_length=5000)] = "",
) -> RedirectResponse:
    """Keep the stored label or take the suggestion; recorded like any review."""
    check_csrf(user, csrf)
    resolve_suspect(store, Path(settings.audit_out_dir), pair_id, decision, user.reviewer, note)
    return redirect(f"/audit#resolved-{pair_id}")
