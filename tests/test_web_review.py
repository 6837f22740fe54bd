"""The librarian's review workbench through HTTP (TestClient, SQLite in tmp_path): the
defects of issue 13 (each first seen failing on the old code), the review queue, bulk
accept, reviewer labels as first-class data, and the bibliography of record.

The browser side (keyboard-only review, screenshots, 390 px) is in
``test_web_browser.py``; the store's queries alone in ``test_store_review.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pdfgen import PaperSpec, two_column_paper
from webapp import (
    SAMPLE,
    api_client,
    app_with_token,
    csrf_of,
    login,
    wait_finished,
    web_settings,
)

from amc.settings import Settings
from amc.store import Store

SCIENCE = {"science": True, "instrumentation": False, "mention": False, "not_telescope": False}
MENTION = {"science": False, "instrumentation": False, "mention": True, "not_telescope": False}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return web_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An API client (bearer token) that is also logged in to the pages."""
    with api_client(settings) as c:
        c.csrf = login(c, c.token)  # type: ignore[attr-defined]
        yield c


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    return store


def submit(client: TestClient, name: str, data: bytes, **form: Any) -> str:
    response = client.post("/api/batches", files=[("files", (name, data))], data=form)
    assert response.status_code == 201, response.text
    batch_id = str(response.json()["batch_id"])
    wait_finished(store_of(client), batch_id)
    return batch_id


@pytest.fixture
def batch(client: TestClient) -> str:
    """The bundled sample (57 pairs with input labels) as a finished batch."""
    return submit(client, "sample.jsonl", SAMPLE.read_bytes())


def rows(client: TestClient, batch_id: str, **params: Any) -> list[dict[str, Any]]:
    page = client.get(f"/api/batches/{batch_id}/rows", params={"limit": 1000, **params})
    assert page.status_code == 200, page.text
    found: list[dict[str, Any]] = page.json()["rows"]
    return found


def label(client: TestClient, row: dict[str, Any], labels: dict[str, bool], note: str = "") -> Any:
    """Record ``labels`` for the pair of ``row`` through the API."""
    body = {"bibcode": row["bibcode"], "telescope": row["telescope"], "labels": labels,
            "note": note}  # fmt: skip
    return client.post("/api/labels", json=body)


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


# --- 1. the defects of the issue -------------------------------------------------------


def test_filter_form_with_empty_boxes_answers_the_page_and_the_rows(
    client: TestClient, batch: str
) -> None:
    """The form as shipped sends every box, filled or not: empty means no filter (the old
    code answered 422 unless both confidence boxes were filled)."""
    empty = {"telescope": "", "label": "", "min_confidence": "", "max_confidence": "",
             "input": "", "review": "", "sort": ""}  # fmt: skip
    page = client.get(f"/batches/{batch}", params=empty)
    assert page.status_code == 200, page.text[:300]
    api = client.get(f"/api/batches/{batch}/rows", params=empty)
    assert api.status_code == 200 and api.json()["total"] == 57
    one = client.get(f"/api/batches/{batch}/rows", params={**empty, "min_confidence": "0.9"})
    assert all(r["confidence"] >= 0.9 for r in one.json()["rows"]) and one.json()["total"] < 57
    band = client.get(f"/api/batches/{batch}/rows", params={"min_confidence": 0.9,
                                                            "max_confidence": 0.2})  # fmt: skip
    assert band.status_code == 422 and "above" in band.text


def test_corrections_reach_every_download(client: TestClient, batch: str) -> None:
    """A reviewer's correction is the label of record in CSV, JSONL and Kaggle, with its
    source, reviewer and time, and the model's own labels kept beside it."""
    target = next(r for r in rows(client, batch) if r["labels"] == SCIENCE)
    body = {"bibcode": target["bibcode"], "telescope": target["telescope"], "labels": MENTION,
            "note": "only cited"}  # fmt: skip
    assert client.post("/api/labels", json=body).status_code == 201

    csv_rows = list(csv.DictReader(io.StringIO(
        client.get(f"/api/batches/{batch}/results?format=csv").text)))  # fmt: skip
    got = next(r for r in csv_rows if r["Id"] == target["pair_id"])
    assert (got["science"], got["mention"]) == ("False", "True")
    assert got["label_source"] == "reviewer" and got["reviewer"] == "Ada Reviewer"
    assert got["reviewed_at"] and got["review_note"] == "only cited"
    assert (got["model_science"], got["model_mention"]) == ("True", "False")
    others = [r for r in csv_rows if r["Id"] != target["pair_id"]]
    assert {r["label_source"] for r in others} == {"model"}

    lines = client.get(f"/api/batches/{batch}/results?format=jsonl").text.splitlines()
    record = next(json.loads(x) for x in lines if target["pair_id"] in x)
    assert record["labels"]["mention"] and not record["labels"]["science"]
    assert record["label_source"] == "reviewer" and record["model_science"] is True

    kaggle = client.get(f"/api/batches/{batch}/results?format=kaggle").text
    line = next(x for x in kaggle.splitlines() if x.startswith(target["pair_id"] + ","))
    assert line.endswith("False,False,True,False")

    model = client.get(f"/api/batches/{batch}/results", params={"labels": "model"}).text
    assert "label_source" not in model.splitlines()[0]


def test_every_pair_is_reachable_by_paging(client: TestClient) -> None:
    """600 pairs, pages of 200 on the batch page and of 250 through the API: every pair
    once (the old page showed the first 500 and ignored ``offset``)."""
    records = [
        {"bibcode": f"2024PAGE{i:04d}", "telescope": telescope, "title": f"Paper {i}",
         "body": f"We observed target {i} with the Hubble Space Telescope (WFC3/UVIS) and "
                 f"JWST NIRSpec in programme GO {1000 + i}."}
        for i in range(300) for telescope in ("HST", "JWST")
    ]  # fmt: skip
    batch = submit(client, "many.jsonl", jsonl(records))
    pair_cell = r'<a href="/pairs/\d+[^"]*">(2024PAGE\d{4})</a>\s*</td>\s*<td>(\w+)'
    typed: list[str] = []
    for page in (1, 2, 3, 4):
        html = client.get(f"/batches/{batch}", params={"page": page, "per_page": 200}).text
        typed += re.findall(pair_cell, html)  # type: ignore[arg-type]
    assert len(typed) == 600 and len(set(typed)) == 600
    followed: list[str] = []  # Next links go from the last pair of a page (keyset)
    url: str | None = f"/batches/{batch}?per_page=200"
    while url is not None:
        html = client.get(url).text
        followed += re.findall(pair_cell, html)  # type: ignore[arg-type]
        link = re.search(r'<a rel="next" href="\?([^"]+)"', html)
        url = f"/batches/{batch}?{link[1].replace('&amp;', '&')}" if link else None
    assert followed == typed
    back = re.search(r'<a rel="prev" href="\?([^"]+)"', html)
    assert back is not None and "before=" in back[1]
    previous = client.get(f"/batches/{batch}?{back[1].replace('&amp;', '&')}").text
    assert re.findall(pair_cell, previous) == typed[200:400]
    via_api = [r["pair_id"] for off in (0, 250, 500) for r in
               client.get(f"/api/batches/{batch}/rows",
                          params={"limit": 250, "offset": off}).json()["rows"]]  # fmt: skip
    assert len(via_api) == len(set(via_api)) == 600
    first = client.get(f"/api/batches/{batch}/rows", params={"limit": 300}).json()["rows"]
    after = {"limit": 300, "after": first[-1]["id"]}
    rest = client.get(f"/api/batches/{batch}/rows", params=after).json()
    assert [r["pair_id"] for r in first + rest["rows"]] == via_api and rest["total"] == 600


@pytest.mark.parametrize(
    ("ticked", "message"),
    [
        ({"science": True, "not_telescope": True}, "cannot go together"),
        ({"mention": True, "not_telescope": True}, "cannot go together"),
        ({"instrumentation": True, "mention": True}, "cannot go together"),
        ({}, "no label ticked"),
    ],
)
def test_labels_breaking_the_precedence_are_refused(
    client: TestClient, batch: str, ticked: dict[str, bool], message: str
) -> None:
    """Refused with a message, by the API and by the page, and nothing is stored (the old
    code saved science + not_telescope as science, and nothing ticked as "none")."""
    target = next(r for r in rows(client, batch) if r["telescope"] != "NONE")
    body = {"bibcode": target["bibcode"], "telescope": target["telescope"], "labels": ticked}
    api = client.post("/api/labels", json=body)
    assert api.status_code == 422 and message in api.json()["detail"]
    form = {"csrf": client.csrf, "action": "correct", **dict.fromkeys(ticked, "on")}  # type: ignore[attr-defined]
    page = client.post(f"/pairs/{target['id']}/decide", data=form)
    assert page.status_code == 422 and message in page.text
    assert store_of(client).review_history(target["bibcode"], target["telescope"]) == []


def test_a_none_pair_may_be_all_false(client: TestClient, batch: str) -> None:
    target = next(r for r in rows(client, batch) if r["telescope"] == "NONE")
    body = {"bibcode": target["bibcode"], "telescope": "NONE", "labels": {}}
    assert client.post("/api/labels", json=body).status_code == 201


def test_the_reviewer_is_the_token_holder_never_the_body(client: TestClient, batch: str) -> None:
    target = rows(client, batch)[0]
    body = {"bibcode": target["bibcode"], "telescope": target["telescope"], "labels": MENTION}
    named = client.post("/api/labels", json={**body, "reviewer": "Somebody Else"})
    assert named.status_code == 422 and "reviewer" in named.text
    saved = client.post("/api/labels", json=body)
    assert saved.status_code == 201 and saved.json()["reviewer"] == "Ada Reviewer"
    review = store_of(client).current_review(target["bibcode"], target["telescope"])
    assert review is not None and review.reviewer == "Ada Reviewer" and review.token_id


def test_labels_for_unknown_pairs_are_refused(client: TestClient, batch: str) -> None:
    known = rows(client, batch)[0]
    unknown = client.post("/api/labels", json={"bibcode": "1999NOPE..1..1X", "telescope": "HST",
                                               "labels": SCIENCE})  # fmt: skip
    assert unknown.status_code == 404 and "no batch has classified" in unknown.json()["detail"]
    other = "JWST" if known["telescope"] != "JWST" else "HST"
    pairs = {(r["bibcode"], r["telescope"]) for r in rows(client, batch)}
    if (known["bibcode"], other) not in pairs:
        body = {"bibcode": known["bibcode"], "telescope": other, "labels": SCIENCE}
        assert client.post("/api/labels", json=body).status_code == 404
    bad = client.post("/api/labels", json={"bibcode": known["bibcode"], "telescope": "NOPE",
                                           "labels": SCIENCE})  # fmt: skip
    assert bad.status_code == 400 and "NOPE" in bad.json()["detail"]
    assert store_of(client).latest_human_labels() == {}


def test_table_and_pair_page_show_the_same_confidence(client: TestClient, batch: str) -> None:
    """One confidence (the decision's weakest label call), the same number on both pages,
    explained on the pair page next to each label's probability."""
    for row in rows(client, batch)[:8]:
        if row["confidence"] is None:
            continue
        shown = f"{row['confidence']:.2f}"
        table = client.get(f"/batches/{batch}", params={"per_page": 200}).text
        line = re.search(rf'href="/pairs/{row["id"]}(?:\?[^"]*)?".*?<td class="num">([\d.]+)</td>',
                         table, re.S)  # fmt: skip
        assert line is not None and line[1] == shown
        pair = client.get(f"/pairs/{row['id']}").text
        assert f"Confidence {shown}</strong>" in pair and "least certain label call" in pair
        assert (
            client.get(f"/api/pairs/{row['id']}").json()["result"]["confidence"]
            == row["confidence"]
        )


def test_own_correction_is_not_shown_as_a_disagreement_with_the_input(
    client: TestClient, batch: str
) -> None:
    """Input labels (from the file) and reviewer labels are shown and filtered apart: a
    correction of a pair whose model labels agree with the input is "corrected", not
    "disagrees" (the old code compared the model with the reviewer's label)."""
    target = next(r for r in rows(client, batch) if not r["input_differs"] and r["labels"])
    wrong = MENTION if not target["labels"]["mention"] else SCIENCE
    label(client, target, wrong)
    differs = {r["pair_id"] for r in rows(client, batch, input="disagree")}
    corrected = {r["pair_id"] for r in rows(client, batch, review="corrected")}
    assert target["pair_id"] not in differs and target["pair_id"] in corrected
    after = next(r for r in rows(client, batch) if r["pair_id"] == target["pair_id"])
    assert after["review_status"] == "corrected" and after["input_differs"] is False
    assert after["final_labels"] == wrong and after["label_source"] == "reviewer"
    page = client.get(f"/pairs/{target['id']}").text
    assert "agree with the model" in page and "corrected</span> by" in page


LATEX_BODY = (
    "1. Introduction\n\nWe measured the spectrum between 1.1 and 1.7 $\\mu$m~\\citep{smith2020} "
    "< g r a p h i c s > "
    + "and the continuum rises steadily towards the red end of the band " * 400
    + "where the Hubble Space Telescope WFC3 grism data of programme GO 14915 show water "
    + "absorption at $\\sim$3$\\sigma$ " * 3
    + "and then the discussion continues without any sentence break at all " * 300
)


def test_evidence_is_short_marked_clean_and_linked(client: TestClient) -> None:
    """A 40,000-character window without sentence breaks shows as short excerpts around
    the telescope's terms, marked; LaTeX leftovers are shown readably while the stored
    text is unchanged; the paper links to ADS; the reason reads as prose."""
    record = {"bibcode": "2024ApJ...961..101A", "telescope": "HST", "year": 2024,
              "title": "Water on a hot Jupiter", "author": "Ann Smith; Bob Jones",
              "body": LATEX_BODY}  # fmt: skip
    batch = submit(client, "latex.jsonl", jsonl([record]))
    row = rows(client, batch)[0]
    pair = client.get(f"/api/pairs/{row['id']}").json()
    passages = pair["passages"]
    assert passages and max(len(p["text"]) for p in passages) <= 1200
    terms = [p["text"][m["start"]:m["end"]] for p in passages for m in p["marks"]
             if m["kind"] == "term"]  # fmt: skip
    assert {"Hubble Space Telescope", "WFC3"} <= set(terms)
    assert pair["title"] == "Water on a hot Jupiter" and pair["year"] == 2024
    page = client.get(f"/pairs/{row['id']}").text
    assert re.search(r'<mark class="[a-z ]*\bterm\b[a-z ]*">Hubble Space Telescope</mark>', page)
    assert "~3σ" in page and "$\\sim$" not in page
    assert "cues near hits" not in page and "Science: the paper uses" in page
    stored = next(iter(store_of(client).iter_results(batch)))
    assert stored.bibcode == "2024ApJ...961..101A"
    assert "ui.adsabs.harvard.edu/abs/2024ApJ...961..101A/abstract" in page


def test_latex_leftovers_are_cleaned_for_display_only(client: TestClient) -> None:
    body = ("The spectra from 1.1--1.7 $\\mu$m were taken with HST~WFC3 \\citep{a2019,b2020}. "
            "< g r a p h i c s > We observed with HST.")  # fmt: skip
    batch = submit(client, "tex.jsonl", jsonl([{"bibcode": "2024TEX.....1B", "telescope": "HST",
                                                 "body": body}]))  # fmt: skip
    row = rows(client, batch)[0]
    page = client.get(f"/pairs/{row['id']}").text
    assert "1.1–1.7 µm" in page and "[a2019, b2020]" in page and "[figure]" in page
    assert "< g r a p h i c s >" not in page and "\\citep" not in page
    api = client.get(f"/api/pairs/{row['id']}").json()
    assert any("$\\mu$m" in p["text"] for p in api["passages"])  # the data keep the source


def test_pdf_passages_carry_page_numbers(client: TestClient) -> None:
    """A PDF's passages say on which page they are: the planted sentence sits on page 3."""
    filler = "The light curve model and the residual noise were fitted again. " * 40
    spec = PaperSpec(
        abstract="We present a planted transit analysis.",
        acknowledgments="We thank the planted referee.",
        sections=[
            ("Introduction", [filler] * 12),
            (
                "Observations",
                [
                    "We observed the transit with the Hubble Space Telescope "
                    "WFC3 grism in programme GO 15001."
                ],
            ),
        ],
    )
    batch = submit(client, "planted.pdf", two_column_paper(spec), telescopes="HST")
    row = rows(client, batch)[0]
    pair = client.get(f"/api/pairs/{row['id']}").json()
    planted = [p for p in pair["passages"] if "GO 15001" in p["text"]]
    assert planted and planted[0]["pages"] is not None and planted[0]["pages"][0] >= 2, planted
    page = planted[0]["pages"][0]
    assert f"body · p. {page}" in client.get(f"/pairs/{row['id']}").text


# --- 2. the review queue ----------------------------------------------------------------


def test_queue_starts_least_confident_and_saves_each_action(client: TestClient, batch: str) -> None:
    ordered = rows(client, batch, label="science")
    confidences = [r["confidence"] for r in ordered]
    assert confidences == sorted(confidences)
    start = client.get(f"/batches/{batch}/review", params={"label": "science",
                                                            "review": "unreviewed"},
                       follow_redirects=False)  # fmt: skip
    assert start.status_code == 303
    assert start.headers["location"].startswith(f"/pairs/{ordered[0]['id']}?")
    page = client.get(start.headers["location"]).text
    assert f"pair 1 of {len(ordered)}" in page and f"0 of {len(ordered)} reviewed" in page
    form = {"csrf": csrf_of(page), "action": "accept", "label": "science", "review": "unreviewed"}
    moved = client.post(f"/pairs/{ordered[0]['id']}/decide", data=form, follow_redirects=False)
    assert moved.headers["location"].startswith(f"/pairs/{ordered[1]['id']}?")
    assert f"last={ordered[0]['id']}" in moved.headers["location"]
    second = client.get(moved.headers["location"]).text
    assert f"1 of {len(ordered)} reviewed" in second and "u</kbd> undoes it" in second
    assert f'href="/pairs/{ordered[0]["id"]}?' in second  # previous: the pair just reviewed
    review = store_of(client).current_review(ordered[0]["bibcode"], ordered[0]["telescope"])
    assert review is not None and review.action == "accept"
    progress = client.get(f"/api/batches/{batch}/review-progress").json()
    assert progress == {"total": 57, "reviewed": 1, "by_reviewer": {"Ada Reviewer": 1}}


def test_enter_in_the_note_cannot_submit_an_action(client: TestClient, batch: str) -> None:
    """The form's first submit button (what Enter in a text box presses) is disabled: the
    old form's first button was "Accept model labels"."""
    page = client.get(f"/pairs/{rows(client, batch)[0]['id']}").text
    form = page[page.index('<form method="post" action="/pairs/') :]
    first = re.search(r"<button[^>]*>", form)
    assert first is not None and "disabled" in first[0] and 'type="submit"' in first[0]


def test_undo_restores_the_previous_state_and_history_keeps_everything(
    client: TestClient, batch: str
) -> None:
    row = next(r for r in rows(client, batch) if r["labels"] == SCIENCE)
    pair = {"bibcode": row["bibcode"], "telescope": row["telescope"]}
    client.post("/api/labels", json={**pair, "labels": SCIENCE, "note": "checked"})
    client.post("/api/labels", json={**pair, "labels": MENTION, "note": "second look"})
    undone = client.post("/api/labels/undo", json=pair).json()
    assert undone["review"]["labels"] == SCIENCE and undone["review"]["action"] == "accept"
    assert client.post("/api/labels/undo", json=pair).json()["review"] is None
    assert client.post("/api/labels/undo", json=pair).status_code == 422
    history = client.get("/api/labels/history", params=pair).json()
    assert [h["action"] for h in history] == ["undo", "undo", "correct", "accept"]
    assert history[2]["note"] == "second look" and history[0]["labels"] is None
    page = client.get(f"/pairs/{row['id']}").text
    assert page.count("<td>Ada Reviewer</td>") == 4 and "second look" in page
    after = next(r for r in rows(client, batch) if r["id"] == row["id"])
    assert after["review"] is None and after["label_source"] == "model"


def test_undo_from_the_page_takes_back_the_last_save(client: TestClient, batch: str) -> None:
    first, second = rows(client, batch)[:2]
    form = {"csrf": client.csrf, "action": "accept"}  # type: ignore[attr-defined]
    client.post(f"/pairs/{first['id']}/decide", data=form)
    back = client.post(f"/pairs/{second['id']}/decide",
                       data={**form, "action": "undo", "undo_id": first["id"]},
                       follow_redirects=False)  # fmt: skip
    assert back.headers["location"].startswith(f"/pairs/{first['id']}?")
    assert store_of(client).current_review(first["bibcode"], first["telescope"]) is None


# --- 4. bulk accept -----------------------------------------------------------------------


def test_bulk_accept_of_a_view_after_confirmation(client: TestClient, batch: str) -> None:
    view = {"label": "science", "min_confidence": "0.5"}
    reviewed = rows(client, batch, **view)[0]
    label(client, reviewed, MENTION)
    expected = len(rows(client, batch, **view)) - 1
    confirm = client.get(f"/batches/{batch}/accept", params=view).text
    assert f"Accept {expected} pair(s)" in confirm and "model label science" in confirm
    form = {**view, "csrf": csrf_of(confirm), "expected": expected + 1}
    stale = client.post(f"/batches/{batch}/accept", data=form)
    assert stale.status_code == 409 and "look at it again" in stale.text
    done = client.post(f"/batches/{batch}/accept", data={**form, "expected": expected},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and f"accepted={expected}" in done.headers["location"]
    after = rows(client, batch, **view)
    assert all(r["review"] is not None for r in after)
    bulk = [r for r in after if r["review"]["action"] == "bulk_accept"]
    assert len(bulk) == expected and {r["review"]["reviewer"] for r in bulk} == {"Ada Reviewer"}
    kept = next(r for r in after if r["id"] == reviewed["id"])
    assert kept["review"]["labels"] == MENTION  # a reviewed pair keeps its label
    again = client.post(f"/api/batches/{batch}/accept", json={**view, "expected": 0})
    assert again.status_code == 200 and again.json()["accepted"] == 0


# --- 6. the bibliography of record ----------------------------------------------------------


def test_bibliography_per_telescope_uses_the_final_labels(client: TestClient, batch: str) -> None:
    hst = rows(client, batch, telescope="HST")
    science = [r for r in hst if r["labels"] and r["labels"]["science"]]
    demoted, promoted = science[0], next(r for r in hst if r["labels"] == MENTION)
    label(client, demoted, MENTION)
    label(client, promoted, SCIENCE)
    text = client.get(f"/api/batches/{batch}/bibliography",
                      params={"telescope": "hst", "format": "txt"}).text  # fmt: skip
    listed = text.split()
    assert promoted["bibcode"] in listed and demoted["bibcode"] not in listed
    finals = [r["final_labels"] for r in rows(client, batch, telescope="HST")]
    expected = {r["bibcode"] for r, f in zip(hst, finals, strict=True)
                if f and (f["science"] or f["instrumentation"])}  # fmt: skip
    assert set(listed) == expected
    table = list(csv.DictReader(io.StringIO(client.get(
        f"/api/batches/{batch}/bibliography", params={"telescope": "HST"}).text)))  # fmt: skip
    assert len(table) == len(hst) and {r["telescope"] for r in table} == {"HST"}
    row = next(r for r in table if r["bibcode"] == demoted["bibcode"])
    assert row["labels"] == "mention" and row["label_source"] == "reviewer"
    assert row["model_labels"] == "science" and row["reviewer"] == "Ada Reviewer"
    page = client.get(f"/batches/{batch}/bibliography", params={"telescope": "HST",
                                                                "format": "txt"})  # fmt: skip
    assert page.status_code == 200 and page.text == text


# --- #12 point 10: the web session and messages -------------------------------------------


def test_nul_in_a_path_query_or_body_is_a_4xx(client: TestClient, batch: str) -> None:
    for response in (
        client.get(f"/api/batches/{batch}%00x"),
        client.get(f"/api/batches/{batch}/rows", params={"telescope": "H\x00ST"}),
        client.post(
            "/api/labels", json={"bibcode": "a\x00b", "telescope": "HST", "labels": SCIENCE}
        ),
        client.get(f"/batches/{batch}%00"),
    ):
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
        assert "NUL" in response.text


def test_logout_revokes_the_session(settings: Settings) -> None:
    app, token = app_with_token(settings)
    with TestClient(app) as c:
        login(c, token)
        cookie = c.cookies.get("amc_session")
        assert cookie and token not in cookie
        page = c.get("/batches")
        c.post("/logout", data={"csrf": csrf_of(page.text)})
    with TestClient(app, cookies={"amc_session": cookie}) as replay:
        assert replay.get("/batches", follow_redirects=False).status_code == 303


# --- 7. audit suspects are actionable -----------------------------------------------------


def _suspects(settings: Settings, rows_: list[dict[str, Any]]) -> None:
    from datetime import UTC, datetime

    from eval.audit_report import write_audit_reports
    from eval.suspects import SuspectRow

    long_quote = "We observed the field with HST/WFC3 in programme GO 12345. " * 12
    suspects = [
        SuspectRow(pair_id=r["pair_id"], bibcode=r["bibcode"], telescope=r["telescope"],
                   stored="mention", suggested="science", score=0.9 - i / 10, cl_issue=True,
                   model_probs={"science": 0.9}, verdict="science", verdict_tier="rules",
                   evidence=[long_quote], reason="the rules see data use")
        for i, r in enumerate(rows_)
    ]  # fmt: skip
    suspects.append(SuspectRow(pair_id="1999OLD..1..1X_HST", bibcode="1999OLD..1..1X",
                               telescope="HST", stored="science", suggested="mention",
                               score=0.5, cl_issue=False, model_probs={}, verdict="",
                               verdict_tier="", evidence=[], reason=""))  # fmt: skip
    write_audit_reports(settings.audit_out_dir, suspects, {"pairs": 3}, datetime.now(UTC))


def test_audit_suspects_link_to_their_pairs_and_are_resolved_like_reviews(
    client: TestClient, settings: Settings, batch: str
) -> None:
    picked = [r for r in rows(client, batch) if r["telescope"] == "HST"][:2]
    _suspects(settings, picked)
    page = client.get("/audit").text
    assert '<table class="audit">' not in page and "3 open</strong>" in page
    for row in picked:
        assert f'href="/pairs/{row["id"]}"' in page
    assert "not in any batch" in page  # a suspect of the historical file alone
    keep = {"csrf": csrf_of(page), "pair_id": picked[0]["pair_id"], "decision": "keep",
            "note": "the paper only cites it"}  # fmt: skip
    assert client.post("/audit/resolve", data=keep, follow_redirects=False).status_code == 303
    history = store_of(client).review_history(picked[0]["bibcode"], "HST")
    assert history[0].action == "audit_keep" and history[0].labels.mention
    assert history[0].reviewer == "Ada Reviewer" and history[0].note == "the paper only cites it"
    took = client.post("/api/audit/resolve", json={"pair_id": "1999OLD..1..1X_HST",
                                                   "decision": "take"})  # fmt: skip
    assert took.status_code == 201 and took.json()["labels"]["mention"]
    after = client.get("/audit").text
    assert "1 open</strong>" in after and "Resolved by <strong>Ada Reviewer</strong>" in after
    latest = client.get("/api/audit/latest").json()["suspects"]
    assert {s["pair_id"]: s["resolution"] is not None for s in latest} == {
        picked[0]["pair_id"]: True,
        picked[1]["pair_id"]: False,
        "1999OLD..1..1X_HST": True,
    }
    assert latest[0]["result_id"] == picked[0]["id"]
    unknown = client.post("/api/audit/resolve", json={"pair_id": "2000X_HST", "decision": "keep"})
    assert unknown.status_code == 404
    row = next(r for r in rows(client, batch) if r["id"] == picked[0]["id"])
    assert row["review"]["action"] == "audit_keep"  # it is the pair's reviewer label now


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("papers.jsonl", b"", "is empty"),
        ("papers.csv", b"bibcode,telescope,body\n", "no paper found in"),
        ("outer.zip", _zip({"inner.zip": _zip({"p.txt": b"HST data."})}), "holds another zip"),
        ("notes.zip", _zip({"readme.md": b"nothing to read"}), "holds no file amc reads"),
    ],
)
def test_uploads_with_nothing_to_classify_are_refused(
    client: TestClient, name: str, data: bytes, message: str
) -> None:
    response = client.post("/api/batches", files=[("files", (name, data))])
    assert response.status_code == 400 and message in response.json()["detail"]
    assert client.get("/api/batches").json() == []
    page = client.post("/upload", data={"csrf": client.csrf}, files=[("files", (name, data))])  # type: ignore[attr-defined]
    assert page.status_code == 400 and message in page.text


def test_error_messages_name_the_uploaded_file_never_a_server_path(
    client: TestClient, settings: Settings
) -> None:
    bad = b"bibcode,telescope,year,body\n2024Y,HST,soon,We observed with HST.\n"
    detail = client.post("/api/batches", files=[("files", ("rows.csv", bad))]).json()["detail"]
    assert "rows.csv" in detail and "row" in detail
    assert str(settings.spool_dir) not in detail and "/" not in detail.split(":")[0]
    audit = client.get("/api/audit/latest").json()["detail"]
    assert str(settings.audit_out_dir) not in audit and "amc audit" in audit
