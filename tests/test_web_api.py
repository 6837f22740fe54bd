"""The HTTP API and pages of ``amc.web`` against a real app (TestClient, SQLite in tmp_path)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pdfgen import one_column_pdf
from typer.testing import CliRunner
from webapp import SAMPLE, api_client, app_with_token, login, wait_finished, web_settings

from amc.cli.main import app as cli_app
from amc.domain.models import TelescopeLabels
from amc.settings import Settings
from amc.store import Store
from amc.web.evidence import highlight, merge_spans
from amc.web.runner import BatchRunner

XSS = "<script>alert(1)</script>"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return web_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with api_client(settings) as c:
        yield c


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    return store


def sample_rows(n: int = 6) -> list[dict[str, Any]]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line) for line in lines]


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def upload(client: TestClient, name: str, data: bytes, **form: Any) -> Any:
    return client.post("/api/batches", files=[("files", (name, data))], data=form)


def submit_and_wait(client: TestClient, name: str, data: bytes, **form: Any) -> str:
    response = upload(client, name, data, **form)
    assert response.status_code == 201, response.text
    batch_id = str(response.json()["batch_id"])
    wait_finished(store_of(client), batch_id)
    return batch_id


# --- auth ------------------------------------------------------------------------------

PROTECTED = [
    ("get", "/api/batches"),
    ("get", "/api/batches/x"),
    ("get", "/api/batches/x/progress"),
    ("get", "/api/batches/x/results"),
    ("get", "/api/batches/x/rows"),
    ("get", "/api/papers/1"),
    ("post", "/api/labels"),
    ("post", "/api/batches"),
    ("get", "/api/audit/latest"),
    ("get", "/api/openapi.json"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_endpoint_but_health_needs_a_valid_token(
    client: TestClient, method: str, path: str
) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer amc_not-a-real-token"}):
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401, (path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/health", headers={"Authorization": ""}).json() == {"status": "ok"}


def test_tokens_are_stored_hashed_and_revocation_works(client: TestClient) -> None:
    store = store_of(client)
    token = client.token  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT name, token_hash FROM api_tokens").all()
    assert stored and all(token not in row[1] and len(row[1]) == 64 for row in stored)
    assert client.get("/api/batches").status_code == 200
    assert store.revoke_api_token(store.list_api_tokens()[0].id)
    assert client.get("/api/batches").status_code == 401


def test_token_cli_prints_a_token_once_and_lists_only_names(tmp_path: Path) -> None:
    env = {"AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    created = CliRunner().invoke(cli_app, ["token", "create", "--name", "Grace"], env=env)
    assert created.exit_code == 0, created.output
    token = created.output.strip()
    assert token.startswith("amc_") and len(token) > 40
    listed = CliRunner().invoke(cli_app, ["token", "list"], env=env)
    assert "Grace" in listed.output and token not in listed.output
    assert CliRunner().invoke(cli_app, ["serve", "--help"]).exit_code == 0


def test_openapi_spec_lists_the_api(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert {"/api/batches", "/api/batches/{batch_id}/results", "/api/papers/{paper_id}",
            "/api/labels", "/api/audit/latest", "/api/health"} <= set(spec["paths"])  # fmt: skip
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert not any(p.startswith(("/batches", "/papers", "/login")) for p in spec["paths"])


# --- uploads ---------------------------------------------------------------------------


def test_upload_jsonl_runs_the_batch_and_reports_progress(client: TestClient) -> None:
    batch_id = submit_and_wait(client, "sample.jsonl", SAMPLE.read_bytes())
    progress = client.get(f"/api/batches/{batch_id}/progress").json()
    assert progress["finished"] and progress["status"] == "done"
    assert progress["papers"]["done"] == progress["total"] > 10 and progress["pairs"] > 0
    listed = client.get("/api/batches").json()
    assert listed[0]["id"] == batch_id and listed[0]["inputs"] == ["sample.jsonl"]
    again = upload(client, "sample.jsonl", SAMPLE.read_bytes()).json()
    assert again == {"batch_id": batch_id, "created": False, "n_papers": progress["total"],
                     "runner": "none"}  # fmt: skip


@pytest.mark.parametrize("fmt", ["csv", "parquet", "zip", "pdf"])
def test_upload_each_input_format(client: TestClient, tmp_path: Path, fmt: str) -> None:
    rows = sample_rows(4)
    if fmt == "csv":
        name, data = "papers.csv", pd.DataFrame(rows).to_csv(index=False).encode()
    elif fmt == "parquet":
        pd.DataFrame(rows).to_parquet(tmp_path / "p.parquet")
        name, data = "papers.parquet", (tmp_path / "p.parquet").read_bytes()
    elif fmt == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("inner/papers.jsonl", jsonl_bytes(rows))
        name, data = "papers.zip", buffer.getvalue()
    else:
        text = "We observed the galaxy with the Hubble Space Telescope WFC3 camera."
        name, data = "note.pdf", one_column_pdf([text], title="A Hubble note")
    form = {"telescopes": "HST"} if fmt == "pdf" else {}
    batch_id = submit_and_wait(client, name, data, **form)
    page = client.get(f"/api/batches/{batch_id}/rows").json()
    assert page["total"] >= (1 if fmt == "pdf" else 4)
    assert all(r["labels"] is not None for r in page["rows"])


def evil_zip(member: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.jsonl", jsonl_bytes(sample_rows(1)))
        archive.writestr(member, b'{"bibcode": "x"}\n')
    return buffer.getvalue()


@pytest.mark.parametrize("member", ["../evil.jsonl", "/abs/evil.jsonl", "a/../../evil.jsonl"])
def test_zip_with_a_traversing_member_is_refused(
    client: TestClient, settings: Settings, tmp_path: Path, member: str
) -> None:
    response = upload(client, "papers.zip", evil_zip(member))
    assert response.status_code == 400 and "unsafe path" in response.json()["detail"]
    assert not list(tmp_path.rglob("evil.jsonl"))
    assert client.get("/api/batches").json() == []
    assert not list((settings.spool_dir / ".uploads").iterdir())  # upload folder cleaned


def test_zip_expanding_past_the_limit_is_refused(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, web_max_zip_bytes=50_000)
    app, token = app_with_token(settings)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.jsonl", b" " * 2_000_000)  # compresses to a few KB
    with TestClient(app) as c:
        response = c.post("/api/batches", headers={"Authorization": f"Bearer {token}"},
                          files=[("files", ("bomb.zip", buffer.getvalue()))])  # fmt: skip
    assert response.status_code == 413 and "expands" in response.json()["detail"]


def test_oversized_upload_is_refused_with_413(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, web_max_upload_bytes=4096)
    app, token = app_with_token(settings)
    with TestClient(app) as c:
        response = c.post("/api/batches", headers={"Authorization": f"Bearer {token}"},
                          files=[("files", ("big.jsonl", b"x" * 200_000))])  # fmt: skip
        assert response.status_code == 413
        assert c.get("/api/batches", headers={"Authorization": f"Bearer {token}"}).json() == []


def test_a_streamed_body_without_length_is_cut_off_with_413(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, web_max_upload_bytes=4096)
    app, token = app_with_token(settings)

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 10_000

    with TestClient(app) as c:
        response = c.post("/api/labels", content=chunks(),
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413 and "AMC_WEB_MAX_UPLOAD_BYTES" in response.text


def test_file_names_are_reduced_to_safe_names(client: TestClient, settings: Settings) -> None:
    response = upload(client, "../../../etc/x.jsonl", jsonl_bytes(sample_rows(2)))
    assert response.status_code == 201
    assert client.get("/api/batches").json()[0]["inputs"] == ["x.jsonl"]
    assert not (settings.spool_dir.parent.parent / "etc").exists()
    bad = upload(client, "run.exe", b"MZ")
    assert bad.status_code == 400 and "unsupported type" in bad.json()["detail"]


def test_bad_rows_and_unknown_telescopes_are_400(client: TestClient) -> None:
    assert upload(client, "bad.jsonl", b"{not json\n").status_code == 400
    unknown = upload(client, "p.jsonl", jsonl_bytes(sample_rows(1)), telescopes="NOPE")
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["detail"]
    assert client.get("/api/batches/nope/progress").status_code == 404
    assert client.get("/api/papers/999999").status_code == 404


# --- results, papers, labels -----------------------------------------------------------


def test_results_in_three_formats(client: TestClient) -> None:
    batch_id = submit_and_wait(client, "p.jsonl", jsonl_bytes(sample_rows(5)))
    n = client.get(f"/api/batches/{batch_id}/progress").json()["pairs"]
    csv_text = client.get(f"/api/batches/{batch_id}/results?format=csv").text
    assert (
        csv_text.startswith("Id,bibcode,telescope,science") and len(csv_text.splitlines()) == n + 1
    )
    jsonl = client.get(f"/api/batches/{batch_id}/results?format=jsonl")
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    assert len([json.loads(line) for line in jsonl.text.splitlines()]) == n
    kaggle = client.get(f"/api/batches/{batch_id}/results", params={"format": "kaggle"}).text
    assert kaggle.splitlines()[0] == "Id,telescope,science,instrumentation,mention,not_telescope"
    assert client.get(f"/api/batches/{batch_id}/results?format=xml").status_code == 422


def test_pair_detail_marks_the_verified_quotes(client: TestClient) -> None:
    batch_id = submit_and_wait(client, "p.jsonl", jsonl_bytes(sample_rows(3)))
    row = client.get(f"/api/batches/{batch_id}/rows", params={"label": "science"}).json()["rows"][0]
    paper = client.get(f"/api/papers/{row['paper_id']}").json()
    assert paper["bibcode"] == row["bibcode"] and paper["title"]
    assert row["pair_id"] in {p["pair_id"] for p in paper["pairs"]}
    pair = client.get(f"/api/pairs/{row['id']}").json()
    quotes = [e["quote"] for e in pair["classification"]["evidence"] if e["verified"]]
    marked = [p["text"][m["start"] : m["end"]] for p in pair["passages"] for m in p["marks"]
              if m["kind"] == "quote"]  # fmt: skip
    assert quotes and all(any(q in m for m in marked) for q in quotes)


def test_label_is_recorded_and_drives_the_review_filter(client: TestClient) -> None:
    batch_id = submit_and_wait(client, "p.jsonl", jsonl_bytes(sample_rows(6)))
    rows = client.get(f"/api/batches/{batch_id}/rows").json()["rows"]
    target = next(r for r in rows if r["labels"] and not r["input_differs"])
    wrong = {"science": False, "instrumentation": False, "mention": False, "not_telescope": True}
    body = {"bibcode": target["bibcode"], "telescope": target["telescope"].lower(),
            "labels": wrong, "note": "checked the PDF"}  # fmt: skip
    saved = client.post("/api/labels", json=body)
    assert saved.status_code == 201 and saved.json()["reviewer"] == "Ada Reviewer"
    human = store_of(client).latest_human_labels()[(target["bibcode"], target["telescope"])]
    assert human.labels == TelescopeLabels(**wrong) and human.note == "checked the PDF"
    flagged = client.get(f"/api/batches/{batch_id}/rows", params={"review": "corrected"}).json()
    assert target["pair_id"] in {r["pair_id"] for r in flagged["rows"]}
    pair = client.get(f"/api/pairs/{target['id']}").json()["result"]
    assert pair["review"]["reviewer"] == "Ada Reviewer" and pair["review_status"] == "corrected"
    bad = client.post("/api/labels", json={**body, "telescope": "NOPE"})
    assert bad.status_code == 400


def test_result_filters(client: TestClient) -> None:
    batch_id = submit_and_wait(client, "sample.jsonl", SAMPLE.read_bytes())
    url = f"/api/batches/{batch_id}/rows"
    total = client.get(url).json()["total"]
    hst = client.get(url, params={"telescope": "hst"}).json()
    assert 0 < hst["total"] < total and {r["telescope"] for r in hst["rows"]} == {"HST"}
    mention = client.get(url, params={"label": "mention"}).json()["rows"]
    assert mention and all(r["labels"]["mention"] for r in mention)
    sure = client.get(url, params={"min_confidence": 0.9}).json()["rows"]
    assert all(r["confidence"] >= 0.9 for r in sure) and len(sure) < total
    paged = client.get(url, params={"limit": 5, "offset": 5}).json()
    assert paged["total"] == total and len(paged["rows"]) == 5


# --- audit -----------------------------------------------------------------------------


def test_latest_audit_report(client: TestClient, settings: Settings) -> None:
    from datetime import UTC, datetime

    from eval.audit_report import write_audit_reports
    from eval.suspects import SuspectRow

    assert client.get("/api/audit/latest").status_code == 404
    suspect = SuspectRow(pair_id="2020X_HST", bibcode="2020X", telescope="HST", stored="mention",
                         suggested="science", score=0.91, cl_issue=True,
                         model_probs={"science": 0.9}, verdict="science", verdict_tier="rules",
                         evidence=[f"HST {XSS}"], reason="r")  # fmt: skip
    write_audit_reports(settings.audit_out_dir, [suspect], {"pairs": 1}, datetime.now(UTC))
    report = client.get("/api/audit/latest").json()
    assert report["report"].startswith("audit-") and report["suspects"][0]["score"] == 0.91
    login(client, client.token)  # type: ignore[attr-defined]
    page = client.get("/audit").text
    assert "2020X_HST" in page and XSS not in page and "&lt;script&gt;" in page


# --- pages: escaping, login, CSRF --------------------------------------------------------


def test_paper_text_is_rendered_escaped(client: TestClient) -> None:
    row = sample_rows(1)[0]
    row.update(title=f"Hubble {XSS} title", body=f"{row['body']} {XSS} <img src=x onerror=1>")
    batch_id = submit_and_wait(client, "xss.jsonl", jsonl_bytes([row]))
    row = client.get(f"/api/batches/{batch_id}/rows").json()["rows"][0]
    paper_id = row["paper_id"]
    login(client, client.token)  # type: ignore[attr-defined]
    for url in (f"/papers/{paper_id}", f"/batches/{batch_id}", f"/pairs/{row['id']}"):
        html = client.get(url).text
        assert XSS not in html and "<img src=x" not in html
    page = client.get(f"/papers/{paper_id}").text
    assert "Hubble &lt;script&gt;alert(1)&lt;/script&gt; title" in page
    assert "content-security-policy" in client.get(f"/papers/{paper_id}").headers


def test_highlight_escapes_before_marking() -> None:
    html = highlight("a <b>HST</b> & c", [(3, 6), (5, 12), (40, 50)])
    assert str(html) == 'a &lt;<mark class="quote">b&gt;HST&lt;/b&gt;</mark> &amp; c'
    assert merge_spans([(5, 3), (0, 2), (1, 4)], 10) == [(0, 4)]


def test_pages_need_login_and_label_posts_need_the_csrf_token(client: TestClient) -> None:
    batch_id = submit_and_wait(client, "p.jsonl", jsonl_bytes(sample_rows(4)))
    rows = client.get(f"/api/batches/{batch_id}/rows").json()["rows"]
    row = next(r for r in rows if r["labels"] and not r["labels"]["mention"])
    client.headers.pop("Authorization")
    assert client.get("/batches", follow_redirects=False).headers["location"] == "/login"
    form_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/login").text)
    assert form_csrf is not None
    wrong = client.post("/login", data={"token": "amc_wrong", "csrf": form_csrf[1]})
    assert wrong.status_code == 401
    assert client.post("/login", data={"token": client.token}).status_code == 403  # type: ignore[attr-defined]
    csrf = login(client, client.token)  # type: ignore[attr-defined]
    cookie = client.cookies.get("amc_session")
    assert cookie and client.token not in cookie  # type: ignore[attr-defined]
    url = f"/pairs/{row['id']}"
    form = {"action": "correct", "mention": "on", "note": "n"}
    assert client.post(f"{url}/decide", data=form).status_code == 403
    done = client.post(f"{url}/decide", data={**form, "csrf": csrf})
    assert done.status_code == 200 and "corrected</span> by <strong>Ada Reviewer</strong>" in (
        client.get(url).text
    )
    human = store_of(client).latest_human_labels()[(row["bibcode"], row["telescope"])]
    assert human.labels == TelescopeLabels(mention=True) and human.reviewer == "Ada Reviewer"


def test_session_cookie_flags(client: TestClient) -> None:
    client.headers.pop("Authorization")
    page = client.get("/login")
    assert "httponly" in page.headers["set-cookie"].lower()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = client.post("/login", data={**fields, "token": client.token}, follow_redirects=False)  # type: ignore[attr-defined]
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "amc_session=" in cookie


def test_upload_page_submits_a_batch(client: TestClient) -> None:
    csrf = login(client, client.token)  # type: ignore[attr-defined]
    files = [("files", ("p.jsonl", jsonl_bytes(sample_rows(2))))]
    response = client.post("/upload", data={"csrf": csrf, "telescopes": ""}, files=files,
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"].startswith("/batches/")
    batch_id = response.headers["location"].rsplit("/", 1)[-1]
    wait_finished(store_of(client), batch_id)
    assert client.get(f"/batches/{batch_id}/progress.json").json()["finished"]
    assert '<table class="results">' in client.get(f"/batches/{batch_id}").text


def test_auto_mode_runs_embedded_when_no_broker_answers(tmp_path: Path) -> None:
    settings = web_settings(tmp_path, web_workers="auto", broker_url="redis://127.0.0.1:1/0")
    runner = BatchRunner(Store.__new__(Store), settings)
    assert runner.mode() == "embedded"
    runner.close()
