"""The review workbench at scale: the results page and the next-pair action on a batch of
80,000 pairs in PostgreSQL.

A throwaway PostgreSQL database (next to ``test`` on 127.0.0.1, dropped at the end)
gets one batch of ``--papers`` papers x (HST, JWST): the papers are spooled as
``amc submit`` would (short synthetic bodies), and every pair gets a synthetic
verdict (random labels and confidences, a located quote, input labels on most, a
failed pair now and then) saved through the store, plus ``--reviewed`` pairs already
reviewed. ``amc serve`` runs in its own process on a loopback port and is driven over
HTTP with a logged-in session, ``--repeat`` requests per measure; the median and the 95th
percentile are printed.

Measures: the batch page (default view: least confident first, 50 rows, review
counts), the same filtered (telescope, label, confidence band, unreviewed) and deep
in the pages; the rows API at a deep offset; the next-pair action (POST accept: save,
find the next pair, redirect) and the pair page it lands on; and, for comparison,
what the page's query cost before the store filtered in SQL (every result loaded and
filtered in Python, as the old code did).

    .venv/bin/python bench/review.py [--papers 40000] [--reviewed 5000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from benchkit import free_port, postgres_database  # noqa: E402

from amc.domain.models import (  # noqa: E402
    Classification,
    ErrorInfo,
    Evidence,
    LabelConfidence,
    TelescopeLabels,
)
from amc.jobs.submit import submit_batch  # noqa: E402
from amc.settings import Settings, load_settings  # noqa: E402
from amc.store import ResultFilter, Reviewer, Store, open_store  # noqa: E402
from amc.store.tokens import create_token  # noqa: E402

TELESCOPES = ("HST", "JWST")
SENTENCE = (
    "We observed NGC {i} with the Hubble Space Telescope (WFC3/UVIS) in programme GO {i}. "
    "JWST NIRSpec spectra of the same field are compared with earlier work."
)
LABELS = [TelescopeLabels(science=True), TelescopeLabels(mention=True),
          TelescopeLabels(instrumentation=True), TelescopeLabels(not_telescope=True)]  # fmt: skip


def bibcode(i: int) -> str:
    return f"2024BENCH{i:06d}"


def verdict(bibcode: str, telescope: str, body: str, rng: random.Random) -> Classification:
    pid = f"{bibcode}_{telescope}"
    if rng.random() < 0.01:
        return Classification(pair_id=pid, bibcode=bibcode, telescope=telescope,
                              error=ErrorInfo(kind="llm", message="invalid answer"))  # fmt: skip
    labels = rng.choices(LABELS, weights=[5, 3, 1, 1])[0]
    conf = LabelConfidence(**{k: round(rng.uniform(0.5, 1.0) if v else rng.uniform(0, 0.5), 3)
                              for k, v in labels.as_dict().items()})  # fmt: skip
    start = body.index("Hubble")
    quote = Evidence(quote=body[start : start + 40], field="body", start=start,
                     end=start + 40, verified=True)  # fmt: skip
    gold = (labels if rng.random() < 0.85 else rng.choice(LABELS)) if rng.random() < 0.8 else None
    return Classification(pair_id=pid, bibcode=bibcode, telescope=telescope, labels=labels,
                          confidence=conf, evidence=[quote], gold=gold, tier="rules",
                          reason="synthetic verdict")  # fmt: skip


def load(store: Store, settings_dir: Path, db: str, papers: int, reviewed: int) -> str:
    """Spool and register the batch, save a verdict per pair, review some pairs."""
    settings = load_settings(environ={}, database_url=db, spool_dir=settings_dir / "spool")
    source = settings_dir / "papers.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for i in range(papers):
            for telescope in TELESCOPES:
                record = {"bibcode": bibcode(i), "telescope": telescope, "title": f"Paper {i}",
                          "body": SENTENCE.format(i=i)}  # fmt: skip
                out.write(json.dumps(record) + "\n")
    started = time.perf_counter()
    sub = submit_batch(store, [source], [], settings)
    took = time.perf_counter() - started
    print(f"spooled and registered {sub.n_papers:,} papers in {took:.0f} s", file=sys.stderr)
    rng = random.Random(13)
    started = time.perf_counter()
    ids = sub.paper_ids
    for at in range(0, len(ids), 500):
        group = [
            (pid, [verdict(bibcode(i), t, SENTENCE.format(i=i), rng) for t in TELESCOPES])
            for i, pid in enumerate(ids[at : at + 500], at)
        ]
        store.save_papers(sub.batch_id, group)
    candidates = store.accept_candidates(sub.batch_id, ResultFilter())
    store.accept_many(rng.sample(candidates, min(reviewed, len(candidates))), Reviewer("Bench"))
    print(f"saved {2 * len(ids):,} verdicts and {reviewed:,} reviews in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
    return sub.batch_id


def analyze(db: str) -> None:
    """What autovacuum does within a minute of a bulk load: statistics for the planner and
    the visibility map for index-only scans."""
    engine = create_engine(db.replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="AUTOCOMMIT")  # fmt: skip
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """``amc serve`` in its own process (as deployed: no GIL shared with this client)."""
    port = free_port()
    env = {**os.environ, "AMC_DATABASE_URL": settings.database_url,
           "AMC_SPOOL_DIR": str(settings.spool_dir), "AMC_WEB_WORKERS": "embedded",
           "AMC_AUDIT_OUT_DIR": str(settings.audit_out_dir)}  # fmt: skip
    command = [sys.executable, "-m", "amc.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def logged_in(base: str, token: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/login").text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    client.post("/login", data={**fields, "token": token})
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/batches").text)
    assert csrf is not None, "login failed"
    return client, csrf[1]


def timed(repeat: int, call: Callable[[int], httpx.Response]) -> list[float]:
    out = []
    for i in range(repeat):
        started = time.perf_counter()
        response = call(i)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 303), (response.status_code, response.text[:200])
    return out


def old_style(store: Store, batch_id: str) -> int:
    """The old page's query: every result and every reviewer label loaded, filtered in Python."""
    humans = store.latest_human_labels()
    kept = 0
    for _, c in store.iter_paper_results(batch_id):
        human = humans.get((c.bibcode, c.telescope))
        if c.telescope == "HST" and c.labels is not None and c.labels.science and human is None:
            kept += 1
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=40_000)
    parser.add_argument("--reviewed", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--reuse", nargs=3, metavar=("DATABASE_URL", "BATCH", "FOLDER"),
        help="measure a database loaded before (batch id, spool folder)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.reuse:
        db, batch, folder = args.reuse
        run(db, batch, Path(folder), args)
        return
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as db:
        with open_store(db) as store:
            batch = load(store, Path(tmp), db, args.papers, args.reviewed)
        analyze(db)
        run(db, batch, Path(tmp), args)


def run(db: str, batch: str, folder: Path, args: argparse.Namespace) -> None:
    settings = load_settings(environ={}, database_url=db, spool_dir=folder / "spool",
                             audit_out_dir=folder / "audit")  # fmt: skip
    with open_store(db) as store:
        token = create_token(store, "Bench Reviewer")
        rows = measure(settings, store, batch, token, args.repeat)
    report(rows, args)


def measure(
    settings: Settings, store: Store, batch: str, token: str, n: int
) -> list[tuple[str, list[float]]]:
    filtered = "telescope=HST&label=science&min_confidence=0.6&max_confidence=0.9&review=unreviewed"
    every = ResultFilter()
    # the pairs just before rows 50,001 and 70,001: where Next from page 1,000 and 1,400 starts
    deep = [store.result_page(batch, every, "confidence", 1, 49_999 + i)[0][0].id for i in range(n)]
    late = [
        store.result_page(batch, every, "-confidence", 1, 69_999 + i)[0][0].id for i in range(n)
    ]
    api = {"Authorization": f"Bearer {token}"}
    measures: list[tuple[str, Callable[[int], str]]] = [
        ("results page, default view (least confident first, 50 rows)",
         lambda i: f"/batches/{batch}"),
        ("results page, filtered (HST, science, 0.6-0.9, unreviewed)",
         lambda i: f"/batches/{batch}?{filtered}"),
        ("results page 1,001 reached with Next (rows 50,001-50,050)",
         lambda i: f"/batches/{batch}?page=1001&after={deep[i]}"),
        ("results page 1,001 typed in (offset 50,000)",
         lambda i: f"/batches/{batch}?page={1001 + i}"),
        ("rows API, 50 rows after the 70,000th, most confident first",
         lambda i: f"/api/batches/{batch}/rows?limit=50&sort=-confidence&after={late[i]}"),
    ]  # fmt: skip
    rows: list[tuple[str, list[float]]] = []
    with serve(settings) as base:
        client, csrf = logged_in(base, token)
        client.get(f"/batches/{batch}")  # warm caches (templates, registry)
        for name, url in measures:
            rows.append((name, timed(n, lambda i, url=url: client.get(url(i), headers=api))))  # type: ignore[misc]
        # the queue of unreviewed pairs with a decision (failed pairs cannot be accepted)
        queue = ResultFilter(review="unreviewed", min_confidence=0.0)
        current = [store.queue_neighbour(batch, queue, "confidence", None, True)]
        landed: list[str] = []

        def accept(_: int) -> httpx.Response:
            form = {"csrf": csrf, "action": "accept", "review": "unreviewed", "min_confidence": "0"}
            response = client.post(f"/pairs/{current[0]}/decide", data=form)
            assert "location" in response.headers, response.text[:300]
            landed.append(response.headers["location"])
            current[0] = int(re.search(r"/pairs/(\d+)", landed[-1])[1])  # type: ignore[index]
            return response

        rows.append(("next-pair action (POST accept: save, find the next pair, redirect)",
                     timed(n, accept)))  # fmt: skip
        rows.append(("the pair page it lands on (evidence, history, queue counts)",
                     timed(n, lambda i: client.get(landed[i]))))  # fmt: skip
    started = time.perf_counter()
    old_style(store, batch)
    took = (time.perf_counter() - started) * 1000
    rows.append(("before: the old page's query (all results filtered in Python), once", [took]))
    return rows


def report(rows: list[tuple[str, list[float]]], args: argparse.Namespace) -> None:
    size = f"{2 * args.papers:,} pairs ({args.papers:,} papers x HST, JWST)"
    print(f"{size}, {args.reviewed:,} reviewed, PostgreSQL on 127.0.0.1, {args.repeat} requests "
          "per measure over HTTP")  # fmt: skip
    print("| measure | median ms | p95 ms | target |")
    print("|---|---|---|---|")
    for name, ms in rows:
        p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
        target = "" if name.startswith("before") else "< 300"
        print(f"| {name} | {statistics.median(ms):.0f} | {p95:.0f} | {target} |")


if __name__ == "__main__":
    main()
