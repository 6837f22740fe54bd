"""The web app factory: ``create_app(settings)`` builds the FastAPI app of ``amc serve``.

One store and one batch runner per app, kept on ``app.state``. Errors from the
core become answers, never tracebacks: JSON ``{"detail": ...}`` under ``/api``,
an error page elsewhere (unknown batch or paper 404, bad input 400, too large 413,
refused labels 422). No answer shows a server path: messages keep file names only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from amc import __version__
from amc.domain.errors import AmcError
from amc.settings import Settings
from amc.store import Store, StoreError, open_store
from amc.web import api, api_review, pages, review_pages
from amc.web.middleware import BodyLimit, RejectNul, SecurityHeaders, without_paths
from amc.web.runner import BatchRunner

#: multipart framing and form fields on top of the largest file
FORM_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The web app over ``settings`` (and ``store``, else ``open_store(database_url)``)."""
    own_store = store is None
    store = store or open_store(settings.database_url)
    runner = BatchRunner(store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.web_workers == "embedded":
            runner.resume()
        yield
        runner.close()
        if own_store:
            store.close()

    app = FastAPI(
        title="amc: automated mission classifier",
        version=__version__,
        description="Classify (paper, telescope) pairs; review and correct the labels. Every "
        "route but /api/health needs `Authorization: Bearer <token>` (`amc token create`).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served at /api/openapi.json, behind the token
        lifespan=lifespan,
    )
    app.state.settings, app.state.store, app.state.runner = settings, store, runner
    app.add_middleware(BodyLimit, max_bytes=settings.web_max_upload_bytes + FORM_OVERHEAD_BYTES)
    app.add_middleware(RejectNul)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(api.public)
    app.include_router(api.router)
    app.include_router(api_review.router)
    app.include_router(pages.router)
    app.include_router(review_pages.router)
    _add_error_handlers(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    async def amc_error(request: Request, exc: Exception) -> Response:
        status = 404 if isinstance(exc, StoreError) else getattr(exc, "status_code", 400)
        return _answer(request, status, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (303, 401) or _is_api(request):
            detail = without_paths(exc.detail) if isinstance(exc.detail, str) else exc.detail
            return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)
        return _answer(request, exc.status_code, str(exc.detail))

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_api(request):
            return JSONResponse({"detail": jsonable_errors(exc)}, 422)
        return _answer(request, 422, "; ".join(e.get("msg", "") for e in exc.errors()))

    app.add_exception_handler(AmcError, amc_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """Validation errors without their (possibly binary) input values."""
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _answer(request: Request, status: int, message: str) -> Response:
    message = without_paths(message)
    if _is_api(request):
        return JSONResponse({"detail": message}, status)
    return pages.error_page(request, status, message)
