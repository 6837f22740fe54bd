"""Reviewing bibliography links through HTTP (TestClient, SQLite in tmp_path): the pair
view lists a pair's links with their evidence, a reviewer adds and removes links (API
and page forms, same auth rules as labels), and the downloads carry the final links.

The store's side on both databases is in ``test_store_link_edits.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from link_papers import PAPERS
from webapp import api_client, login, wait_finished, web_settings

from amc.settings import Settings
from amc.store import Store

PLANET = ("2024AJ....2..2B", "HST")
CLUSTER_HST = ("2024ApJ...1..1A", "HST")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return web_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with api_client(settings) as c:
        c.csrf = login(c, c.token)  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def batch(client: TestClient) -> str:
    data = "".join(json.dumps(p) + "\n" for p in PAPERS).encode()
    response = client.post("/api/batches", files=[("files", ("papers.jsonl", data))])
    assert response.status_code == 201, response.text
    batch_id = str(response.json()["batch_id"])
    wait_finished(_store(client), batch_id)
    return batch_id


def _store(client: TestClient) -> Store:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    return store


def _result_id(client: TestClient, batch: str, pair: tuple[str, str]) -> int:
    rows = client.get(f"/api/batches/{batch}/rows", params={"limit": 100}).json()["rows"]
    return int(next(r["id"] for r in rows if (r["bibcode"], r["telescope"]) == pair))


def _links(client: TestClient, batch: str, pair: tuple[str, str]) -> dict[str, Any]:
    got = client.get(f"/api/pairs/{_result_id(client, batch, pair)}")
    assert got.status_code == 200, got.text
    links: dict[str, Any] = got.json()["bibliography_links"]
    return links


def _final(links: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["value"], r["source"]) for r in links["final"]}


def _edit(client: TestClient, path: str, kind: str, value: str, **extra: Any) -> Any:
    body = {"bibcode": PLANET[0], "telescope": PLANET[1], "kind": kind, "value": value, **extra}
    return client.post(path, json=body)


def test_the_pair_view_lists_links_with_their_quotes(client: TestClient, batch: str) -> None:
    links = _links(client, batch, PLANET)
    assert links["applies"] is True
    assert _final(links) == {
        ("instrument", "WFC3", "rules"), ("instrument", "STIS", "rules"),
        ("programme", "HST:15000", "rules"), ("programme", "HST:15001", "rules"),
        ("grant", "HST:16543", "rules"),
    }  # fmt: skip
    wfc3 = next(r for r in links["final"] if r["value"] == "WFC3")
    assert wfc3["field"] == "body" and wfc3["verified"] is True
    body = PAPERS[2]["body"]
    assert body[wfc3["start"] : wfc3["end"]] == wfc3["quote"] and "WFC3" in wfc3["quote"]
    page = client.get(f"/pairs/{_result_id(client, batch, PLANET)}")
    assert page.status_code == 200
    assert 'data-value="HST:15000" data-source="rules"' in page.text
    assert '<mark class="link' in page.text  # the quote is marked in the evidence
    assert 'id="add-link"' in page.text and 'id="no-links"' not in page.text


def test_a_pair_not_labelled_science_says_it_has_no_links(client: TestClient, batch: str) -> None:
    links = _links(client, batch, CLUSTER_HST)
    assert links == {"applies": False, "final": [], "removed": []}
    page = client.get(f"/pairs/{_result_id(client, batch, CLUSTER_HST)}").text
    assert 'id="no-links"' in page and "only pairs whose final label is science" in page
    assert 'id="add-link"' not in page
    refused = client.post("/api/links", json={"bibcode": CLUSTER_HST[0], "telescope": "HST",
                                              "kind": "instrument", "value": "ACS"})  # fmt: skip
    assert refused.status_code == 409 and "not labelled science" in refused.text


def test_a_reviewer_adds_removes_and_restores_links(client: TestClient, batch: str) -> None:
    added = _edit(client, "/api/links", "instrument", " cos ", note="spectra in sec. 3")
    assert added.status_code == 201, added.text
    assert added.json()["value"] == "COS" and added.json()["reviewer"] == "Ada Reviewer"
    assert _edit(client, "/api/links", "programme", "GO-16000").json()["value"] == "HST:16000"
    doi = _edit(client, "/api/links", "doi", "https://doi.org/10.17909/ABCD-1234")
    assert doi.json()["value"] == "10.17909/abcd-1234"
    removed = _edit(client, "/api/links/remove", "instrument", "stis")  # as written
    assert removed.status_code == 201 and removed.json()["value"] == "STIS"

    links = _links(client, batch, PLANET)
    final = _final(links)
    assert ("instrument", "COS", "reviewer") in final
    assert ("programme", "HST:16000", "reviewer") in final
    assert ("doi", "10.17909/abcd-1234", "reviewer") in final
    assert ("instrument", "STIS", "rules") not in final
    assert [(r["value"], r["edit"]["action"]) for r in links["removed"]] == [("STIS", "remove")]
    cos = next(r for r in links["final"] if r["value"] == "COS")
    assert cos["quote"] == "" and cos["edit"]["note"] == "spectra in sec. 3"

    assert _edit(client, "/api/links", "instrument", "STIS").status_code == 201  # re-add
    assert _edit(client, "/api/links/remove", "grant", "HST:16543").status_code == 201
    assert _edit(client, "/api/links", "grant", "HST:16543").status_code == 201  # restored
    assert _edit(client, "/api/links/remove", "instrument", "COS").status_code == 201
    final = _final(_links(client, batch, PLANET))
    assert ("instrument", "STIS", "rules") in final  # the model's link, with its quote
    assert ("grant", "HST:16543", "rules") in final
    assert not any(v == "COS" for _, v, _ in final)
    history = client.get("/api/links/history", params={"bibcode": PLANET[0], "telescope": "hst"})
    assert [(e["action"], e["value"]) for e in history.json()] == [
        ("remove", "COS"), ("add", "HST:16543"), ("remove", "HST:16543"), ("add", "STIS"),
        ("remove", "STIS"),
        ("add", "10.17909/abcd-1234"), ("add", "HST:16000"), ("add", "COS"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "kind", "value", "status", "message"),
    [
        ("/api/links", "instrument", "NIRSpec", 400, "not an instrument of HST"),
        ("/api/links", "programme", "twelve", 400, "not a programme id of HST"),
        ("/api/links", "programme", "JWST:2110", 400, "names JWST, not HST"),
        ("/api/links", "doi", "10.17909", 400, "is not a DOI"),
        ("/api/links", "obsid", "1234", 400, "no obsid ids for HST"),
        ("/api/links", "grant", "HST:1", 400, "adds links of kind"),
        ("/api/links", "instrument", "WFC3", 409, "already has the instrument link WFC3"),
        ("/api/links/remove", "instrument", "ACS", 409, "its instrument links: WFC3, STIS"),
    ],
)
def test_edits_that_are_not_links_are_refused_with_a_reason(
    client: TestClient, batch: str, path: str, kind: str, value: str, status: int, message: str
) -> None:
    refused = _edit(client, path, kind, value)
    assert refused.status_code == status, refused.text
    assert message in refused.json()["detail"]
    assert client.get("/api/links/history", params={"bibcode": PLANET[0],
                                                    "telescope": "HST"}).json() == []  # fmt: skip


def test_unknown_pairs_foreign_reviewers_and_missing_tokens_are_refused(
    client: TestClient, batch: str
) -> None:
    unknown = client.post("/api/links", json={"bibcode": "2099XX...1..1Z", "telescope": "HST",
                                              "kind": "instrument", "value": "WFC3"})  # fmt: skip
    assert unknown.status_code == 404 and "no batch has classified" in unknown.text
    assert _edit(client, "/api/links", "instrument", "COS", reviewer="Eve").status_code == 422
    anonymous = TestClient(client.app).post(
        "/api/links", json={**dict(zip(("bibcode", "telescope"), PLANET, strict=True)),
                            "kind": "instrument", "value": "COS"})  # fmt: skip
    assert anonymous.status_code == 401
    assert ("instrument", "COS", "reviewer") not in _final(_links(client, batch, PLANET))


def test_the_page_forms_edit_links_with_the_session_csrf(client: TestClient, batch: str) -> None:
    rid = _result_id(client, batch, PLANET)
    form = {"action": "add", "kind": "programme", "value": "15002", "label": "science"}
    no_csrf = client.post(f"/pairs/{rid}/links", data=form, follow_redirects=False)
    assert no_csrf.status_code == 403
    done = client.post(f"/pairs/{rid}/links", data={**form, "csrf": client.csrf},  # type: ignore[attr-defined]
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/pairs/{rid}?label=science#links"
    page = client.get(f"/pairs/{rid}").text
    assert 'data-value="HST:15002" data-source="reviewer"' in page and "Ada Reviewer" in page
    bad = client.post(f"/pairs/{rid}/links", data={**form, "kind": "instrument", "value": "MIRI",
                                                   "csrf": client.csrf})  # type: ignore[attr-defined]  # fmt: skip
    assert bad.status_code == 400 and "Link not saved" in bad.text and "MIRI" in bad.text
    removed = client.post(f"/pairs/{rid}/links", data={"action": "remove", "kind": "programme",
                                                       "value": "HST:15002",
                                                       "csrf": client.csrf})  # type: ignore[attr-defined]  # fmt: skip
    assert removed.status_code == 200  # followed the redirect back to the pair
    assert 'data-value="HST:15002"' not in removed.text


def test_downloads_carry_the_final_links(client: TestClient, batch: str) -> None:
    assert _edit(client, "/api/links", "programme", "HST:16000").status_code == 201
    assert _edit(client, "/api/links/remove", "instrument", "STIS").status_code == 201
    planet = "_".join(PLANET)

    table = list(csv.DictReader(io.StringIO(client.get(
        f"/api/batches/{batch}/bibliography", params={"telescope": "HST"}).text)))  # fmt: skip
    row = next(r for r in table if r["Id"] == planet)
    assert row["instruments"] == "WFC3"
    assert row["programmes"] == "HST:15000;HST:15001;HST:16000"
    assert (row["obsids"], row["dois"]) == ("", "")
    cluster = next(r for r in table if r["Id"] == "_".join(CLUSTER_HST))
    assert cluster["instruments"] == ""

    results = list(csv.DictReader(io.StringIO(
        client.get(f"/api/batches/{batch}/results?format=csv").text)))  # fmt: skip
    got = next(r for r in results if r["Id"] == planet)
    assert got["instruments"] == "WFC3" and got["programmes"].endswith(";HST:16000")
    assert got["link_edits"] == "+programme:HST:16000;-instrument:STIS"
    assert "instrument:STIS" in got["model_links"].split(";")
    chandra = next(r for r in results if r["telescope"] == "CHANDRA")
    assert chandra["obsids"] == "CHANDRA:4977;CHANDRA:6101;CHANDRA:10437"

    lines = client.get(f"/api/batches/{batch}/results?format=jsonl").text.splitlines()
    record = next(json.loads(x) for x in lines if planet in x)
    assert "STIS" in [link["value"] for link in record["links"]]  # the model's, kept
    assert record["instruments"] == "WFC3" and record["link_edits"].startswith("+programme")

    model = client.get(f"/api/batches/{batch}/results", params={"labels": "model"}).text
    got = next(r for r in csv.DictReader(io.StringIO(model)) if r["Id"] == planet)
    assert got["instruments"] == "WFC3;STIS" and "link_edits" not in got


def test_a_demoted_pair_loses_its_links_in_the_bibliography(client: TestClient, batch: str) -> None:
    body = {"bibcode": PLANET[0], "telescope": "HST", "labels": {"mention": True}}
    assert client.post("/api/labels", json=body).status_code == 201
    assert _links(client, batch, PLANET)["applies"] is False
    table = csv.DictReader(io.StringIO(client.get(f"/api/batches/{batch}/bibliography").text))
    row = next(r for r in table if r["Id"] == "_".join(PLANET))
    assert row["labels"] == "mention" and row["instruments"] == row["programmes"] == ""
