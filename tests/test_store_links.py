"""The job store keeps each verdict's links (``amc.store.links``), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import func, inspect, select

from amc.domain.models import Classification, Link, TelescopeLabels
from amc.store import Store, make_engine
from amc.store.migrations import alembic_config, upgrade_to_head
from amc.store.schema import LinkRow


def _link(kind: str, value: str, start: int = 0) -> Link:
    return Link(
        kind=kind,
        value=value,
        quote=f"we used {value}",
        field="body",  # type: ignore[arg-type]
        start=start,
        end=start + 8 + len(value),
        verified=True,
    )


def _result(bibcode: str, links: list[Link], telescope: str = "HST") -> Classification:
    return Classification(
        pair_id=f"{bibcode}_{telescope}",
        bibcode=bibcode,
        telescope=telescope,
        labels=TelescopeLabels(science=True),
        links=links,
    )


def _batch(store: Store) -> tuple[str, list[int]]:
    batch_id, _ = store.create_batch(["in.jsonl"], "links-hash", ["HST"], "rules", {})
    return batch_id, store.add_papers(batch_id, [("A", "in", "h1"), ("B", "in", "h2")])


def test_links_are_saved_and_read_back_in_order(store: Store) -> None:
    batch_id, (a, b) = _batch(store)
    a_links = [
        _link("instrument", "WFC3"),
        _link("programme", "HST:12345", 40),
        _link("grant", "HST:16543", 90),
    ]
    store.save_papers(batch_id, [(a, [_result("A", a_links)]), (b, [_result("B", [])])])
    results = {c.pair_id: c for c in store.iter_results(batch_id)}
    assert results["A_HST"].links == a_links
    assert results["B_HST"].links == []
    assert store.paper_results(a)[0].links == a_links


def test_saving_a_pair_again_replaces_its_links(store: Store) -> None:
    batch_id, (a, _) = _batch(store)
    store.save_results(
        batch_id, a, [_result("A", [_link("instrument", "WFC3"), _link("instrument", "ACS")])]
    )
    store.save_results(batch_id, a, [_result("A", [_link("instrument", "STIS")])])
    assert [link.value for link in next(store.iter_results(batch_id)).links] == ["STIS"]
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LinkRow)) == 1


def test_an_archive_can_ask_which_pairs_used_an_id(store: Store) -> None:
    batch_id, (a, b) = _batch(store)
    obsid = _link("obsid", "CHANDRA:4977")
    store.save_papers(
        batch_id,
        [
            (a, [_result("A", [obsid], "CHANDRA")]),
            (b, [_result("B", [_link("obsid", "CHANDRA:6101")], "CHANDRA")]),
        ],
    )
    found = store.pairs_linked_to("obsid", "CHANDRA:4977")
    assert [(f.batch_id, f.pair_id, f.link) for f in found] == [(batch_id, "A_CHANDRA", obsid)]
    assert store.pairs_linked_to("obsid", "CHANDRA:4977", batch_id="other") == []


def test_many_pairs_with_links_in_one_save(store: Store) -> None:
    """More pairs than one chunk of the delete/select (500) round-trip intact."""
    batch_id, _ = store.create_batch(["big.jsonl"], "big-hash", ["HST"], "rules", {})
    ids = store.add_papers(batch_id, [(f"P{i}", "big", f"h{i}") for i in range(620)])
    store.save_papers(
        batch_id,
        [
            (pid, [_result(f"P{i}", [_link("programme", f"HST:{10000 + i}")])])
            for i, pid in enumerate(ids)
        ],
    )
    results = list(store.iter_results(batch_id))
    assert len(results) == 620
    assert all(c.links[0].value == f"HST:{10000 + int(c.bibcode[1:])}" for c in results)


def test_the_links_migration_applies_over_the_existing_schema(db_url: str) -> None:
    """Revision 0005 upgrades a store at 0002 (made before links existed) and downgrades."""
    engine = make_engine(db_url)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    assert "links" not in inspect(engine).get_table_names()
    upgrade_to_head(engine)
    assert "links" in inspect(engine).get_table_names()
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert "links" not in inspect(engine).get_table_names()
    engine.dispose()
