"""``amc results`` writes final labels by default; ``amc bibliography`` writes the
bibliography of record (the CLI side of the review workbench)."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner
from webapp import SAMPLE

from amc.cli.main import app
from amc.domain.models import TelescopeLabels
from amc.store import Reviewer, open_store


def test_results_and_bibliography_carry_the_reviewers_labels(tmp_path: Path) -> None:
    env = {"AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "AMC_SPOOL_DIR": str(tmp_path / "spool"), "AMC_PROGRESS": "false"}  # fmt: skip
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(SAMPLE)], env=env)
    assert ran.exit_code == 0, ran.output
    with open_store(env["AMC_DATABASE_URL"]) as store:
        batch_id = store.list_batches(1)[0].id
        hst = [c for c in store.iter_results(batch_id) if c.telescope == "HST" and c.labels]
        science = next(c for c in hst if c.labels and c.labels.science)
        store.record_review(science.bibcode, "HST", TelescopeLabels(mention=True),
                            Reviewer("Grace Librarian", None), note="a citation")  # fmt: skip

    out = tmp_path / "final.csv"
    assert runner.invoke(app, ["results", batch_id, "-o", str(out)], env=env).exit_code == 0
    rows = {r["Id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    got = rows[science.pair_id]
    assert (got["science"], got["mention"], got["label_source"]) == ("False", "True", "reviewer")
    assert got["reviewer"] == "Grace Librarian" and got["model_science"] == "True"

    plain = tmp_path / "model.csv"
    done = runner.invoke(app, ["results", batch_id, "--model-labels", "-o", str(plain)], env=env)
    assert done.exit_code == 0
    model_rows = {r["Id"]: r for r in csv.DictReader(plain.open(encoding="utf-8"))}
    assert model_rows[science.pair_id]["science"] == "True"
    assert "label_source" not in model_rows[science.pair_id]

    listed = tmp_path / "hst.txt"
    made = runner.invoke(app, ["bibliography", batch_id, "-t", "hst", "-o", str(listed)], env=env)
    assert made.exit_code == 0, made.output
    bibcodes = listed.read_text(encoding="utf-8").split()
    assert science.bibcode not in bibcodes
    assert set(bibcodes) == {c.bibcode for c in hst if c.labels and c.pair_id != science.pair_id
                             and (c.labels.science or c.labels.instrumentation)}  # fmt: skip
    table = tmp_path / "hst.csv"
    assert runner.invoke(app, ["bibliography", batch_id, "-t", "HST", "-o", str(table)],
                         env=env).exit_code == 0  # fmt: skip
    entries = list(csv.DictReader(table.open(encoding="utf-8")))
    assert len(entries) == len([c for c in store_results(env, batch_id) if c == "HST"])
    assert next(e for e in entries if e["bibcode"] == science.bibcode)["labels"] == "mention"


def store_results(env: dict[str, str], batch_id: str) -> list[str]:
    with open_store(env["AMC_DATABASE_URL"]) as store:
        return [c.telescope for c in store.iter_results(batch_id)]


def test_results_and_bibliography_carry_the_final_links(tmp_path: Path) -> None:
    """A link a reviewer added is in ``amc results`` and ``amc bibliography``, one removed
    is not; ``model_links`` keeps the model's and ``--model-labels`` its links alone."""
    env = {"AMC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "AMC_SPOOL_DIR": str(tmp_path / "spool"), "AMC_PROGRESS": "false"}  # fmt: skip
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(SAMPLE)], env=env).exit_code == 0
    with open_store(env["AMC_DATABASE_URL"]) as store:
        batch_id = store.list_batches(1)[0].id
        linked = next(c for c in store.iter_results(batch_id)
                      if c.telescope == "HST" and c.link_values("instrument"))  # fmt: skip
        dropped = linked.link_values("instrument")[0]
        pair, ada = (linked.bibcode, "HST"), Reviewer("Ada", None)
        store.record_link_edit(pair, "instrument", dropped, "remove", ada)
        store.record_link_edit(pair, "programme", "HST:16000", "add", ada)

    out = tmp_path / "final.csv"
    assert runner.invoke(app, ["results", batch_id, "-o", str(out)], env=env).exit_code == 0
    got = next(r for r in csv.DictReader(out.open(encoding="utf-8")) if r["Id"] == linked.pair_id)
    assert dropped not in got["instruments"].split(";")
    assert got["programmes"].split(";")[-1] == "HST:16000"
    assert f"instrument:{dropped}" in got["model_links"].split(";")
    assert got["link_edits"] == f"+programme:HST:16000;-instrument:{dropped}"

    plain = tmp_path / "model.csv"
    assert runner.invoke(app, ["results", batch_id, "--model-labels", "-o", str(plain)],
                         env=env).exit_code == 0  # fmt: skip
    model = next(r for r in csv.DictReader(plain.open(encoding="utf-8"))
                 if r["Id"] == linked.pair_id)  # fmt: skip
    assert dropped in model["instruments"].split(";") and "HST:16000" not in model["programmes"]

    table = tmp_path / "hst.csv"
    assert runner.invoke(app, ["bibliography", batch_id, "-t", "HST", "-o", str(table)],
                         env=env).exit_code == 0  # fmt: skip
    entry = next(e for e in csv.DictReader(table.open(encoding="utf-8"))
                 if e["Id"] == linked.pair_id)  # fmt: skip
    assert entry["instruments"] == got["instruments"]
    assert entry["programmes"] == got["programmes"]
