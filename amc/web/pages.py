"""The librarian's pages: login, upload, batches with live progress, a batch's results,
a paper. The review pages (pair, queue, bulk accept, audit) are in ``amc.web.review_pages``.

Jinja2 templates in ``amc/web/templates`` with autoescaping on: paper text and every
other value from the data is escaped (highlighted passages are built by
``amc.web.evidence.highlight``, which escapes before marking). Pages authenticate with
the session cookie set by the login form; every POST carries a CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from amc.domain.models import LABELS
from amc.jobs.submit import registry_for
from amc.settings import Settings
from amc.store import INPUT_FILTERS, LABEL_FILTERS, REVIEW_FILTERS, BatchInfo, ResultFilter, Store
from amc.web import api
from amc.web.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Principal,
    authenticate,
    check_csrf,
    check_login_csrf,
    close_session,
    csrf_token,
    new_login_form,
    open_session,
    session_principal,
    set_login_cookie,
    set_session_cookie,
    store_of,
)
from amc.web.fields import no_nul
from amc.web.review import ViewParams, paper_view
from amc.web.submissions import submit_uploads

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False)
)
router = APIRouter(include_in_schema=False)
#: rows per page of the results table (the choices offered)
PAGE_SIZES = (25, 50, 100, 200)


def page_user(request: Request) -> Principal:
    """The logged-in principal; anyone else is sent to the login page."""
    principal = session_principal(request)
    if principal is None:
        raise HTTPException(303, "login required", headers={"Location": "/login"})
    return principal


UserDep = Annotated[Principal, Depends(page_user)]
StoreDep = Annotated[Store, Depends(store_of)]
SettingsDep = Annotated[Settings, Depends(api.settings_of)]
ViewDep = Annotated[ViewParams, Query()]


def render(
    request: Request, name: str, user: Principal | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """A template with the user's name and CSRF token in its context."""
    ctx.update(
        user=user, csrf=csrf_token(user) if user else "", labels=[lab.value for lab in LABELS]
    )
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/")
def home() -> RedirectResponse:
    return redirect("/batches")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        Path(__file__).parent / "static" / "favicon.svg", media_type="image/svg+xml"
    )


@router.get("/login")
def login_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The login form, with a CSRF token bound to a short-lived cookie."""
    return _login_page(request, settings)


def _login_page(
    request: Request, settings: Settings, status: int = 200, error: str = ""
) -> HTMLResponse:
    nonce, token = new_login_form()
    response = render(request, "login.html", None, status, login_csrf=token, error=error)
    set_login_cookie(response, nonce, settings)
    return response


@router.post("/login")
def login(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the form's CSRF token and the API token; open a session (its random id in an
    HttpOnly, SameSite=Strict cookie; the API token is never stored in the browser)."""
    check_login_csrf(request, csrf)
    principal = authenticate(store, token.strip())
    if principal is None:
        return _login_page(request, settings, 401, "unknown or revoked token")
    response = redirect("/batches")
    set_session_cookie(response, open_session(store, principal), settings)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(user: UserDep, store: StoreDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session: its id stops working at once."""
    check_csrf(user, csrf)
    close_session(store, user)
    response = redirect("/login")
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
    sub = submit_uploads(store, runner, settings, files, [no_nul(telescopes)])
    return redirect(f"/batches/{sub.batch_id}")


@dataclass(frozen=True)
class PageProgress:
    """What a page shows of a batch's progress: its papers by state (a cheap count; the
    full progress, with pairs, errors and cost, is ``/batches/{id}/progress.json``)."""

    papers: dict[str, int]
    batch_status: str

    @property
    def total(self) -> int:
        return sum(self.papers.values())

    @property
    def finished(self) -> bool:
        return self.papers["pending"] == 0 and self.papers["running"] == 0

    @property
    def status(self) -> str:
        running = self.batch_status in ("queued", "running")
        return "done" if self.finished and running else self.batch_status


def page_progress(store: Store, batch: BatchInfo) -> PageProgress:
    return PageProgress(store.papers_by_status(batch.id), batch.status)


@router.get("/batches")
def batches(request: Request, user: UserDep, store: StoreDep) -> HTMLResponse:
    shown = [(b, page_progress(store, b)) for b in store.list_batches(100)]
    return render(request, "batches.html", user, batches=shown)


@router.get("/batches/{batch_id}/progress.json")
def progress_json(batch_id: api.BatchId, user: UserDep, store: StoreDep) -> dict[str, Any]:
    """Polled every second by the pages' script."""
    return api.progress_of(store, batch_id).model_dump(mode="json")


@router.get("/batches/{batch_id}")
def batch_page(
    request: Request,
    batch_id: api.BatchId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    view: ViewDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=PAGE_SIZES[-1])] = PAGE_SIZES[1],
    after: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:
    """The batch's progress, review progress and results table: filtered, sorted and
    paged in the database (Next and Previous go from the page's last or first pair, so
    a page deep in a large batch costs no more than the first)."""
    batch = store.get_batch(batch_id)
    offset = (page - 1) * per_page
    counts = store.review_counts(batch_id, view.filter)
    # the view's size follows from its review counts unless it keeps accepted/corrected pairs
    known = {None: counts.total, "unreviewed": counts.total - counts.reviewed,
             "reviewed": counts.reviewed}  # fmt: skip
    rows, total = store.result_page(batch_id, view.filter, view.sort, per_page, offset,
                                    after=after, before=before,
                                    count=view.review not in known)  # fmt: skip
    total = known.get(view.review, total)
    whole = view.filter.without_review() == ResultFilter()
    return render(request, "batch.html", user, batch=batch,
                  progress=page_progress(store, batch), rows=rows, total=total,
                  view=view, page=page, per_page=per_page, page_sizes=PAGE_SIZES,
                  pages=max(1, -(-total // per_page)), offset=offset,
                  counts=counts, whole=whole,
                  to_accept=counts.acceptable,
                  label_filters=LABEL_FILTERS, input_filters=INPUT_FILTERS,
                  review_filters=REVIEW_FILTERS,
                  telescopes=batch.telescopes or registry_for(settings).keys)  # fmt: skip


@router.get("/batches/{batch_id}/download")
def download(
    batch_id: api.BatchId,
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
    format: api.ExportFormat = "csv",
) -> Response:
    """The results with their final labels (the reviewer's, else the model's)."""
    return api.batch_results(batch_id, store, settings, format, "final")


@router.get("/papers/{paper_id}")
def paper_page(
    request: Request, paper_id: api.PaperId, user: UserDep, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """The paper and its pairs, each linking to its review page."""
    return render(request, "paper.html", user, view=paper_view(store, settings, paper_id))


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
