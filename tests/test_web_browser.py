"""The librarian's path through the web app in headless Chromium (Playwright).

Debian's ``chromium`` at ``/usr/bin/chromium`` is driven by the PyPI ``playwright``
package; no browser is downloaded. Without it this test FAILS, unless
``AMC_TEST_SKIP_BROWSER=1`` (read at import: the suite clears AMC_* per test).
``AMC_TEST_SCREENSHOT=path.png`` also copies the paper page's screenshot there
(how ``docs/screenshot-paper.png`` is made).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from webapp import SAMPLE, app_with_token, web_settings

from amc.domain.models import TelescopeLabels
from amc.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
SKIP_BROWSER = os.environ.get("AMC_TEST_SKIP_BROWSER") == "1"
SCREENSHOT_COPY = os.environ.get("AMC_TEST_SCREENSHOT")

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, Store]]:
    """The app served by uvicorn on a random loopback port: (base URL, token, store)."""
    app, token = app_with_token(web_settings(tmp_path), name="Ada Reviewer")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not served.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token, app.state.store
    served.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _browser_or_fail() -> None:
    if CHROMIUM.exists():
        return
    if SKIP_BROWSER:
        pytest.skip("AMC_TEST_SKIP_BROWSER=1 and no /usr/bin/chromium")
    pytest.fail("no /usr/bin/chromium: `apt-get install chromium` (or AMC_TEST_SKIP_BROWSER=1)")


def test_upload_watch_open_paper_correct_label(
    server: tuple[str, str, Store], tmp_path: Path
) -> None:
    _browser_or_fail()
    from playwright.sync_api import expect, sync_playwright

    base, token, store = server
    subset = tmp_path / "papers.jsonl"
    subset.write_text(
        "".join(SAMPLE.read_text(encoding="utf-8").splitlines(True)[:10]), encoding="utf-8"
    )
    shot = tmp_path / "paper.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/batches")
        expect(page).to_have_url(f"{base}/login")
        page.fill("#token", token)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/batches")

        page.click("text=New batch")
        page.set_input_files("#files", str(subset))
        page.fill("#telescopes", "")
        page.click("#submit")
        expect(page.locator(".progress .status")).to_have_text("done", timeout=60_000)
        batch_id = page.url.rsplit("/", 1)[-1]
        expect(page.locator("table.results tbody tr").first).to_be_visible()
        page.goto(f"{base}/batches")
        expect(page.locator(f"[data-batch='{batch_id}'] .status")).to_have_text("done")

        page.goto(f"{base}/batches/{batch_id}?label=science&telescope=HST")
        page.locator("table.results tbody tr a").first.click()
        section = page.locator("section.pair").first
        expect(section.locator("mark").first).to_be_visible()
        telescope = section.get_attribute("id").removeprefix("pair-")  # type: ignore[union-attr]
        bibcode = page.locator(".meta code").inner_text()

        for name, value in (("science", False), ("instrumentation", False), ("mention", True)):
            section.locator(f"input[name={name}]").set_checked(value)
        section.locator("input[name=note]").fill("only the introduction cites HST")
        section.locator("button[value=correct]").click()
        expect(page.locator(f"[data-testid=review-{telescope}]")).to_contain_text(
            "Corrected by Ada Reviewer"
        )
        page.screenshot(path=str(shot), full_page=True)
        browser.close()

    human = store.latest_human_labels()[(bibcode, telescope)]
    assert human.labels == TelescopeLabels(mention=True) and human.reviewer == "Ada Reviewer"
    assert human.note == "only the introduction cites HST"
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"
    if SCREENSHOT_COPY:
        shutil.copyfile(shot, SCREENSHOT_COPY)
