"""The librarian's pages: login, upload, batches with live progress, results, paper, audit.

Jinja2 templates in ``amc/web/templates`` with autoescaping on: paper text and
every other value from the data is escaped (the paper page's highlighted passages
are built by ``amc.web.review.highlight``, which escapes before marking). Pages
authenticate with the session cookie set by the login form; every POST carries
the session's CSRF token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from amc.domain.models import LABELS, TelescopeLabels
from amc.jobs.submit import registry_for
from amc.settings import Settings
from amc.store import Store
from amc.web import api
from amc.web.audit import latest_audit
from amc.web.auth import (
    SESSION_COOKIE,
    Principal,
    authenticate,
    check_csrf,
    csrf_token,
    session_principal,
    store_of,
)
from amc.web.review import LABEL_FILTERS, ResultFilter, paper_view, result_rows
from amc.web.schemas import LabelIn
from amc.web.submissions import submit_uploads

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False)
)
router = APIRouter(include_in_schema=False)


def page_user(request: Request) -> Principal:
    """The logged-in principal; anyone else is sent to the login page."""
    principal = session_principal(request)
    if principal is None:
        raise HTTPException(303, "login required", headers={"Location": "/login"})
    return principal


UserDep = Annotated[Principal, Depends(page_user)]
StoreDep = Annotated[Store, Depends(store_of)]
SettingsDep = Annotated[Settings, Depends(api.settings_of)]


def render(
    request: Request, name: str, user: Principal | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """A template with the user's name and CSRF token in its context."""
    ctx.update(
        user=user, csrf=csrf_token(user) if user else "", labels=[lab.value for lab in LABELS]
    )
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/")
def home() -> RedirectResponse:
    return _redirect("/batches")


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login")
def login(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=200)],
) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict session cookie."""
    if authenticate(store, token.strip()) is None:
        return render(request, "login.html", None, 401, error="unknown or revoked token")
    response = _redirect("/batches")
    response.set_cookie(SESSION_COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=settings.web_secure_cookies, max_age=12 * 3600)  # fmt: skip
    return response


@router.post("/logout")
def logout(user: UserDep, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf)
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/upload")
def upload_form(request: Request, user: UserDep) -> HTMLResponse:
    return render(request, "upload.html", user)


@router.post("/upload")
def upload(
    request: Request,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File()],
    csrf: Annotated[str, Form()] = "",
    telescopes: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Submit the uploaded files as a batch and go to its page."""
    check_csrf(user, csrf)
    runner = api.runner_of(request)
    sub = submit_uploads(store, runner, settings, files, [telescopes])
    return _redirect(f"/batches/{sub.batch_id}")


@router.get("/batches")
def batches(request: Request, user: UserDep, store: StoreDep) -> HTMLResponse:
    shown = [(b, api.progress_of(store, b.id)) for b in store.list_batches(100)]
    return render(request, "batches.html", user, batches=shown)


@router.get("/batches/{batch_id}/progress.json")
def progress_json(batch_id: str, user: UserDep, store: StoreDep) -> dict[str, Any]:
    """Polled every second by the pages' script."""
    return api.progress_of(store, batch_id).model_dump(mode="json")


@router.get("/batches/{batch_id}")
def batch_page(
    request: Request,
    batch_id: str,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    telescope: Annotated[str, Query(max_length=50)] = "",
    label: Annotated[str, Query(max_length=20)] = "",
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    disagree: bool = False,
) -> HTMLResponse:
    """The batch's progress and its results table, filtered."""
    batch = store.get_batch(batch_id)
    flt = ResultFilter(telescope or None, label if label in LABEL_FILTERS else None,
                       min_confidence, max_confidence, disagree)  # fmt: skip
    rows, total = result_rows(store, batch_id, flt, limit=500)
    progress = api.progress_of(store, batch_id)
    telescopes = batch.telescopes or registry_for(settings).keys
    return render(request, "batch.html", user, batch=batch, progress=progress, rows=rows,
                  total=total, flt=flt, label_filters=LABEL_FILTERS,
                  telescopes=telescopes)  # fmt: skip


@router.get("/batches/{batch_id}/download")
def download(
    batch_id: str,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    format: api.ExportFormat = "csv",
) -> Response:
    return api.batch_results(batch_id, store, settings, format)


@router.get("/papers/{paper_id}")
def paper_page(
    request: Request, paper_id: api.PaperId, user: UserDep, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """The paper's pairs: verdict, reason, highlighted quotes, accept / correct buttons."""
    return render(request, "paper.html", user, view=paper_view(store, settings, paper_id))


@router.post("/papers/{paper_id}/labels")
def label_paper(
    paper_id: api.PaperId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    telescope: Annotated[str, Form(max_length=50)],
    csrf: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "correct",
    note: Annotated[str, Form(max_length=5000)] = "",
    science: Annotated[bool, Form()] = False,
    instrumentation: Annotated[bool, Form()] = False,
    mention: Annotated[bool, Form()] = False,
    not_telescope: Annotated[bool, Form()] = False,
) -> Response:
    """Accept the model's labels for a pair, or save the reviewer's correction."""
    check_csrf(user, csrf)
    record = store.get_paper(paper_id)
    if action == "accept":
        labels = _predicted(store, paper_id, telescope)
    else:
        labels = TelescopeLabels(science=science, instrumentation=instrumentation,
                                 mention=mention, not_telescope=not_telescope)  # fmt: skip
    body = LabelIn(bibcode=record.bibcode, telescope=telescope, labels=labels, note=note)
    api.record_label(store, settings, body, user)
    return _redirect(f"/papers/{paper_id}#pair-{body.telescope.upper()}")


def _predicted(store: Store, paper_id: int, telescope: str) -> TelescopeLabels:
    for c in store.paper_results(paper_id):
        if c.telescope == telescope.upper() and c.labels is not None:
            return c.labels
    raise HTTPException(400, f"no predicted labels for telescope {telescope!r} to accept")


@router.get("/audit")
def audit_page(request: Request, user: UserDep, settings: SettingsDep) -> HTMLResponse:
    return render(request, "audit.html", user, report=latest_audit(Path(settings.audit_out_dir)),
                  out_dir=settings.audit_out_dir)  # fmt: skip


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error shown as a page (the message escaped like everything else)."""
    return render(
        request,
        "error.html",
        session_principal(request),
        status,
        status_code=status,
        message=message,
    )
