"""The librarian's path through the web app in headless Chromium (Playwright).

Debian's ``chromium`` at ``/usr/bin/chromium`` is driven by the PyPI ``playwright``
package; no browser is downloaded. Without it these tests FAIL, unless
``AMC_TEST_SKIP_BROWSER=1`` (read at import: the suite clears AMC_* per test).
``AMC_TEST_SCREENSHOTS=DIR`` also copies the screenshots there (how the ones under
``docs/`` are made): the queue, the pair page (also at 390 px) and the audit page.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from webapp import SAMPLE, app_with_token, wait_finished, web_settings

from amc.domain.models import TelescopeLabels
from amc.settings import Settings
from amc.store import ResultFilter, Store
from eval.audit_report import write_audit_reports
from eval.suspects import SuspectRow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
SKIP_BROWSER = os.environ.get("AMC_TEST_SKIP_BROWSER") == "1"
SCREENSHOTS = os.environ.get("AMC_TEST_SCREENSHOTS")

pytestmark = pytest.mark.slow


@dataclass
class Served:
    base: str
    token: str
    store: Store
    settings: Settings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The app served by uvicorn on a random loopback port."""
    settings = web_settings(tmp_path)
    app, token = app_with_token(settings, name="Ada Reviewer")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", token, app.state.store, settings)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _browser_or_fail() -> None:
    if CHROMIUM.exists():
        return
    if SKIP_BROWSER:
        pytest.skip("AMC_TEST_SKIP_BROWSER=1 and no /usr/bin/chromium")
    pytest.fail("no /usr/bin/chromium: `apt-get install chromium` (or AMC_TEST_SKIP_BROWSER=1)")


def _keep(shot: Path) -> None:
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"
    if SCREENSHOTS:
        shutil.copyfile(shot, Path(SCREENSHOTS) / shot.name)


def _papers(tmp_path: Path) -> Path:
    """The bundled sample and 20 short papers more: 97 pairs, HST and JWST mostly."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    for i in range(20):
        lines.append(json.dumps({
            "bibcode": f"2024MORE.{i:04d}..1A", "telescope": "HST" if i % 2 else "JWST",
            "title": f"Short paper {i}", "author": "Smith, A.; Jones, B.", "year": 2024,
            "body": f"We observed the target {i} with the Hubble Space Telescope (WFC3) in "
                    f"programme GO {14000 + i}. JWST NIRSpec spectra were taken too."},
        ))  # fmt: skip
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _plan(step: int, model: str) -> str:
    """What the librarian does on the step-th pair of the queue."""
    if step % 11 == 7:
        return "skip"
    if step % 7 == 3:
        return "accept-undo-correct"
    if step % 5 == 0:
        return "correct"
    return "accept"


def _correction(model: str) -> tuple[str, TelescopeLabels]:
    """The key that changes the model's labels, and the labels it leaves ticked."""
    if "science" in model or "instrumentation" in model:
        return "m", TelescopeLabels(mention=True)
    return "s", TelescopeLabels(science=True)


def test_keyboard_review_bulk_accept_audit_and_bibliography(served: Served, tmp_path: Path) -> None:
    """Review 50 pairs by keyboard only (accept, correct, undo, next, a note), bulk-accept
    a filtered view, resolve an audit suspect, download the bibliography: it carries
    every decision. No console error on any page; a favicon; 390 px wide is usable."""
    _browser_or_fail()
    from playwright.sync_api import expect, sync_playwright

    base, store = served.base, served.store
    expected: dict[str, tuple[TelescopeLabels, str]] = {}
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/batches")
        expect(page).to_have_url(f"{base}/login")
        page.fill("#token", served.token)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/batches")
        page.click("text=New batch")
        page.set_input_files("#files", str(_papers(tmp_path)))
        page.click("#submit")
        expect(page.locator(".progress .status")).to_have_text("done", timeout=60_000)
        batch_id = page.url.rsplit("/", 1)[-1]
        wait_finished(store, batch_id)
        rows = {
            r.result.pair_id: r for r in store.result_page(batch_id, ResultFilter(), limit=500)[0]
        }
        suspects = _plant_audit(served.settings, list(rows.values())[:2])

        # -- the queue, by keyboard only ----------------------------------------------
        page.click("#start-review")
        expect(page.locator("#review-progress")).to_contain_text(f"0 of {len(rows)} reviewed")
        section = page.locator("section.verdict")
        for step in range(50):
            pair_id = section.get_attribute("data-pair") or ""
            model = section.get_attribute("data-model") or ""
            plan = _plan(step, model)
            if plan == "skip":
                page.keyboard.press("j")
            elif plan == "accept":
                page.keyboard.press("a")
                expected[pair_id] = (rows[pair_id].result.labels, "accept")  # type: ignore[assignment]
            else:
                if plan == "accept-undo-correct":
                    page.keyboard.press("a")
                    expect(page.locator("#flash")).to_contain_text(f"Saved {pair_id}")
                    page.keyboard.press("u")
                    expect(page.locator("#flash")).to_contain_text("Undone")
                    assert section.get_attribute("data-pair") == pair_id
                key, labels = _correction(model)
                page.keyboard.press(key)
                page.keyboard.press("n")
                page.keyboard.type(f"note {step}")
                page.keyboard.press("Enter")  # never submits: back to the shortcuts
                assert section.get_attribute("data-pair") == pair_id
                assert store.current_review(*pair_id.rsplit("_", 1)) is None
                page.keyboard.press("c")
                expected[pair_id] = (labels, "correct")
            expect(section).not_to_have_attribute("data-pair", pair_id)
            if step == 20:
                page.keyboard.press("k")  # back to the pair just left, then on again
                expect(section).to_have_attribute("data-pair", pair_id)
                page.keyboard.press("j")
                expect(section).not_to_have_attribute("data-pair", pair_id)
        expect(page.locator("#review-progress")).to_contain_text(
            f"{len(expected)} of {len(rows)} reviewed"
        )
        page.set_viewport_size({"width": 1280, "height": 1500})  # the evidence too
        page.screenshot(path=str(tmp_path / "screenshot-pair.png"), full_page=False)
        page.set_viewport_size({"width": 1280, "height": 900})
        for pair_id, (labels, action) in expected.items():
            review = store.current_review(*pair_id.rsplit("_", 1))
            assert review is not None and (review.labels, review.action) == (labels, action)
            assert review.reviewer == "Ada Reviewer"
        notes = [h.note for h in store.review_history(*next(
            p for p, (_, a) in expected.items() if a == "correct").rsplit("_", 1))]  # fmt: skip
        assert any(n.startswith("note ") for n in notes)

        # -- bulk accept of a filtered view -----------------------------------------------
        page.goto(f"{base}/batches/{batch_id}?telescope=JWST&min_confidence=0.5")
        page.click("#bulk-accept")
        expect(page.locator("#confirm")).to_be_visible()
        to_accept = int((page.locator("input[name=expected]").get_attribute("value")) or 0)
        assert to_accept > 0
        page.click("#confirm")
        expect(page.locator(".flash")).to_contain_text(f"for {to_accept} pair(s)")
        page.goto(f"{base}/batches/{batch_id}")
        page.screenshot(path=str(tmp_path / "screenshot-queue.png"), full_page=False)
        bulk = {(h.bibcode, h.telescope) for h in store.latest_human_labels().values()
                if h.action == "bulk_accept"}  # fmt: skip
        assert len(bulk) == to_accept

        # -- an audit suspect, resolved ---------------------------------------------------
        page.goto(f"{base}/audit")
        page.screenshot(path=str(tmp_path / "screenshot-audit.png"), full_page=True)
        card = page.locator(f"[id='suspect-{suspects[0].pair_id}']")
        card.locator("button[value=take]").click()
        expect(page.locator(f"[id='resolved-{suspects[0].pair_id}']")).to_contain_text(
            "Resolved by Ada Reviewer"
        )
        expected[suspects[0].pair_id] = (TelescopeLabels(science=True), "audit_take")

        # -- the bibliography of record carries every decision -------------------------
        page.goto(f"{base}/batches/{batch_id}")
        with page.expect_download() as download:
            page.click(f"a[href='/batches/{batch_id}/bibliography?telescope=HST&format=csv']")
        path = tmp_path / "hst.csv"
        download.value.save_as(path)
        _check_bibliography(path, store, rows, expected)

        # -- 390 px wide, and the favicon ----------------------------------------------------
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        phone.context.add_cookies(page.context.cookies())
        first = next(iter(rows.values()))
        for url in (f"/pairs/{first.id}", f"/batches/{batch_id}", "/audit"):
            phone.goto(base + url)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (url, width)
        phone.goto(f"{base}/pairs/{first.id}")
        for button in ("#accept", "#save", "#next"):
            box = phone.locator(button).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, button
        phone.screenshot(path=str(tmp_path / "screenshot-pair-390.png"), full_page=True)
        icon = page.request.get(f"{base}/favicon.ico")
        assert icon.ok and "svg" in icon.headers["content-type"]
        assert page.locator("link[rel=icon]").count() == 1
        browser.close()

    assert errors == [], errors
    for name in ("pair", "queue", "audit", "pair-390"):
        _keep(tmp_path / f"screenshot-{name}.png")


def _plant_audit(settings: Settings, rows: list[Any]) -> list[SuspectRow]:
    suspects = [
        SuspectRow(rank=i + 1, pair_id=r.result.pair_id, bibcode=r.result.bibcode,
                   telescope=r.result.telescope, stored="mention", suggested="science",
                   score=0.93 - i / 10, cl_issue=True,
                   model_probs={"science": 0.91, "mention": 0.08},
                   verdict="science", verdict_tier="rules",
                   evidence=["We observed the field with the Hubble Space Telescope WFC3/UVIS "
                             "camera in programme GO 13000; the images were reduced with the "
                             "standard pipeline and combined with AstroDrizzle."],
                   reason="The rules see data use near the telescope's names.")
        for i, r in enumerate(rows)
    ]  # fmt: skip
    write_audit_reports(settings.audit_out_dir, suspects, {"pairs": len(rows)}, datetime.now(UTC))
    return suspects


def _check_bibliography(
    path: Path, store: Store, rows: dict[str, Any], expected: dict[str, tuple[TelescopeLabels, str]]
) -> None:
    table = {r["Id"]: r for r in csv.DictReader(path.open(encoding="utf-8"))}
    hst = {pid for pid, r in rows.items() if r.result.telescope == "HST"}
    assert set(table) == hst
    reviews = {f"{b}_{t}": h for (b, t), h in store.latest_human_labels().items()}
    decided = [pid for pid in hst if pid in expected]
    assert decided, "no decision on an HST pair"
    for pid in hst:
        row = table[pid]
        if pid in reviews:
            labels = expected[pid][0] if pid in expected else reviews[pid].labels
            assert row["label_source"] == "reviewer" and row["reviewer"] == "Ada Reviewer"
            assert {k: row[k] == "True" for k in labels.as_dict()} == labels.as_dict(), pid
        else:
            assert row["label_source"] in ("model", "failed")
