"""CPU per pair as instructions, which do not move with the machine: ``amc classify`` under
Valgrind's cachegrind.

``bench/tracs_scale.py`` measures CPU time, and on these shared VMs the same code's CPU
time per pair moves by a third within an hour and by 2x between machines, so a 10 %
change cannot be told from the drift. The number of instructions a run executes hardly
moves at all (cachegrind counts them; no hardware counters are needed). This runs
``amc classify --tier llm`` over the TRACS-shaped inputs of ``bench/tracs_data.py`` at two
sizes against the scripted server (``--frontier-answers``), and reports instructions per
pair as the difference between them (start-up cancels out), for each checkout given
with ``--code``, alternately, and the ratio to the first one:

    .venv/bin/python bench/cpu_instructions.py [--pairs 150] [--body-kb 60]
        [--code OLD_CHECKOUT --code .]

Instructions are not time (a cache miss costs more than an addition), but between two
versions of the same program on the same interpreter their ratio is a far steadier
measure than CPU seconds here: the ratio of an old checkout to this one, times the CPU
the old one was measured at on some machine, estimates this one's CPU on that machine.
A run of 150 + 300 pairs takes about ten minutes per checkout (Valgrind runs Python
some 40x slower). Needs ``valgrind`` (Debian's package).
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from benchkit import amc_env, llm_server  # noqa: E402
from tracs_data import write_tracs  # noqa: E402

_TOTAL = re.compile(r"^summary:\s+(\d+)", re.MULTILINE)


@dataclass
class Count:
    code: Path
    pairs: int
    instructions: int


def count(code: Path, data: Path, api_base: str, work: Path, command: str = "classify") -> Count:
    """Instructions of one ``amc classify`` (or ``amc run``) of the checkout ``code`` over
    ``data``."""
    out, profile = work / "out.csv", work / "cachegrind.out"
    # a fixed, small environment: the instruction count should not depend on the caller's
    env = amc_env(api_base, 64, work, code, base={"PATH": "/usr/bin:/bin", "HOME": str(work)})
    env["AMC_HOME"] = str(work)  # `amc run`'s job store: a fresh SQLite file
    # str hashes are salted per process, and set and dict orders with them (the registry's
    # compiled patterns among them): start-up moved by up to 0.8 G instructions run to run
    env["PYTHONHASHSEED"] = "0"
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
            f"--cachegrind-out-file={profile}", sys.executable, "-m", "amc.cli",
            command, str(data), "-o", str(out)]  # fmt: skip
    proc = subprocess.run(argv, env=env, cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"amc {command} failed under valgrind:\n{proc.stderr[-3000:]}")
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if any(r["error"] for r in rows):
        raise RuntimeError(f"{sum(bool(r['error']) for r in rows)} pairs failed: not a fair count")
    found = _TOTAL.search(profile.read_text())
    if found is None:
        raise RuntimeError(f"no instruction total in {profile}")
    return Count(code, len(rows), int(found.group(1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=150, help="the smaller size; also 2x")
    parser.add_argument("--body-kb", type=float, default=60)
    parser.add_argument("--command", choices=("classify", "run"), default="classify",
                        help="run: the workers' path in one process (a paper per submission, "
                        "results saved to a SQLite job store)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "amc-bench")
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="a checkout whose amc to run (repeat to compare)")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    codes = [c.resolve() for c in args.code] or [ROOT]
    sizes = [args.pairs, 2 * args.pairs]
    data = {n: write_tracs(args.data_dir / f"tracs-{n}-{args.body_kb:g}", n, args.body_kb)
            for n in sizes}  # fmt: skip
    counts: dict[tuple[Path, int], Count] = {}
    with llm_server(0.05, "--frontier-answers") as api_base:
        for n in sizes:
            for code in codes:  # alternated, as in tracs_scale.py (here it matters little)
                with tempfile.TemporaryDirectory() as tmp:
                    counts[code, n] = count(code, data[n], api_base, Path(tmp), args.command)
                c = counts[code, n]
                print(f"{code.name}: {c.pairs} pairs, {c.instructions:,} instructions",
                      file=sys.stderr, flush=True)  # fmt: skip
    print(f"`amc {args.command} --tier llm`, {args.body_kb:g} KB bodies; instructions per pair = "
          f"(I({sizes[1]} pairs) - I({sizes[0]} pairs)) / pairs between them\n")  # fmt: skip
    header = ["checkout", f"I({sizes[0]})", f"I({sizes[1]})", "instructions per pair",
              "vs the first"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    first: float | None = None
    for code in codes:
        small, large = counts[code, sizes[0]], counts[code, sizes[1]]
        per_pair = (large.instructions - small.instructions) / (large.pairs - small.pairs)
        first = per_pair if first is None else first
        print(f"| {code.name} | {small.instructions / 1e9:.2f} G | {large.instructions / 1e9:.2f} G"
              f" | {per_pair / 1e6:.1f} M | {per_pair / first:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
