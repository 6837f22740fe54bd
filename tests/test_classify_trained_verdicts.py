"""The trained tier taught by the LLM: `amc train --from-verdicts RUN.jsonl`.

Unit tests of reading verdict files (failed rows, a run cut short, repeats) and of the
join with the input's pairs (human labels win, verdicts without text are counted), then
one end-to-end run: the scripted LLM server labels papers over HTTP with a quirk of its
own (science only when a paper says "we observed", so "we obtained ... images" is a
mention to it, unlike to the rules tier), `amc train` learns from its verdicts, the
trained tier reproduces the teacher on papers it has not seen, and the cascade uses it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer
from typer.testing import CliRunner

from amc.classify.trained import VerdictsError, join_labels, read_verdicts
from amc.cli.main import app
from amc.domain.errors import InputError
from amc.domain.models import Classification, Pair, Paper, TelescopeLabels

runner = CliRunner()
SCIENCE = TelescopeLabels(science=True)
MENTION = TelescopeLabels(mention=True)


def verdict(pair_id: str, labels: TelescopeLabels, model: str = "openai/gpt-4o-mini") -> str:
    bibcode, _, telescope = pair_id.rpartition("_")
    record = Classification(
        pair_id=pair_id, bibcode=bibcode, telescope=telescope, tier="llm", labels=labels,
        model=model, prompt_name="classify_pair.v1",
    )  # fmt: skip
    return record.model_dump_json()


def failed(pair_id: str) -> str:
    bibcode, _, telescope = pair_id.rpartition("_")
    record = Classification.failed(pair_id, bibcode, telescope, TimeoutError("timed out"))
    return record.model_dump_json()


def pair(bibcode: str, gold: TelescopeLabels | None = None) -> Pair:
    return Pair(paper=Paper(bibcode=bibcode, body="We observed it with HST."), telescope="HST",
                gold=gold)  # fmt: skip


# --- reading verdict files ---------------------------------------------------------------


def test_failed_rows_a_cut_line_and_repeats_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    lines = [verdict("A_HST", SCIENCE), failed("B_HST"), verdict("C_HST", MENTION),
             verdict("A_HST", MENTION), '{"pair_id": "D_HST", "tel']  # fmt: skip
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    read = read_verdicts(path)
    assert read.labels == {"A_HST": MENTION, "C_HST": MENTION}  # the last verdict of a pair
    assert (read.lines, read.failed, read.unreadable, read.repeated) == (5, 1, 1, 1)
    assert read.first_unreadable_line == 5 and read.models == {"openai/gpt-4o-mini": 3}


def test_a_file_without_usable_verdicts_says_how_to_make_one(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(failed("A_HST") + "\nId,telescope\n", encoding="utf-8")
    with pytest.raises(VerdictsError, match=r"1 failed, 1 unreadable.*--tier llm"):
        read_verdicts(path)
    with pytest.raises(InputError, match="cannot read"):
        read_verdicts(tmp_path / "missing.jsonl")


# --- joining verdicts with the input's pairs --------------------------------------------


def test_human_labels_win_and_verdicts_fill_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    lines = [verdict("A_HST", MENTION), verdict("B_HST", SCIENCE), verdict("Z_HST", SCIENCE),
             verdict("D_HST", MENTION)]  # fmt: skip
    path.write_text("\n".join(lines), encoding="utf-8")
    pairs = [pair("A", SCIENCE), pair("B"), pair("C"), pair("D", MENTION)]
    labelled, origins, sources = join_labels(pairs, [read_verdicts(path)])
    assert [(p.pair_id, p.gold) for p in labelled] == [
        ("A_HST", SCIENCE), ("B_HST", SCIENCE), ("D_HST", MENTION)
    ]  # fmt: skip
    assert origins == ["human", "llm", "human"]
    assert (sources.human, sources.llm, sources.unlabelled) == (2, 1, 1)
    assert (sources.both, sources.llm_agreed) == (2, 1)  # A disagreed, D agreed
    (file,) = sources.to_manifest()["verdict_files"]
    assert (file["used"], file["not_in_data"]) == (3, 1) and sources.not_in_data_examples == [
        "Z_HST"
    ]
    assert "Z_HST" in sources.summary() and "1 input pair(s) without any label" in sources.summary()


def test_verdicts_of_another_input_are_an_error_naming_one(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text(verdict("OTHER_HST", SCIENCE), encoding="utf-8")
    with pytest.raises(VerdictsError, match=r"OTHER_HST.*input the LLM run classified"):
        join_labels([pair("A"), pair("B")], [read_verdicts(path)])


# --- end to end: an LLM run teaches the trained tier ---------------------------------------

OBJECTS = ["NGC 4258", "M87", "WASP-107", "SN 2014J", "Abell 1689", "M31", "NGC 1068", "Cas A"]
FILLER = [
    "The origin of the emission in {obj} remains debated.",
    "Models predict a steep radial gradient in {obj}.",
    "The distance to {obj} is adopted from the literature.",
    "We summarise our conclusions in the final section.",
    "Section {n} discusses the systematic uncertainties.",
]


def write_papers(path: Path, n: int, seed: int) -> Path:
    """Unlabelled HST papers; half say "we observed", half "we obtained ... images"."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            obj = rng.choice(OBJECTS)
            if i % 2:
                key = f"We observed {obj} with HST/WFC3 for {rng.randint(2, 30)} orbits."
            else:
                key = f"We obtained HST/WFC3 images of {obj} in {rng.randint(2, 30)} orbits."
            body = [f.format(obj=obj, n=rng.randint(2, 6)) for f in rng.sample(FILLER, 3)]
            body.insert(rng.randint(0, 3), key)
            record = {"bibcode": f"2024TCH..{seed:02d}{i:04d}T", "telescope": "HST",
                      "title": f"A study of {obj}", "body": " ".join(body)}  # fmt: skip
            handle.write(json.dumps(record) + "\n")
    return path


def classify(server: ScriptedLLMServer | None, cwd: Path, *args: str) -> list[dict]:
    """`amc classify ... -o out.jsonl`: in a subprocess talking to ``server``, or in-process
    for the local tiers."""
    out = cwd / f"out-{len(list(cwd.glob('out-*')))}.jsonl"
    if server is None:
        done = runner.invoke(app, ["classify", *args, "-o", str(out)])
        assert done.exit_code == 0, (done.output, done.exception)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AMC_")}
        env.update({"AMC_MODEL": "openai/local", "AMC_API_BASE": server.api_base,
                    "AMC_CACHE_PATH": str(cwd / "cache.sqlite"), "AMC_LLM_MAX_RETRIES": "1",
                    "AMC_LLM_BACKOFF_S": "0.01", "AMC_LLM_CONCURRENCY": "16"})  # fmt: skip
        run = subprocess.run(
            [sys.executable, "-m", "amc.cli", "classify", *args, "-o", str(out)],
            capture_output=True, text=True, env=env, timeout=300, cwd=cwd,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def agreement(a: list[dict], b: list[dict]) -> float:
    by_id = {r["pair_id"]: r["labels"] for r in b}
    return sum(r["labels"] == by_id[r["pair_id"]] for r in a) / len(a)


@pytest.mark.slow
def test_an_llm_run_teaches_the_trained_tier_and_the_cascade_uses_it(
    server: ScriptedLLMServer, tmp_path: Path
) -> None:
    train_data = write_papers(tmp_path / "train.jsonl", 80, seed=1)
    test_data = write_papers(tmp_path / "test.jsonl", 30, seed=2)
    verdicts = classify(server, tmp_path, str(train_data), str(test_data), "--tier", "llm")
    assert {r["tier"] for r in verdicts} == {"llm"}
    teacher = [r for r in verdicts if "TCH..02" in r["pair_id"]]
    lines = [json.dumps(r) for r in verdicts if "TCH..01" in r["pair_id"]]
    lines += [failed("2024TCH..999999T_HST"), lines[0].replace("TCH..01", "XYZ..01"),
              lines[1][:40]]  # fmt: skip
    run = tmp_path / "run.jsonl"
    run.write_text("\n".join(lines) + "\n", encoding="utf-8")

    model = tmp_path / "model"
    trained = runner.invoke(app, ["train", "--data", str(train_data), "--from-verdicts", str(run),
                                  "--model-path", str(model), "--folds", "3"])  # fmt: skip
    assert trained.exit_code == 0, (trained.output, trained.exception)
    assert "80 labelled by LLM verdicts" in trained.output
    assert "skipped 1 failed, 1 unreadable line(s), 1 not in --data" in trained.output
    manifest = json.loads((model / "manifest.json").read_text())
    sources = manifest["label_sources"]
    assert (sources["llm"], sources["human"]) == (80, 0)
    (file,) = sources["verdict_files"]
    assert file["sha256"] and file["models"] == {"openai/local": 81}  # one not in --data
    assert manifest["cv_metrics_by_source"]["llm"]["n_pairs"] == 80
    assert manifest["cv_metrics"]["cell_macro_f1"] > 0.9

    # on papers it never saw, the trained tier answers like its teacher, not like the rules
    student = classify(None, tmp_path, str(test_data), "--tier", "trained", "--model-path",
                       str(model))  # fmt: skip
    rules = classify(None, tmp_path, str(test_data), "--tier", "rules")
    assert agreement(student, teacher) >= 0.9
    assert agreement(rules, teacher) <= 0.7

    before = len(server.chat_requests)
    cascade = classify(server, tmp_path, str(test_data), "--tier", "cascade", "--model-path",
                       str(model), "--no-cache")  # fmt: skip
    assert {r["tier"] for r in cascade} >= {"trained"}
    assert len(server.chat_requests) - before < len(cascade)  # the confident ones cost nothing
