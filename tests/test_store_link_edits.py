"""Reviewer link edits in the job store (``amc.store.link_edits``), the final links they
make (``amc.links.reviewed``) and the bibliography of record written from them, on
SQLite and PostgreSQL; and migration 0007 over a store at 0006."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from amc.domain.models import Classification, Link, TelescopeLabels
from amc.jobs.exports import export_bibliography
from amc.links.reviewed import review_links
from amc.store import Reviewer, Store, make_engine
from amc.store.migrations import alembic_config, upgrade_to_head

ADA = Reviewer("Ada", token_id=None)


def _link(kind: str, value: str, start: int = 0) -> Link:
    return Link(kind=kind, value=value, quote=f"we used {value}", field="body",  # type: ignore[arg-type]
                start=start, end=start + 8 + len(value), verified=True)  # fmt: skip


def _result(bibcode: str, links: list[Link], labels: TelescopeLabels) -> Classification:
    return Classification(pair_id=f"{bibcode}_HST", bibcode=bibcode, telescope="HST",
                          labels=labels, links=links)  # fmt: skip


@pytest.fixture
def batch(store: Store) -> str:
    """A batch of two HST pairs: A (science, WFC3 and programme 15000), B (mention)."""
    batch_id, _ = store.create_batch(["in.jsonl"], "edits-hash", ["HST"], "rules", {})
    a, b = store.add_papers(batch_id, [("A", "in", "h1"), ("B", "in", "h2")])
    science, mention = TelescopeLabels(science=True), TelescopeLabels(mention=True)
    store.save_papers(batch_id, [
        (a, [_result("A", [_link("instrument", "WFC3"), _link("programme", "HST:15000", 30)],
                     science)]),
        (b, [_result("B", [], mention)]),
    ])  # fmt: skip
    return batch_id


def test_edits_are_kept_in_order_with_who_and_when(store: Store, batch: str) -> None:
    store.record_link_edit(("A", "hst"), "instrument", "WFC3", "remove", ADA, "only cited")
    second = store.record_link_edit(("A", "HST"), "instrument", "COS", "add", Reviewer("Bo", 7))
    edits = store.link_edits("A", "HST")
    assert [(e.action, e.value, e.reviewer, e.note) for e in edits] == [
        ("remove", "WFC3", "Ada", "only cited"), ("add", "COS", "Bo", ""),
    ]  # fmt: skip
    assert edits[0].telescope == "HST" and edits[1].token_id == 7
    assert edits[0].created_at.tzinfo is not None and edits[0].id < second.id == edits[1].id
    assert store.link_edits("B", "HST") == []


def test_batch_link_edits_are_those_of_the_batch_pairs(store: Store, batch: str) -> None:
    store.record_link_edit(("A", "HST"), "doi", "10.17909/x", "add", ADA)
    store.record_link_edit(("Z", "HST"), "doi", "10.17909/y", "add", ADA)  # no batch has Z
    by_pair = store.batch_link_edits(batch)
    assert list(by_pair) == [("A", "HST")]
    assert [e.value for e in by_pair[("A", "HST")]] == ["10.17909/x"]


def test_final_links_are_model_minus_removed_plus_added(store: Store, batch: str) -> None:
    c = next(r for r in store.iter_results(batch) if r.bibcode == "A")
    store.record_link_edit(("A", "HST"), "instrument", "WFC3", "remove", ADA)
    store.record_link_edit(("A", "HST"), "instrument", "COS", "add", ADA)
    store.record_link_edit(("A", "HST"), "programme", "HST:15000", "remove", ADA)
    store.record_link_edit(("A", "HST"), "programme", "HST:15000", "add", ADA)  # restored
    links = review_links(c.links, store.link_edits("A", "HST"), c.labels)
    assert [(r.kind, r.value, r.source) for r in links.final] == [
        ("programme", "HST:15000", "rules"), ("instrument", "COS", "reviewer"),
    ]  # fmt: skip
    assert links.final[0].link == c.links[1]  # the restored model link keeps its quote
    assert [r.value for r in links.removed] == ["WFC3"]
    assert review_links(c.links, [], TelescopeLabels(mention=True)).final == []


def test_the_bibliography_csv_has_the_final_links(store: Store, batch: str, tmp_path: Path) -> None:
    store.record_link_edit(("A", "HST"), "instrument", "WFC3", "remove", ADA)
    store.record_link_edit(("A", "HST"), "instrument", "COS", "add", ADA)
    store.record_link_edit(("A", "HST"), "programme", "HST:16000", "add", ADA)
    path = tmp_path / "bib.csv"
    assert export_bibliography(store, batch, path) == 2
    rows = {r["bibcode"]: r for r in csv.DictReader(path.open(encoding="utf-8"))}
    assert rows["A"]["instruments"] == "COS"
    assert rows["A"]["programmes"] == "HST:15000;HST:16000"
    assert rows["A"]["obsids"] == rows["A"]["dois"] == ""
    assert rows["B"]["labels"] == "mention" and rows["B"]["instruments"] == ""


def test_the_link_edits_migration_upgrades_from_0006_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
    assert "link_edits" not in inspect(engine).get_table_names()
    upgrade_to_head(engine)
    tables = inspect(engine)
    assert "link_edits" in tables.get_table_names()
    assert {c["name"] for c in tables.get_columns("link_edits")} == {
        "id", "bibcode", "telescope", "kind", "value", "action", "reviewer", "token_id",
        "note", "created_at",
    }  # fmt: skip
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    names = inspect(engine).get_table_names()
    assert "link_edits" not in names and "links" in names
    engine.dispose()
