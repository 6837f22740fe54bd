"""Benchmark PDF extraction: throughput on 20-page papers, memory on a 500-page file.

Run: ``.venv/bin/python bench/pdf.py`` (about a minute). Papers are generated
with ``tests/pdfgen.py`` (two columns, running headers, page numbers,
references). Memory is measured in a fresh process so that generating the
file does not count: ``tracemalloc`` peak covers Python objects, peak RSS
(``ru_maxrss``) also covers MuPDF's own allocations. The 500-page file is
25 copies of a 20-page paper (generating 500 pages afresh takes minutes).
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pdfgen  # noqa: E402

from amc.ingest.pdf import paper_from_pdf  # noqa: E402

PAPERS, PAGES, BIG_PAGES = 5, 20, 500


def throughput() -> tuple[float, float, float]:
    """pages/s, MB/s and seconds per paper over ``PAPERS`` generated papers."""
    papers = [
        pdfgen.two_column_paper(pdfgen.PaperSpec(filler_pages=PAGES, seed=seed))
        for seed in range(PAPERS)
    ]
    start = time.perf_counter()
    for i, data in enumerate(papers):
        paper_from_pdf(data, f"bench-{i}.pdf")
    elapsed = time.perf_counter() - start
    megabytes = sum(len(d) for d in papers) / 1e6
    return PAPERS * PAGES / elapsed, megabytes / elapsed, elapsed / PAPERS


def _memory_child(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    tracemalloc.start()
    start = time.perf_counter()
    paper = paper_from_pdf(Path(path), path, max_pages=None, max_bytes=None)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((peak / 2**20, rss_mib, elapsed, paper.char_count))


def memory(path: Path) -> tuple[float, float, float, int]:
    """tracemalloc peak (MiB), peak RSS (MiB), seconds, characters for one file."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_memory_child, args=(str(path), queue))
    proc.start()
    result = queue.get(timeout=300)
    proc.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    pages_s, mb_s, per_paper = throughput()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.pdf"
        paper = pdfgen.two_column_paper(pdfgen.PaperSpec(filler_pages=PAGES))
        big.write_bytes(pdfgen.joined_copies(paper, BIG_PAGES // PAGES))
        size_mb = big.stat().st_size / 1e6
        py_peak, rss, seconds, chars = memory(big)
    rows = [
        ("metric", "value"),
        (f"{PAPERS} x {PAGES}-page two-column papers: pages/s", f"{pages_s:,.0f}"),
        ("  MB/s", f"{mb_s:.2f}"),
        ("  seconds per paper", f"{per_paper:.3f}"),
        (f"{BIG_PAGES}-page file ({size_mb:.1f} MB): seconds", f"{seconds:.1f}"),
        ("  characters extracted", f"{chars:,}"),
        ("  tracemalloc peak, MiB (Python objects)", f"{py_peak:.1f}"),
        ("  peak RSS, MiB (whole process, with MuPDF)", f"{rss:.1f}"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")


if __name__ == "__main__":
    main()
