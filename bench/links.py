"""Benchmark: what link extraction costs the rules tier, and how it scores on the dev papers.

    python bench/links.py                 # speed (600 pairs) + the dev papers when present
    python bench/links.py --quick         # 100 pairs
    python bench/links.py --dev DIR       # another folder shaped like dev-papers/

Prints Markdown tables. Speed: snippet finding + rules tier on synthetic 40 KB
bodies (``bench/snippets.py``'s), with and without the link stage, one core,
process time; and the link stage alone per science/instrumentation pair. Scores:
``amc eval links`` on the dev papers (parquet + PDFs) against their ``links.tsv``:
13 hand labels, a smoke test, not a benchmark of accuracy.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import amc.classify.rules
from amc.classify.rules import classify_rules
from amc.classify.stream import classify_papers
from amc.domain.models import Classification, Pair, Paper
from amc.links import pair_links
from amc.output.writers import ResultWriter
from amc.registry import load_registry
from amc.settings import load_settings
from amc.snippets import find_snippets
from eval.links import links_markdown, score_links

DEV = Path("/work/shared/data/dev-papers")
KEYS = ("HST", "JWST", "CHANDRA")


def _synthetic_body() -> Callable[[random.Random, int, int], str]:
    """``synthetic_body`` of ``bench/snippets.py`` (a script, not a module)."""
    path = Path(__file__).with_name("snippets.py")
    spec = importlib.util.spec_from_file_location("bench_snippets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_body


def _classify(pairs: list[Pair]) -> tuple[float, list[Classification]]:
    """Snippet finding + rules tier over ``pairs``: process seconds and the results."""
    registry = load_registry()
    telescope = registry.get(pairs[0].telescope)
    classify_rules(pairs[0], find_snippets(pairs[0].paper, telescope), telescope, registry)
    start = time.process_time()
    out = []
    for pair in pairs:
        telescope = registry.get(pair.telescope)
        found = find_snippets(pair.paper, telescope)
        out.append(classify_rules(pair, found, telescope, registry))
    return time.process_time() - start, out


def speed(n_pairs: int, body_chars: int = 40_000, seed: int = 7) -> dict[str, float]:
    registry = load_registry()
    synthetic_body = _synthetic_body()
    rng = random.Random(seed)
    pairs = [
        Pair(
            paper=Paper(
                bibcode=f"2024Bench.{i:05d}",
                body=synthetic_body(rng, body_chars, rng.randint(2, 12)),
            ),
            telescope=KEYS[i % len(KEYS)],
        )
        for i in range(n_pairs)
    ]
    with_links, results = _classify(pairs)
    with mock.patch.object(amc.classify.rules, "pair_links", lambda *a, **k: []):
        without_links, _ = _classify(pairs)
    linked = [
        (pair, result)
        for pair, result in zip(pairs, results, strict=True)
        if result.labels is not None and (result.labels.science or result.labels.instrumentation)
    ]
    found = [find_snippets(p.paper, registry.get(p.telescope)) for p, _ in linked]
    start = time.process_time()
    for (pair, result), snippets in zip(linked, found, strict=True):
        pair_links(pair, result.labels, registry, snippets)
    alone = time.process_time() - start
    return {
        "with": n_pairs / with_links,
        "without": n_pairs / without_links,
        "share": len(linked) / n_pairs,
        "ms_per_linked_pair": 1000 * alone / max(1, len(linked)),
        "links_per_linked_pair": sum(len(r.links) for _, r in linked) / max(1, len(linked)),
    }


def dev_scores(folder: Path) -> str:
    inputs = [folder / "papers.parquet", folder / "pdf"]
    settings = load_settings(environ={}, progress=False)
    registry = load_registry()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dev.jsonl"
        with ResultWriter(out, "jsonl") as writer:
            for c in classify_papers(inputs, registry, settings):
                writer.write(c)
        return links_markdown(score_links(folder / "links.tsv", out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 pairs instead of 600")
    parser.add_argument("--dev", type=Path, default=DEV, help="dev-papers folder")
    args = parser.parse_args()
    n = 100 if args.quick else 600
    s = speed(n)
    print("## Link extraction in the rules tier (one core, process time, 40 KB bodies)\n")
    print("| measure | value |\n|---|---|")
    print(f"| pairs/s, snippets + rules tier, with links | {s['with']:.0f} |")
    print(f"| pairs/s, same without the link stage | {s['without']:.0f} |")
    print(f"| pairs labelled science/instrumentation (links extracted) | {s['share']:.0%} |")
    print(f"| ms of link extraction per such pair | {s['ms_per_linked_pair']:.2f} |")
    print(f"| links per such pair | {s['links_per_linked_pair']:.1f} |")
    if (args.dev / "links.tsv").exists():
        print("\n## Dev papers (17 parquet pairs + 3 PDFs; 13 gold links: a smoke test)\n")
        print(dev_scores(args.dev))
    else:
        print(f"\n(no {args.dev / 'links.tsv'}: dev scores skipped)", file=sys.stderr)


if __name__ == "__main__":
    main()
