"""Benchmark: snippet finding + rules tier speed, and memory when streaming parquet.

    python bench/snippets.py            # full run (~1-2 minutes)
    python bench/snippets.py --quick    # smaller sizes, for a smoke check

Prints a Markdown table. Targets (issue "foundation"): >= 100 pairs/s on one
core for 40 KB bodies, and peak memory flat in input size when streaming a
200 MB parquet through the whole pipeline.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from amc.classify.rules import classify_rules
from amc.domain.models import Pair, Paper
from amc.registry import load_registry
from amc.snippets import candidate_telescopes, find_snippets

WORDS = (  # noqa: SIM905 (a paragraph of words reads better than a list)
    "galaxy galaxies star stars stellar mass metallicity redshift emission absorption line "
    "spectrum spectra photometry flux luminosity velocity dispersion halo disk bulge cluster "
    "model models fit fitting parameter posterior sample survey field source sources catalog "
    "density temperature gas dust accretion outflow feedback radius profile image images "
    "observations data analysis result results error uncertainty calibration distribution "
    "cosmic cosine statistics processes acoustic cosmological components"
).split()
MENTIONS = [
    "Previous HST observations by Lee et al. (2018) showed a similar trend.",
    "We observed the field with HST/WFC3 in the F140W filter (GO-15000).",
    "The Chandra ACIS-S exposure of 40 ks was reduced with CIAO 4.12.",
    "Future JWST/NIRSpec spectra will test this prediction.",
    "We adopt a Hubble constant of 70 km/s/Mpc.",
    "J.S. acknowledges support from NASA Hubble Fellowship grant HST-HF2-51234.001-A.",
    "The COSMOS field was observed by many surveys.",
    "Webb et al. (2019) derived a comparable relation.",
]


def synthetic_body(rng: random.Random, chars: int, mentions: int) -> str:
    """Paper-like text: sentences of survey vocabulary with telescope mentions spread in."""
    parts: list[str] = []
    size = 0
    while size < chars:
        n = rng.randint(8, 30)
        sentence = " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."
        if rng.random() < 0.15:
            sentence = sentence[:-1] + f" (Smith et al. {rng.randint(1990, 2024)})."
        parts.append(sentence)
        size += len(sentence) + 1
        if rng.random() < 0.08:
            parts.append("\n\n")
    for _ in range(mentions):
        parts.insert(rng.randrange(len(parts)), rng.choice(MENTIONS))
    return " ".join(parts)


def bench_pairs(n_pairs: int, body_chars: int, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    registry = load_registry()
    keys = ["HST", "JWST", "CHANDRA"]
    papers = [
        Paper(
            bibcode=f"2024Bench.{i:05d}", body=synthetic_body(rng, body_chars, rng.randint(2, 12))
        )
        for i in range(n_pairs)
    ]
    # warm up compiled patterns so the timing is steady-state
    classify_rules(Pair(paper=papers[0], telescope="HST"), [], registry.get("HST"), registry)
    start = time.process_time()
    for i, paper in enumerate(papers):
        telescope = registry.get(keys[i % len(keys)])
        pair = Pair(paper=paper, telescope=telescope.key)
        classify_rules(pair, find_snippets(paper, telescope), telescope, registry)
    pair_s = time.process_time() - start
    start = time.process_time()
    for paper in papers[: max(1, n_pairs // 4)]:
        candidate_telescopes(paper, registry)
    cand_s = time.process_time() - start
    return {
        "pairs_per_s": n_pairs / pair_s,
        "ms_per_pair": 1000 * pair_s / n_pairs,
        "candidates_papers_per_s": max(1, n_pairs // 4) / cand_s,
    }


def write_parquet(path: Path, target_mb: int, body_chars: int, seed: int = 11) -> int:
    """A TRACS-shaped parquet of about ``target_mb`` MB, written in row groups."""
    rng = random.Random(seed)
    rows_per_group = 200
    schema = pa.schema(
        [(c, pa.string()) for c in ("bibcode", "telescope", "title", "abstract", "body")]
        + [("year", pa.int64())]
    )
    written = 0
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        while True:
            batch = []
            for _ in range(rows_per_group):
                batch.append(
                    {
                        "bibcode": f"2024Bench.{written:06d}",
                        "telescope": ("HST", "JWST", "CHANDRA")[written % 3],
                        "title": "A synthetic paper",
                        "abstract": synthetic_body(rng, 800, 1),
                        "body": synthetic_body(rng, body_chars, rng.randint(2, 12)),
                        "year": 2024,
                    }
                )
                written += 1
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            if path.stat().st_size >= target_mb * 1e6:
                break
    return written


CHILD = """
import resource, sys, time
from amc.classify.stream import classify_papers
from amc.registry import load_registry
from amc.settings import load_settings
from amc.output.writers import ResultWriter
from pathlib import Path
settings = load_settings(environ={})
registry = load_registry()
n = 0
t = time.perf_counter()
with ResultWriter(Path(sys.argv[2]), "csv") as w:
    for c in classify_papers([sys.argv[1]], registry, settings):
        w.write(c)
        n += 1
print(n, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bench_stream(path: Path, out: Path) -> tuple[int, float, float]:
    env = {**os.environ, "AMC_PROGRESS": "false"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    n, seconds, rss_mb = result.stdout.split()
    return int(n), float(seconds), float(rss_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke check)")
    args = parser.parse_args()
    n_pairs = 100 if args.quick else 600
    sizes = (5, 20) if args.quick else (50, 200)
    body_chars = 40_000

    speed = bench_pairs(n_pairs, body_chars)
    print("## Snippets + rules tier (one core, process time)\n")
    print("| measure | value |\n|---|---|")
    print(
        f"| pairs/s, snippet finding + rules, {body_chars // 1000} KB bodies | "
        f"{speed['pairs_per_s']:.0f} |"
    )
    print(f"| ms per pair | {speed['ms_per_pair']:.2f} |")
    print(
        f"| papers/s, candidate detection over all {len(load_registry())} telescopes | "
        f"{speed['candidates_papers_per_s']:.0f} |"
    )

    print("\n## Streaming a parquet through the whole pipeline (read -> classify -> CSV)\n")
    print("| parquet size | rows | pairs/s | peak RSS |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mb in sizes:
            path = Path(tmp) / f"bench_{mb}mb.parquet"
            write_parquet(path, mb, body_chars)
            n, seconds, rss = bench_stream(path, Path(tmp) / "out.csv")
            size = path.stat().st_size / 1e6
            print(f"| {size:.0f} MB | {n} | {n / seconds:.0f} | {rss:.0f} MB |")
            path.unlink()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(benchmark process itself: {own:.0f} MB peak; Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
