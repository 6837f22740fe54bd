"""Issue points 10 and 5 (web): login CSRF, a server-side session that logout revokes,
NUL bytes on PostgreSQL, no server paths in messages, empty or nested uploads refused,
same-name files in one upload kept apart.

Each server is a real ``amc serve`` subprocess on a free loopback port (batches run in
a thread of the server), its token made with ``amc token create``; the tests speak
HTTP to it with httpx.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from chaos_support import Amc, Running, free_port, tail
from pgdb import postgres_database

pytestmark = pytest.mark.timeout(180)

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Web:
    base: str
    token: str
    root: Path
    process: Running

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30, follow_redirects=False, **kw)

    def api(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {self.token}"})


def _serve(root: Path, database_url: str | None = None) -> Iterator[Web]:
    env = {"AMC_WEB_WORKERS": "embedded", "AMC_AUDIT_OUT_DIR": str(root / "audit")}
    if database_url:
        env["AMC_DATABASE_URL"] = database_url
    amc = Amc(root, env)
    made = amc("token", "create", "--name", "Chaos Reviewer")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    process = amc.start("serve", "--host", "127.0.0.1", "--port", str(port), track=False)
    base = f"http://127.0.0.1:{port}"
    try:
        started = False
        for _ in range(300):
            if not process.alive:
                break
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    started = True
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert started, f"amc serve did not start: {tail(process.stderr)}"
        yield Web(base, token, root, process)
    finally:
        process.kill()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """``amc serve`` on SQLite, shared by this module's tests."""
    yield from _serve(tmp_path_factory.mktemp("web"))


@pytest.fixture
def web_pg(tmp_path: Path) -> Iterator[Web]:
    """``amc serve`` on a throwaway PostgreSQL database."""
    with postgres_database("amc_chaos") as url:
        yield from _serve(tmp_path / "webpg", url)


# -- forms -------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """Forms of a page: action -> {hidden input name: value}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
        elif tag == "input" and a.get("type") == "hidden" and self.forms:
            self.forms[-1][1][a.get("name", "")] = a.get("value", "")


def hidden_fields(html: str, action: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(html)
    for form_action, fields in parser.forms:
        if form_action == action:
            return fields
    return {}


def _login(web: Web, client: httpx.Client) -> httpx.Response:
    """Log in as a browser would: the form's hidden fields, then the token."""
    page = client.get("/login")
    fields = hidden_fields(page.text, "/login")
    return client.post("/login", data={**fields, "token": web.token})


# -- session -----------------------------------------------------------------------------


def test_login_form_has_a_csrf_token_and_login_without_it_is_refused(web: Web) -> None:
    """GET /login carries a CSRF hidden input; POST /login without it is a 4xx and sets
    no session (today: no CSRF field, and the login succeeds)."""
    with web.client() as client:
        page = client.get("/login")
        assert page.status_code == 200
        fields = hidden_fields(page.text, "/login")
        assert any("csrf" in name.lower() and value for name, value in fields.items()), (
            f"no CSRF hidden input in the login form: {fields}"
        )
    with web.client() as bare:  # no cookie from the form, no CSRF field
        response = bare.post("/login", data={"token": web.token})
        assert 400 <= response.status_code < 500, response.status_code
        assert not response.cookies, f"a session was set: {dict(response.cookies)}"


def test_session_cookie_is_a_server_side_id_that_logout_revokes(web: Web) -> None:
    """After login the cookie is not the API token (today it is the raw token); after
    logout the old cookie no longer opens a page (today it still does)."""
    with web.client() as client:
        response = _login(web, client)
        assert response.status_code in (302, 303), (response.status_code, response.text[:300])
        cookies = dict(client.cookies)
        assert cookies, "login set no cookie"
        assert all(web.token not in value for value in cookies.values()), (
            "the session cookie holds the API token itself"
        )
        assert web.token not in response.headers.get("set-cookie", "")
        page = client.get("/batches")
        assert page.status_code == 200
        logout = client.post("/logout", data=hidden_fields(page.text, "/logout"))
        assert logout.status_code in (302, 303), logout.status_code
    with web.client(cookies=cookies) as replay:
        again = replay.get("/batches")
        assert again.status_code != 200, "the cookie of a logged-out session still works"


# -- NUL bytes on PostgreSQL ---------------------------------------------------------------

LABELS = {"science": True, "instrumentation": False, "mention": False, "not_telescope": False}


@pytest.mark.services
def test_nul_bytes_in_ids_and_labels_are_a_4xx_on_postgresql(web_pg: Web) -> None:
    """NUL in a label's fields and in query parameters or path ids: 4xx, never a 500
    (PostgreSQL text cannot hold NUL: today the database error escapes as HTTP 500)."""
    label = {"bibcode": "2024NUL.0001X", "telescope": "HST", "labels": LABELS}
    probes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/labels", {"json": {**label, "bibcode": "2024\x00NUL"}}),
        ("POST", "/api/labels", {"json": {**label, "telescope": "H\x00ST"}}),
        ("POST", "/api/labels", {"json": {**label, "reviewer": "Ada\x00"}}),
        ("POST", "/api/labels", {"json": {**label, "note": "a note\x00"}}),
        ("GET", "/api/batches/ab%00cd", {}),
        ("GET", "/api/batches/ab%00cd/progress", {}),
        ("GET", "/api/batches/ab%00cd/results", {}),
        ("GET", "/api/batches/abcd/rows", {"params": {"telescope": "H\x00ST"}}),
    ]
    statuses: dict[str, int | str] = {}
    for method, path, kw in probes:
        with web_pg.api() as api:  # a fresh connection each: a reset one is not reused
            try:
                statuses[f"{method} {path!r} {kw}"] = api.request(method, path, **kw).status_code
            except httpx.TransportError as exc:  # the server dropped the connection
                statuses[f"{method} {path!r} {kw}"] = f"connection dropped ({exc})"
    bad = {k: v for k, v in statuses.items() if not (isinstance(v, int) and 400 <= v < 500)}
    assert not bad, f"NUL bytes not answered with a 4xx: {bad}"


# -- messages ----------------------------------------------------------------------------


def _server_paths(web: Web) -> list[str]:
    return [str(web.root), tempfile.gettempdir().rstrip("/") + "/", sys.prefix, str(REPO)]


def test_error_messages_never_show_server_paths(web: Web) -> None:
    """Errors (no audit report yet, a bad table row, an unknown batch or paper, a broken
    zip) are answered without absolute server paths (today the audit folder and the
    upload folder are shown)."""
    bad_csv = b"bibcode,telescope,body,shoe_size\n2024X,HST,We observed with HST.,42\n"
    bad_row = b"bibcode,telescope,year,body\n2024Y,HST,soon,We observed with HST.\n"
    with web.api() as api, web.client() as browser:
        _login(web, browser)
        responses = [
            api.get("/api/audit/latest"),
            api.post("/api/batches", files=[("files", ("papers.csv", bad_csv))]),
            api.post("/api/batches", files=[("files", ("rows.csv", bad_row))]),
            api.post("/api/batches", files=[("files", ("broken.zip", b"PK\x03\x04broken"))]),
            api.post("/api/batches", files=[("files", ("paper.pdf", b"%PDF-1.7 garbage"))]),
            api.get("/api/batches/0123456789ab"),
            api.get("/api/batches/0123456789ab/results", params={"format": "kaggle"}),
            api.get("/api/papers/999999"),
            browser.get("/batches/0123456789ab"),
            browser.get("/papers/999999"),
            browser.get("/audit"),
        ]
    leaks = {}
    for n, response in enumerate(responses):
        shown = [p for p in _server_paths(web) if p in response.text]
        if shown:
            leaks[f"#{n} {response.request.method} {response.request.url.path}"] = (
                response.status_code,
                shown,
                response.text[:300],
            )
    assert not leaks, f"server paths in responses: {leaks}"


# -- uploads -----------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PAPER = b"We observed NGC 4258 with the Hubble Space Telescope using WFC3/UVIS."
EMPTY_UPLOADS = {
    "empty-file": ("papers.jsonl", b""),
    "zip-in-zip": ("outer.zip", _zip({"inner.zip": _zip({"paper.txt": PAPER})})),
    "empty-table": ("papers.csv", b"bibcode,telescope,body\n"),
}


@pytest.mark.parametrize("case", sorted(EMPTY_UPLOADS))
def test_uploads_with_nothing_to_classify_are_refused_with_a_message(web: Web, case: str) -> None:
    """An empty file, a zip holding only a zip, a table with no rows: a 4xx whose detail
    says why, and no batch created (today: an empty batch, HTTP 201)."""
    name, data = EMPTY_UPLOADS[case]
    with web.api() as api:
        before = len(api.get("/api/batches").json())
        response = api.post("/api/batches", files=[("files", (name, data))])
        after = len(api.get("/api/batches").json())
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    detail = response.json().get("detail")
    if isinstance(detail, list):  # a validation error: its messages
        detail = "; ".join(str(item.get("msg", "")) for item in detail)
    assert isinstance(detail, str) and len(detail) > 10, f"no message: {response.text[:300]}"
    assert after == before, "an empty batch was created"


def test_same_name_files_in_one_upload_are_two_papers(web: Web) -> None:
    """A zip with a/paper.txt and b/paper.txt (different papers): n_papers 2, today 1."""
    data = _zip(
        {
            "a/paper.txt": PAPER,
            "b/paper.txt": b"We observed M33 with the Hubble Space Telescope using ACS.",
        }
    )
    with web.api() as api:
        response = api.post("/api/batches", files=[("files", ("same.zip", data))])
    assert response.status_code == 201, response.text[:300]
    assert response.json()["n_papers"] == 2, response.json()
