"""Web commands: ``serve`` (the librarian web app and HTTP API) and ``token`` (API tokens).

A thin shell over ``amc.web``; settings are built here, at the edge.
"""

from __future__ import annotations

from typing import Annotated

import typer

from amc.cli.common import Command, ConfigOpt, open_job_store
from amc.domain.errors import ConfigError, require_extra
from amc.settings import load_settings
from amc.store.tokens import create_token

token_app = typer.Typer(
    name="token", help="Create, list and revoke API tokens of the web app.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and the ``token`` group to the ``amc`` app."""
    app.command(cls=Command)(serve)
    app.add_typer(token_app)


def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="ADDRESS", help="Address to listen on [127.0.0.1]."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", metavar="PORT", help="Port to listen on [8000].")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the librarian web app and the HTTP API (OpenAPI at /api/openapi.json).

    Every route but /api/health needs an API token: create one with
    `amc token create --name NAME`. Batches submitted through the web run on
    Celery workers when the broker answers and a worker is up, else in a background
    thread of the server (AMC_WEB_WORKERS=auto|celery|embedded).

    Example:

        amc serve --host 0.0.0.0 --port 8000
    """
    require_extra("web", "amc serve", ("fastapi", "uvicorn", "jinja2", "multipart"))
    import uvicorn  # the web extra

    from amc.web import create_app  # FastAPI: only for `amc serve`

    settings = load_settings(config, web_host=host, web_port=port)
    app = create_app(settings)
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, proxy_headers=True)


@token_app.command("create", cls=Command)
def token_create(
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="Who holds it (shown as the reviewer).")
    ],
    config: ConfigOpt = None,
) -> None:
    """Create an API token and print it (once: only its hash is stored).

    Example:

        amc token create --name "Jane Librarian"
    """
    settings = load_settings(config)
    with open_job_store(settings) as store:
        token = create_token(store, name)
    typer.echo(token)


@token_app.command("list", cls=Command)
def token_list(config: ConfigOpt = None) -> None:
    """List the API tokens (id, holder, created, revoked); never the tokens themselves.

    Example:

        amc token list
    """
    with open_job_store(load_settings(config), must_exist=True) as store:
        for t in store.list_api_tokens():
            revoked = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            typer.echo(f"{t.id:>4}  {t.created_at:%Y-%m-%d %H:%M}  {revoked:<24} {t.name}")


@token_app.command("revoke", cls=Command)
def token_revoke(
    token_id: Annotated[
        int, typer.Argument(metavar="TOKEN_ID", help="Token id (from `amc token list`).")
    ],
    config: ConfigOpt = None,
) -> None:
    """Revoke an API token: it stops working at once.

    Example:

        amc token revoke 3
    """
    with open_job_store(load_settings(config), must_exist=True) as store:
        if not store.revoke_api_token(token_id):
            raise ConfigError(f"no active token with id {token_id}; see `amc token list`")
    typer.echo(f"token {token_id} revoked")
