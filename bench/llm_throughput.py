"""Throughput and cost of the LLM tier, against the scripted server (no real model).

Part 1 - throughput: the scripted OpenAI-compatible server answers every call
after a fixed latency (default 500 ms); pairs/s is measured through the real
client over HTTP at several concurrency limits, with each transport (the lean
``http`` one and ``litellm``). The server runs in its own process (started
from ``tests/llm_server.py``) so it does not compete for this process's GIL;
the CPU time per pair of both processes is reported, and "% of limit" is
pairs/s over concurrency / latency. Concurrency 1 runs on fewer pairs
(``--serial-pairs``) because 1,000 pairs would take 500 s.

Part 2 - tokens and dollars on the real dev-papers pairs: prompt tokens are
counted offline on the rendered prompts; completion tokens are the estimate
used by ``estimate_cost``. The reference design (one reranker call per
snippet, then two sequential classification calls) is priced on the same
snippets, with its token counts approximated as documented in
``reference_tokens``.

    .venv/bin/python bench/llm_throughput.py [--pairs 1000] [--latency 0.5]
        [--concurrency 1 8 32 64] [--transports http litellm] [--no-cost]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pandas as pd  # noqa: E402
from benchkit import llm_server, server_stats  # noqa: E402

from amc.classify.llm import classify_pairs_llm_sync, estimate_cost, warm_up  # noqa: E402
from amc.classify.llm.cost import ANSWER_TOKENS_PER_TELESCOPE  # noqa: E402
from amc.classify.llm.provider import tokens as llm_client  # noqa: E402
from amc.domain.models import Pair, Paper, Snippet  # noqa: E402
from amc.registry import Registry, load_registry  # noqa: E402
from amc.settings.llm import LLMSettings  # noqa: E402
from amc.snippets import find_snippets  # noqa: E402

DEV_PAPERS = Path("/work/shared/data/dev-papers/papers.parquet")
#: models priced from litellm's bundled price map
PRICED_MODELS = ("gpt-4o-mini", "gpt-4.1-mini")
Items = list[tuple[Pair, list[Snippet]]]


def synthetic_items(registry: Registry, n: int) -> Items:
    body = (
        "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345. "
        "The images were reduced with the standard pipeline. Earlier JWST work is cited."
    )
    items = []
    for i in range(n):
        paper = Paper(bibcode=f"BENCH{i:05d}", body=body.format(i=i))
        items.append(
            (Pair(paper=paper, telescope="HST"), find_snippets(paper, registry.get("HST")))
        )
    return items


def dev_items(registry: Registry) -> Items:
    frame = pd.read_parquet(DEV_PAPERS)
    items = []
    for row in frame.itertuples():
        fields = ("title", "abstract", "body", "acknowledgments", "grants")
        paper = Paper(bibcode=row.bibcode, **{f: getattr(row, f) or "" for f in fields})
        telescope = registry.get(row.telescope)
        items.append((Pair(paper=paper, telescope=row.telescope), find_snippets(paper, telescope)))
    return items


def throughput(
    registry: Registry, items: Items, concurrency: int, api_base: str, transport: str
) -> dict:
    cfg = LLMSettings(
        model="openai/local",
        api_base=api_base,
        concurrency=concurrency,
        cache_path=None,
        transport=transport,
    )
    warm_up(cfg)  # imports (litellm: seconds) are not part of the steady state
    server_cpu = server_stats(api_base, reset=True)["cpu_s"]
    start, cpu = time.monotonic(), time.process_time()
    results = classify_pairs_llm_sync(items, registry, cfg)
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
    stats = server_stats(api_base)
    n = len(items)
    return {"concurrency": concurrency, "pairs": n, "ok": sum(r.ok for r in results),
            "seconds": elapsed, "pairs_per_s": n / elapsed,
            "calls_per_pair": stats["chat_requests"] / n, "max_in_flight": stats["max_in_flight"],
            "client_cpu_ms": 1000 * cpu / n,
            "server_cpu_ms": 1000 * (stats["cpu_s"] - server_cpu) / n}  # fmt: skip


def reference_tokens(items: Items, model: str) -> tuple[int, int, int]:
    """(calls, prompt tokens, completion tokens) of the reference design on ``items``:
    per snippet a yes/no reranker call (snippet + ~60 instruction tokens, 1 output token);
    then call 1 (top 5 snippets + ~600 instruction tokens -> ~300 tokens of quotes and
    reasoning) and call 2 (~300 instruction tokens + call 1's output -> ~60 tokens)."""
    calls = prompt = completion = 0
    for _, snippets in items:
        if not snippets:
            continue
        sizes = sorted(
            (llm_client.count_text_tokens(model, s.text) for s in snippets), reverse=True
        )
        calls += len(sizes) + 2
        prompt += sum(size + 60 for size in sizes) + (sum(sizes[:5]) + 600) + (300 + 300)
        completion += len(sizes) + 300 + 60
    return calls, prompt, completion


def price(model: str, prompt: int, completion: int) -> float:
    return llm_client.bundled_price(model, prompt, completion) or float("nan")


def table_row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--serial-pairs", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--transports", nargs="+", default=["http", "litellm"])
    parser.add_argument("--no-cost", action="store_true", help="skip part 2")
    args = parser.parse_args()
    registry = load_registry()

    print(f"## Throughput (scripted server, {args.latency * 1000:.0f} ms per call)\n")
    print("| transport | concurrency | pairs | ok | seconds | pairs/s | % of limit | calls/pair "
          "| max in flight | client CPU ms/pair | server CPU ms/pair |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with llm_server(args.latency) as api_base:
        for transport in args.transports:
            for c in args.concurrency:
                n = args.serial_pairs if c == 1 else args.pairs
                row = throughput(registry, synthetic_items(registry, n), c, api_base, transport)
                limit = c / args.latency
                cells = [transport, c, row["pairs"], row["ok"], f"{row['seconds']:.1f}"]
                cells += [f"{row['pairs_per_s']:.1f}", f"{100 * row['pairs_per_s'] / limit:.0f} %"]
                cells += [f"{row['calls_per_pair']:.2f}", row["max_in_flight"]]
                cells += [f"{row['client_cpu_ms']:.1f}", f"{row['server_cpu_ms']:.1f}"]
                print(table_row(*cells), flush=True)
    if args.no_cost:
        return

    items = dev_items(registry)
    print(f"\n## Tokens and cost on the {len(items)} dev-papers pairs\n")
    print(
        "| design | model | calls/pair | prompt tok/pair | completion tok/pair | $ per 10k pairs |"
    )
    print("|---|---|---|---|---|---|")
    for model in PRICED_MODELS:
        for mode in ("pair", "paper"):
            est = estimate_cost(items, LLMSettings(model=model, mode=mode), registry)
            per = 10_000 / est.pairs
            cost = price(model, est.prompt_tokens, est.completion_tokens) * per
            print(table_row(f"amc ({mode} mode)", model, f"{est.calls / est.pairs:.2f}",
                            f"{est.prompt_tokens / est.pairs:.0f}",
                            f"{est.completion_tokens / est.pairs:.0f}", f"{cost:.2f}"))  # fmt: skip
        calls, prompt, completion = reference_tokens(items, model)
        n = len(items)
        cost = price(model, prompt, completion) * 10_000 / n
        print(table_row("reference (rerank + 2 calls)", model, f"{calls / n:.2f}",
                        f"{prompt / n:.0f}", f"{completion / n:.0f}", f"{cost:.2f}"))  # fmt: skip
    snippets = [len(s) for _, s in items]
    print(f"\nsnippets per pair on dev papers: median {statistics.median(snippets)}, "
          f"max {max(snippets)}; amc completion tokens assume {ANSWER_TOKENS_PER_TELESCOPE} "
          "per telescope answer")  # fmt: skip


if __name__ == "__main__":
    main()
