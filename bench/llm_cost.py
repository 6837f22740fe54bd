"""Dollars per 1,000 pairs of the LLM tier, with the provider's prompt caching counted.

The scripted OpenAI-compatible server runs in its own process as a provider would
bill (``tests/llm_provider.py``): o200k token counts, the structured-output schema
read before the system message, a repeated prompt prefix of at least 1,024 tokens
billed as cached input in 128-token steps, and answers of the size a frontier model
writes to each prompt (about 190 tokens to the v1 prompts, which quote; the same
content cited by sentence number to the v2 prompts). The pairs are 1,000 (paper,
telescope) pairs of ~60 KB synthetic papers with planted science, mention, trap and
absent uses (``tests/papergen.py``).

For each design it prints calls per pair, prompt tokens per pair (cached / uncached),
answer tokens per pair, and dollars per 1,000 pairs at the list prices of two models
(litellm's bundled map: gpt-4.1-mini $0.40 / $0.10 cached / $1.60 per million input /
cached input / output tokens; gpt-4o-mini $0.15 / $0.075 / $0.60) as the provider
bills them, next to what amc itself reports (run with gpt-4.1-mini prices) and what
``--dry-run`` estimates. The Batch API row is the pair-mode requests (the Batch API
sends the very same requests, see ``tests/test_classify_llm_provider_batch.py``) at the
map's batch prices, without any cache discount.

``--baseline DIR`` measures the "before" rows with the amc package found in DIR (a
checkout of the code before a change, e.g. ``git archive 48ea6bc | tar -x -C DIR``)
and its default prompts; without it the before rows run the v1 prompts on this code.
Each measurement runs in a subprocess, so the two codes never share a process.

    .venv/bin/python bench/llm_cost.py [--pairs 1000] [--baseline DIR]
        [--designs pair paper cascade] [--evidence-tokens 450] [--sweep 250 350 450 600]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
MODEL = "openai/gpt-4.1-mini"
#: (name, input, cached input, output, batch input, batch output) in $ per million tokens
PRICES = {
    "gpt-4.1-mini": (0.40, 0.10, 1.60, 0.20, 0.80),
    "gpt-4o-mini": (0.15, 0.075, 0.60, 0.075, 0.30),
}


# -- the measurement, in a subprocess with the amc under test on sys.path ---------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run one design over the generated pairs; what amc reports about it."""
    sys.path[:0] = [str(args.amc_root), str(TESTS)]
    from papergen import generate_papers

    from amc.classify.dispatch import classify_pairs
    from amc.domain.models import Pair, Paper
    from amc.registry import load_registry
    from amc.settings import Settings
    from amc.snippets import find_snippets

    registry = load_registry()
    papers = generate_papers(args.pairs, seed=args.seed, body_kb=args.body_kb)
    pairs = [Pair(paper=Paper(**p.fields()), telescope=t) for p in papers for t in p.roles]
    llm: dict[str, Any] = {"model": MODEL, "api_base": args.api_base, "cache_path": None,
                           "concurrency": args.concurrency, "mode": args.mode,
                           "max_retries": 1}  # fmt: skip
    llm |= json.loads(args.llm_settings)
    settings = Settings(tier=args.tier, llm=llm, **json.loads(args.settings))
    results = classify_pairs(pairs, registry, settings)
    out: dict[str, Any] = {
        "pairs": len(results),
        "failed": sum(not r.ok for r in results),
        "calls": sum(r.usage.calls for r in results),
        "prompt_tokens": sum(r.usage.prompt_tokens for r in results),
        "cached_tokens": sum(getattr(r.usage, "cached_tokens", 0) for r in results),
        "completion_tokens": sum(r.usage.completion_tokens for r in results),
        "amc_cost": sum(r.usage.cost_usd or 0.0 for r in results),
        "per_pair_prompt": [r.usage.prompt_tokens for r in results if r.usage.calls],
        "prompt_name": next((r.prompt_name for r in results if r.prompt_name), "-"),
    }
    try:  # only code that knows prompt caching estimates it
        from amc.classify.estimate import estimate

        if args.tier == "llm":
            items = [(p, find_snippets(p.paper, registry.get(p.telescope))) for p in pairs]
            est = estimate([p for p, _ in items], registry, settings)
            out["estimate"] = {"cost": est.cost_usd, "cached": est.cached_tokens,
                               "prompt": est.prompt_tokens}  # fmt: skip
    except (ImportError, AttributeError):
        pass
    return out


# -- the orchestration -------------------------------------------------------------------


def start_server() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, str(TESTS / "llm_server.py"), "--provider"]
    env = os.environ | {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # its tokenizer, offline
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def server_billed(api_base: str, reset: bool = False) -> dict[str, int]:
    url = f"{api_base}/_stats" + ("/reset" if reset else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        return dict(json.load(response)["billed"])


def run_design(args: argparse.Namespace, api_base: str, design: dict[str, Any]) -> dict[str, Any]:
    server_billed(api_base, reset=True)  # an empty prompt cache and bill for each design
    cmd = [sys.executable, __file__, "--measure", "--api-base", api_base,
           "--amc-root", str(design["root"]), "--pairs", str(args.pairs),
           "--seed", str(args.seed), "--body-kb", str(args.body_kb),
           "--concurrency", str(args.concurrency), "--mode", design["mode"],
           "--tier", design["tier"], "--llm-settings", json.dumps(design["llm"]),
           "--settings", json.dumps(design.get("settings", {}))]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed ({design['label']}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["billed"] = server_billed(api_base)
    return result


def dollars(billed: dict[str, int], model: str, batch: bool = False) -> float:
    """What the provider bills for these tokens, in dollars."""
    price_in, price_cached, price_out, batch_in, batch_out = PRICES[model]
    if batch:
        return (billed["prompt_tokens"] * batch_in + billed["completion_tokens"] * batch_out) / 1e6
    uncached = billed["prompt_tokens"] - billed["cached_tokens"]
    return (
        uncached * price_in
        + billed["cached_tokens"] * price_cached
        + billed["completion_tokens"] * price_out
    ) / 1e6


def row(label: str, what: str, result: dict[str, Any], batch: bool = False) -> str:
    n, billed = result["pairs"], result["billed"]
    per_1000 = [1000 * dollars(billed, m, batch) / n for m in PRICES]
    reported = "-" if batch else f"{1000 * result['amc_cost'] / n:.3f}"
    agreement = (
        "-"
        if batch
        else f"{100 * (result['amc_cost'] / dollars(billed, 'gpt-4.1-mini') - 1):+.1f} %"
    )
    estimate = result.get("estimate")
    est = "-" if batch or not estimate else f"{1000 * (estimate['cost'] or 0) / n:.3f}"
    cached, prompt = billed["cached_tokens"], billed["prompt_tokens"]
    cells = [label, what, f"{billed['calls'] / n:.2f}",
             f"{prompt / n:,.0f} ({cached / n:,.0f} / {(prompt - cached) / n:,.0f})",
             f"{billed['completion_tokens'] / n:.0f}", f"{100 * cached / max(1, prompt):.0f} %",
             *(f"{x:.3f}" for x in per_1000), reported, agreement, est]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def distribution(values: list[int]) -> str:
    if not values:
        return "-"
    q = statistics.quantiles(values, n=10, method="inclusive")
    return (f"p10 {q[0]:,.0f}, median {statistics.median(values):,.0f}, p90 {q[8]:,.0f}, "
            f"max {max(values):,}")  # fmt: skip


def designs(args: argparse.Namespace) -> list[dict[str, Any]]:
    before_root = args.baseline or ROOT
    v1 = {} if args.baseline else {"prompt_name": "classify_pair.v1",
                                    "paper_prompt_name": "classify_paper.v1"}  # fmt: skip
    after = {"evidence_tokens": args.evidence_tokens} if args.evidence_tokens else {}
    out = []
    for name in args.designs:
        mode = "paper" if name == "paper" else "pair"
        tier = "cascade" if name == "cascade" else "llm"
        runs = [("before", before_root, v1, {}), ("after", ROOT, after, {})]
        settings = json.loads(args.cascade_settings)
        if tier == "cascade" and settings:  # a calibration: a setting the code before lacks
            runs.append(("after, calibrated", ROOT, after, settings))
        for label, root, llm, extra in runs:
            out.append({"name": name, "label": label, "root": root, "mode": mode, "tier": tier,
                        "llm": llm, "settings": extra})  # fmt: skip
    for budget in args.sweep:
        out.append({"name": "pair", "label": f"budget {budget}", "root": ROOT, "mode": "pair",
                    "tier": "llm", "llm": {"evidence_tokens": budget}})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--body-kb", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--designs", nargs="*", default=["pair", "paper", "cascade"])
    parser.add_argument("--baseline", type=Path, help="amc source tree of the 'before' rows")
    parser.add_argument("--evidence-tokens", type=int, help="the after rows' evidence budget")
    parser.add_argument("--sweep", type=int, nargs="*", default=[], help="budgets to compare")
    parser.add_argument(
        "--cascade-settings", default="{}", help="JSON settings of the after cascade rows"
    )
    # the measurement subprocess
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    parser.add_argument("--amc-root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="pair", help=argparse.SUPPRESS)
    parser.add_argument("--tier", default="llm", help=argparse.SUPPRESS)
    parser.add_argument("--llm-settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args)))
        return

    proc, api_base = start_server()
    try:
        results = [(d, run_design(args, api_base, d)) for d in designs(args)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print_tables(args, results)


def print_tables(
    args: argparse.Namespace, results: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    before = f"amc at {args.baseline}" if args.baseline else "v1 prompts, this code"
    print(f"## Dollars per 1,000 pairs ({args.pairs} pairs, ~{args.body_kb:g} KB bodies, "
          f"provider-style prompt caching; before = {before})\n")  # fmt: skip
    print("| design | code, prompt | calls/pair | prompt tok/pair (cached / uncached) | answer "
          "tok/pair | cached | $/1k gpt-4.1-mini | $/1k gpt-4o-mini | amc reports $/1k | amc vs "
          "bill | --dry-run $/1k |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for design, result in results:
        what = f"{design['label']}, {result['prompt_name']}"
        print(row(design["name"], what, result), flush=True)
        if design["name"] == "pair":
            print(row("Batch API", what, result, batch=True))
    print("\nprompt tokens per pair that made a call (amc's own count):\n")
    for design, result in results:
        print(f"- {design['name']}, {design['label']}: {distribution(result['per_pair_prompt'])}")
    failed = sum(r["failed"] for _, r in results)
    print(f"\nfailed pairs in all runs: {failed}")


if __name__ == "__main__":
    main()
