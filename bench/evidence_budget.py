"""How much of a pair's evidence each evidence budget keeps, on real papers.

For every pair with snippets, the sentences of its snippets that hold a real hit of
the telescope ("hit sentences") and those within one sentence of a hit that carry a
science or instrumentation cue (the rules tier's cue phrases and the telescope's own
evidence patterns: "we observed", "data were reduced", programme ids, pipelines,
calibration; "cue sentences") are what a model needs to tell science from mention.
For each budget (``AMC_LLM_EVIDENCE_TOKENS``) the table gives the evidence tokens sent
per pair (o200k tokenizer), the share of hit and cue sentences sent, and the share of
pairs with every cue sentence sent. v1's selection (whole snippets in rank order, at
most 8 of 1,500 characters) is the reference row. The default budget is the smallest
that keeps every cue sentence of at least 90 % of the real pairs.

Inputs: the dev papers (``/work/shared/data/dev-papers/papers.parquet``, 17 real
pairs, when present), the bundled sample (``amc/data/sample.jsonl``, 57 pairs) and 300
synthetic pairs (``tests/papergen.py``).

    .venv/bin/python bench/evidence_budget.py [--budgets 200 250 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pandas as pd  # noqa: E402
from llm_provider import tokens  # noqa: E402
from papergen import generate_papers  # noqa: E402

from amc.domain.models import NONE_TELESCOPE, Paper, Snippet  # noqa: E402
from amc.registry import Registry, Telescope, load_registry  # noqa: E402
from amc.snippets import find_snippets  # noqa: E402
from amc.snippets.budget import budget_sentences, evidence_patterns  # noqa: E402
from amc.snippets.ranking import rank_snippets, select_snippets  # noqa: E402
from amc.snippets.sentences import sentence_spans  # noqa: E402

DEV = Path("/work/shared/data/dev-papers/papers.parquet")
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
FIELDS = ("title", "abstract", "body", "acknowledgments", "grants")
Pairs = list[tuple[str, Paper, Telescope]]


def real_pairs(registry: Registry) -> Pairs:
    rows = []
    if DEV.exists():
        rows += pd.read_parquet(DEV).to_dict("records")
    rows += [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    out = []
    for row in rows:
        if row["telescope"] == NONE_TELESCOPE:
            continue
        paper = Paper(bibcode=row["bibcode"], **{f: row.get(f) or "" for f in FIELDS})
        out.append(("real", paper, registry.get(row["telescope"])))
    return out


def synthetic_pairs(registry: Registry, n: int) -> Pairs:
    return [
        ("synthetic", Paper(**p.fields()), registry.get(t))
        for p in generate_papers(n, seed=5)
        for t in p.roles
    ]


def key_sentences(
    paper: Paper, snippets: list[Snippet], telescope: Telescope, registry: Registry
) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """(hit sentences, cue sentences) as (field, start) of each sentence."""
    patterns = [p for p in (registry.cues.compiled["science"], registry.cues.compiled[
        "instrumentation"], telescope.compiled.science, telescope.compiled.instrumentation)
        if p is not None]  # fmt: skip
    hits, cues = set(), set()
    for snippet in snippets:
        text = paper.text(snippet.field)
        spans = sentence_spans(text, snippet.start, snippet.end)
        with_hit = [i for i, (a, b) in enumerate(spans)
                    if any(a <= h.start < b for h in snippet.real_hits)]  # fmt: skip
        hits |= {(snippet.field, spans[i][0]) for i in with_hit}
        for i, (a, b) in enumerate(spans):
            near = any(abs(i - j) <= 1 for j in with_hit)
            if near and any(p.search(text[a:b]) for p in patterns):
                cues.add((snippet.field, a))
    return hits, cues


def sent(chosen: Iterator[tuple[str, int, int]], wanted: set[tuple[str, int]]) -> set:
    """The wanted sentences (by start) that lie inside one of the chosen spans."""
    spans = list(chosen)
    return {w for w in wanted if any(f == w[0] and a <= w[1] < b for f, a, b in spans)}


def measure(pairs: Pairs, registry: Registry, budget: int | None) -> dict[str, float]:
    evidence, hit_share, cue_share, full = [], [], [], []
    for _, paper, telescope in pairs:
        snippets = rank_snippets(find_snippets(paper, telescope), telescope, registry.cues)
        if not snippets:
            continue
        hits, cues = key_sentences(paper, snippets, telescope, registry)
        if budget is None:  # v1: whole snippets in rank order, capped
            chosen = select_snippets(snippets, 8, 1500, 24_000)
            spans = [(s.field, s.start, s.end) for s in chosen]
            texts = [s.text for s in chosen]
        else:
            patterns = evidence_patterns(telescope, registry.cues)
            sentences = budget_sentences(paper, snippets, budget, patterns)
            spans = [(s.field, s.start, s.end) for s in sentences]
            texts = [s.text for s in sentences]
        evidence.append(sum(len(tokens(t)) for t in texts))
        hit_share.append(len(sent(iter(spans), hits)) / len(hits) if hits else 1.0)
        kept = sent(iter(spans), cues)
        cue_share.append(len(kept) / len(cues) if cues else 1.0)
        full.append(len(kept) == len(cues))
    q = statistics.quantiles(evidence, n=10, method="inclusive")
    return {"pairs": len(evidence), "median": statistics.median(evidence), "p90": q[8],
            "hits": statistics.mean(hit_share), "cues": statistics.mean(cue_share),
            "full": statistics.mean(full)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budgets", type=int, nargs="+", default=[200, 250, 300, 350, 400, 450, 600, 800]
    )
    parser.add_argument("--synthetic", type=int, default=300)
    args = parser.parse_args()
    registry = load_registry()
    sets = {"real (dev + sample)": real_pairs(registry),
            "synthetic 60 KB": synthetic_pairs(registry, args.synthetic)}  # fmt: skip
    print("| pairs | selection | evidence tokens/pair (median, p90) | hit sentences sent | cue "
          "sentences sent | pairs with every cue sentence sent |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, pairs in sets.items():
        for budget in [None, *args.budgets]:
            m = measure(pairs, registry, budget)
            label = "v1: whole snippets (8 x 1,500 chars)" if budget is None else f"budget {budget}"
            print(f"| {name} ({m['pairs']}) | {label} | {m['median']:,.0f}, {m['p90']:,.0f} | "
                  f"{100 * m['hits']:.0f} % | {100 * m['cues']:.0f} % | {100 * m['full']:.0f} % |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
