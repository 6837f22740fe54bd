"""Does ``--max-cost`` hold? What a provider would bill against the budget.

``amc classify`` and ``amc run`` (the console command, as a subprocess) classify
``--pairs`` papers through the LLM tier against the chaos suite's fault server
(``tests/chaos/fault_server.py``, threads in this process), which reports the real
token usage of each request (the prompt counted with litellm's tokenizer, as amc
counts it locally) and bills it at the price amc is given (``AMC_PRICES``), so the
spend is known independently of what amc records. One call costs about $0.13 at
the default price. Printed per run: requests the provider received, dollars it
billed, dollars amc recorded in its output, the spend its stop message states,
and the exit status.

    .venv/bin/python bench/budget.py [--pairs 300] [--budgets 0.35 2] [--in-flight 8 32]
                                     [--commands classify run] [--latency 0.2] [--code DIR]

``--code DIR`` measures another checkout (``python -m amc.cli`` runs with DIR as its
working directory, so DIR's ``amc`` is imported): the "before" numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "chaos")]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # loopback only

from chaos_support import read_jsonl, record_cost, write_papers  # noqa: E402
from fault_server import FaultServer, tokenizer_usage  # noqa: E402

PRICE = 100.0  # US dollars per million tokens, input and output


def run_once(
    command: str, pairs: int, budget: float, in_flight: int, latency: float, code: Path
) -> dict:
    with tempfile.TemporaryDirectory(prefix="amc-budget-") as tmp, FaultServer() as stub:
        work = Path(tmp)
        stub.usage = tokenizer_usage("openai/local")
        stub.price, stub.latency_s = (PRICE, PRICE), latency
        data = work / "papers.jsonl"
        write_papers(data, pairs)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
        env |= {
            "AMC_DATABASE_URL": f"sqlite:///{work / 'amc.sqlite3'}",
            "AMC_CACHE_PATH": str(work / "cache.sqlite"), "AMC_SPOOL_DIR": str(work / "spool"),
            "AMC_PROGRESS": "false", "AMC_LLM_CONCURRENCY": str(in_flight),
            "AMC_MAX_COST_USD": str(budget), "AMC_LLM_BACKOFF_S": "0",
            "AMC_PRICES": json.dumps({"openai/local": {"input_per_mtok": PRICE,
                                                       "output_per_mtok": PRICE}}),
            "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
        }  # fmt: skip
        out = work / "out.jsonl"
        llm = ["--tier", "llm", "--model", "openai/local", "--api-base", stub.api_base]
        argv = [sys.executable, "-m", "amc.cli", command, str(data), "-o", str(out), *llm]
        done = subprocess.run(argv, cwd=code, env=env, capture_output=True, text=True,
                              timeout=900)  # fmt: skip
        recorded = sum(record_cost(r) for r in read_jsonl(out)) if out.exists() else float("nan")
        stated = [
            float(x)
            for line in done.stderr.splitlines()
            if re.search(r"budget|spent", line, re.I)
            for x in re.findall(r"\$([0-9]+\.[0-9]+)", line)
            if float(x) != budget
        ]
        return {
            "requests": stub.requests,
            "billed": stub.billed_usd(),
            "recorded": recorded,
            "stated": stated[0] if stated else None,
            "exit": done.returncode,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.35, 2.0])
    parser.add_argument("--in-flight", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--commands", nargs="+", default=["classify", "run"])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose amc runs")
    args = parser.parse_args()
    print("| command | pairs | in flight | budget | requests | billed | recorded | stated | "
          "billed ≤ budget | exit |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for command in args.commands:
        for in_flight in args.in_flight:
            for budget in args.budgets:
                r = run_once(command, args.pairs, budget, in_flight, args.latency, args.code)
                stated = "none" if r["stated"] is None else f"${r['stated']:.4f}"
                ok = "yes" if r["billed"] <= budget else "**no**"
                print(f"| {command} | {args.pairs} | {in_flight} | ${budget:.2f} | "
                      f"{r['requests']} | ${r['billed']:.4f} | ${r['recorded']:.4f} | {stated} | "
                      f"{ok} | {r['exit']} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
