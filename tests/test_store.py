"""The job store (amc/store) on SQLite and on the real PostgreSQL at 127.0.0.1.

Every PostgreSQL test gets its own temporary database (``amc_test_<random>``),
dropped afterwards, so concurrent test runs never collide. If PostgreSQL is
unreachable those tests FAIL, unless ``AMC_TEST_SKIP_POSTGRES=1`` is set.
``AMC_TEST_POSTGRES_URL`` points them at another server (default: 127.0.0.1:5432/test).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, func, inspect, select, text

from amc.domain.models import (
    Classification,
    ErrorInfo,
    Evidence,
    LabelConfidence,
    LLMCall,
    TelescopeLabels,
    Usage,
)
from amc.store import (
    AuditState,
    Store,
    StoreError,
    make_engine,
    normalize_url,
    open_store,
    submission_hash,
    upgrade_to_head,
)
from amc.store.migrations import current_revision, head_revision
from amc.store.schema import Base, ClassificationRow, LlmCallRow, PaperRow


@pytest.fixture
def batch(store: Store) -> str:
    batch_id, _ = store.create_batch(["papers.parquet"], "hash-1", ["HST", "JWST"], "rules", {})
    return batch_id


def _classification(bibcode: str, telescope: str = "HST", **extra: object) -> Classification:
    values: dict[str, object] = {"labels": TelescopeLabels.only("science"), **extra}
    return Classification(
        pair_id=f"{bibcode}_{telescope}",
        bibcode=bibcode,
        telescope=telescope,
        **values,
    )


def _count(store: Store, row: type[Base], **where: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(row).filter_by(**where)) or 0)


def _run_in_threads(n: int, work: Callable[[int], None]) -> None:
    """Start ``n`` threads together; re-raise the first error any of them hit."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


# -- URLs, engines, migrations -------------------------------------------------


def test_normalize_url_defaults_to_sqlite_and_psycopg(tmp_path: Path) -> None:
    assert normalize_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///a.db") == "sqlite:///a.db"


def test_unsupported_database_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="only SQLite and PostgreSQL"):
        make_engine("mysql://u@h/db")


def test_sqlite_engine_uses_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "sub" / "amc.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_migration_from_empty_creates_every_table_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    assert inspect(engine).get_table_names() == []
    upgrade_to_head(engine)
    assert set(inspect(engine).get_table_names()) == {*Base.metadata.tables, "alembic_version"}
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision() is not None
    engine.dispose()


def test_migrated_schema_matches_orm_metadata(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        # the comparison is not vacuous: a column the migrations lack shows up
        extra = MetaData()
        for table in Base.metadata.tables.values():
            table.to_metadata(extra)
        extra.tables["papers"].append_column(Column("priority", Integer))
        diff = compare_metadata(context, extra)
    assert [d[0] for d in diff] == ["add_column"]


def test_concurrent_upgrades_and_reopening_keep_data(db_url: str) -> None:
    _run_in_threads(3, lambda _: upgrade_to_head(db_url))
    with open_store(db_url) as first:
        batch_id, _ = first.create_batch(["a"], "h", ["HST"], "rules", {})
    with open_store(db_url) as second:
        assert second.get_batch(batch_id).content_hash == "h"


# -- batches and papers ----------------------------------------------------------


def test_submission_hash_ignores_file_order_but_not_content_telescopes_or_tier() -> None:
    base = submission_hash([b"a", b"b"], ["HST", "JWST"], "rules")
    assert submission_hash([b"b", b"a"], ["jwst", "hst"], "rules") == base
    assert submission_hash([b"a", b"c"], ["HST", "JWST"], "rules") != base
    assert submission_hash([b"a", b"b"], ["HST"], "rules") != base
    assert submission_hash([b"a", b"b"], ["HST", "JWST"], "llm") != base


def test_duplicate_submission_returns_the_existing_batch(store: Store) -> None:
    first, created = store.create_batch(["a.csv"], "same", ["hst"], "rules", {"window": 3})
    again, created_again = store.create_batch(["b.csv"], "same", ["HST"], "rules", {})
    other, created_other = store.create_batch(["a.csv"], "different", ["HST"], "rules", {})
    assert (created, created_again, created_other) == (True, False, True)
    assert again == first != other
    info = store.get_batch(first)
    assert (info.inputs, info.telescopes, info.settings) == (["a.csv"], ["HST"], {"window": 3})
    assert info.status == "queued" and info.created_at.tzinfo is not None
    assert [b.id for b in store.list_batches()] == [other, first]


def test_unknown_batch_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no batch 'nope'"):
        store.get_batch("nope")
    with pytest.raises(StoreError):
        store.add_papers("nope", [("b", "s", "h")])


def test_add_papers_is_idempotent_and_keeps_input_order(store: Store, batch: str) -> None:
    ids = store.add_papers(batch, [("b1", "f#1", "h1"), ("b2", "f#2", "h2")])
    again = store.add_papers(batch, [("b3", "f#3", "h3"), ("b2", "f#2", "h2"), ("b1", "f#1", "")])
    assert len(set(ids)) == 2
    assert again[1:] == [ids[1], ids[0]] and again[0] not in ids
    assert store.get_batch(batch).n_papers == 3
    assert [p.bibcode for p in store.pending_papers(batch)] == ["b1", "b2", "b3"]


def test_claim_paper_succeeds_once_and_counts_attempts(store: Store, batch: str) -> None:
    (paper_id,) = store.add_papers(batch, [("b1", "f", "h")])
    assert store.claim_paper(paper_id) is True
    assert store.claim_paper(paper_id) is False
    assert store.claim_paper(paper_id + 1000) is False
    record = store.get_paper(paper_id)
    assert (record.status, record.attempts) == ("running", 1)


def test_only_one_of_many_racing_workers_claims_a_paper(store: Store, batch: str) -> None:
    (paper_id,) = store.add_papers(batch, [("b1", "f", "h")])
    wins: list[bool] = []
    _run_in_threads(4, lambda _: wins.append(store.claim_paper(paper_id)))
    assert sorted(wins) == [False, False, False, True]


def test_requeue_stale_returns_abandoned_running_papers(store: Store, batch: str) -> None:
    running, pending = store.add_papers(batch, [("b1", "f", "h"), ("b2", "f", "h")])
    store.claim_paper(running)
    assert store.requeue_stale(batch, timedelta(hours=1)) == 0
    assert store.requeue_stale(batch, timedelta(0)) == 1
    assert [p.id for p in store.pending_papers(batch)] == [running, pending]
    assert store.claim_paper(running) and store.get_paper(running).attempts == 2


def test_a_dead_owners_papers_are_taken_back_at_once_a_live_ones_are_not(
    store: Store, batch: str
) -> None:
    dead, alive, unowned, done = store.add_papers(
        batch, [("b1", "f", "h"), ("b2", "f", "h"), ("b3", "f", "h"), ("b4", "f", "h")]
    )
    assert store.claim_papers([dead], owner="host/1/dead") == [dead]
    assert store.claim_papers([alive, done], owner="host/2/alive") == [alive, done]
    assert store.claim_papers([unowned]) == [unowned]  # an older amc: no owner recorded
    store.save_results(batch, done, [_classification("b4")])
    asked: list[str] = []

    def is_dead(owner: str) -> bool:
        asked.append(owner)
        return owner.endswith("/dead")

    assert store.reclaim_dead(batch, is_dead) == 1
    assert sorted(asked) == ["host/1/dead", "host/2/alive"]  # each running owner, once
    states = {p.id: p.status for p in store.get_papers([dead, alive, unowned, done])}
    assert states == {dead: "pending", alive: "running", unowned: "running", done: "done"}
    assert store.reclaim_dead(batch, is_dead) == 0  # nothing left of the dead one


def test_a_stopped_paper_is_saved_failed_with_its_rows_and_resumed_by_kind(
    store: Store, batch: str
) -> None:
    stopped, bad_pdf, done = store.add_papers(
        batch, [("b1", "f", "h"), ("b2", "f", "h"), ("b3", "f", "h")]
    )
    store.claim_papers([stopped, bad_pdf, done])
    left = Classification.failed(
        "b1_JWST", "b1", "JWST", ValueError("not classified: the LLM budget is spent")
    ).model_copy(update={"error": ErrorInfo(kind="llm_budget", message="not classified")})
    store.save_papers(
        batch,
        [(stopped, [_classification("b1"), left]), (done, [_classification("b3")])],
        failed={stopped: ("llm_budget", "not classified: the LLM budget is spent")},
    )
    store.mark_paper_failed(bad_pdf, "pdf_corrupt", "broken")
    paper = store.get_paper(stopped)
    assert (paper.status, paper.error_kind) == ("failed", "llm_budget")
    assert {c.pair_id for c in store.iter_results(batch)} == {"b1_HST", "b1_JWST", "b3_HST"}
    store.set_batch_status(batch, "done")
    assert store.reset_resumable(batch, {"llm_budget", "llm_unavailable"}) == 1
    states = {p.id: p.status for p in store.get_papers([stopped, bad_pdf, done])}
    assert states == {stopped: "pending", bad_pdf: "failed", done: "done"}
    assert store.get_batch(batch).status == "queued"  # reopened: there is work again


# -- results ---------------------------------------------------------------------


def test_save_results_twice_leaves_one_row_per_pair_with_the_last_write(
    store: Store, batch: str
) -> None:
    (paper_id,) = store.add_papers(batch, [("b1", "f", "h")])
    first = [_classification("b1", "HST"), _classification("b1", "JWST")]
    store.save_results(batch, paper_id, first)
    second = [first[0], _classification("b1", "JWST", labels=TelescopeLabels.only("mention"))]
    store.save_results(batch, paper_id, second)
    assert _count(store, ClassificationRow, batch_id=batch) == 2
    assert list(store.iter_results(batch)) == second
    assert store.get_paper(paper_id).status == "done"


def test_concurrent_writers_of_the_same_results_leave_one_row_each(
    db_url: str, store: Store, batch: str
) -> None:
    (paper_id,) = store.add_papers(batch, [("b1", "f", "h")])
    results = [_classification("b1", f"T{i:02d}") for i in range(20)]

    def worker(i: int) -> None:
        with open_store(db_url) as own:  # a worker process has its own engine
            for _ in range(5):
                own.save_results(batch, paper_id, results[::-1] if i else results)

    _run_in_threads(2, worker)
    assert _count(store, ClassificationRow, batch_id=batch) == 20
    assert list(store.iter_results(batch)) == results


def test_save_results_for_an_unknown_paper_writes_nothing(store: Store, batch: str) -> None:
    with pytest.raises(StoreError, match="no paper with id 999"):
        store.save_results(batch, 999, [_classification("b1")])
    assert _count(store, ClassificationRow) == 0


def test_classification_round_trips_through_the_store(store: Store, batch: str) -> None:
    paper_id, other_id = store.add_papers(batch, [("2020ApJ...1A", "f", "h"), ("b2", "f", "h")])
    rich = _classification(
        "2020ApJ...1A",
        "JWST",
        labels=TelescopeLabels(science=True, instrumentation=True),
        confidence=LabelConfidence(
            science=0.91, instrumentation=0.125, mention=0.0, not_telescope=0.03
        ),
        evidence=[
            Evidence(quote="we observed with NIRSpec", field="body", start=10, end=34),
            Evidence(quote="JWST GO 1234", verified=True, supports="science"),
        ],
        reason="new NIRSpec data",
        tier="llm",
        model="gpt-x",
        prompt_name="classify",
        prompt_hash="p" * 64,
        registry_hash="r" * 64,
        started_at=datetime(2025, 3, 1, 12, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
        elapsed_s=1.5,
        usage=Usage(
            calls=2, prompt_tokens=1200, completion_tokens=80, cached_tokens=1024, cost_usd=0.0042
        ),
        n_snippets=7,
        gold=TelescopeLabels.only("science"),
        source="papers.parquet#row=3",
    )
    failed = Classification.failed(
        "b2_HST", "b2", "HST", ValueError("model returned no JSON"), usage=Usage(cost_usd=None)
    )
    store.save_results(batch, paper_id, [rich])
    store.save_results(batch, other_id, [failed])
    back = list(store.iter_results(batch))
    assert back == [rich, failed]
    assert back[0].started_at.tzinfo == UTC
    assert back[1].labels is None and back[1].error == ErrorInfo(
        kind="ValueError", message="model returned no JSON"
    )


def test_failed_paper_is_recorded_and_reset_for_retry(store: Store, batch: str) -> None:
    bad, flaky, good = store.add_papers(
        batch, [("bad", "f", "h"), ("fl", "f", "h"), ("ok", "f", "h")]
    )
    for paper_id in (bad, flaky, good):
        store.claim_paper(paper_id)
    store.mark_paper_failed(bad, "pdf", "bad.pdf: not a PDF")
    store.save_results(
        batch, flaky, [Classification.failed("fl_HST", "fl", "HST", TimeoutError("llm timeout"))]
    )
    store.save_results(batch, good, [_classification("ok")])
    store.set_batch_status(batch, "done")
    (failed,) = store.failed_papers(batch)
    assert (failed.id, failed.error_kind, failed.error_message) == (
        bad,
        "pdf",
        "bad.pdf: not a PDF",
    )

    assert store.reset_failed(batch) == 2
    assert [p.id for p in store.pending_papers(batch)] == [bad, flaky]
    assert store.failed_papers(batch) == []
    assert store.get_paper(bad).error_kind is None
    assert store.get_batch(batch).status == "queued"
    assert store.claim_paper(bad) and store.get_paper(bad).attempts == 2
    assert store.reset_failed(batch) == 0  # pending and running papers are left alone


def test_mark_unknown_paper_failed_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no paper with id 42"):
        store.mark_paper_failed(42, "x", "y")


def test_batch_progress_counts_papers_pairs_errors_and_cost(store: Store, batch: str) -> None:
    ids = store.add_papers(batch, [(f"b{i}", "f", "h") for i in range(5)])
    store.claim_paper(ids[0])
    store.claim_paper(ids[1])
    usage = Usage(calls=1, prompt_tokens=100, completion_tokens=10, cached_tokens=60, cost_usd=0.25)
    store.save_results(
        batch,
        ids[1],
        [
            _classification("b1", "HST", usage=usage),
            Classification.failed("b1_JWST", "b1", "JWST", TimeoutError("t"), usage=usage),
        ],
    )
    store.mark_paper_failed(ids[2], "pdf", "broken")
    store.mark_paper_failed(ids[3], "pdf", "broken too")
    progress = store.batch_progress(batch)
    assert progress.papers == {"pending": 1, "running": 1, "done": 1, "failed": 2}
    assert (progress.total, progress.finished) == (5, False)
    assert (progress.pairs, progress.pairs_failed) == (2, 1)
    assert progress.errors == {"pdf": 2, "TimeoutError": 1}
    assert (progress.prompt_tokens, progress.completion_tokens) == (200, 20)
    assert progress.cost_usd == pytest.approx(0.5)
    assert progress.cached_tokens == 120 and progress.cached_share == pytest.approx(0.6)
    assert progress.cost_per_1000_pairs == pytest.approx(250.0)  # $0.50 over 2 pairs


def test_llm_calls_keep_their_prompt_cache_tokens(store: Store, batch: str) -> None:
    (paper_id,) = store.add_papers(batch, [("b1", "f", "h")])
    call = LLMCall(model="gpt-x", prompt_tokens=2811, completion_tokens=190, cached_tokens=1536,
                   cache_write_tokens=128, cost_usd=0.001)  # fmt: skip
    usage = Usage(calls=1, prompt_tokens=2811, completion_tokens=190, cached_tokens=1536,
                  cache_write_tokens=128, cost_usd=0.001, call_log=[call])  # fmt: skip
    store.save_results(batch, paper_id, [_classification("b1", usage=usage)])
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                LlmCallRow.prompt_tokens, LlmCallRow.cached_tokens, LlmCallRow.cache_write_tokens
            )
        ).all()
    assert [tuple(r) for r in rows] == [(2811, 1536, 128)]
    [back] = store.iter_results(batch)
    assert back.usage.cached_tokens == 1536


# -- LLM calls, human labels, audit state ----------------------------------------


def test_record_llm_call_appends_rows(store: Store, batch: str) -> None:
    first = store.record_llm_call(
        model="gpt-x", status="ok", batch_id=batch, pair_id="b_HST", prompt_tokens=5, latency_s=0.2
    )
    second = store.record_llm_call(model="gpt-x", status="error", error="HTTP 500")
    assert second > first
    assert _count(store, LlmCallRow, batch_id=batch, status="ok") == 1
    assert _count(store, LlmCallRow) == 2


def test_latest_human_label_wins_and_history_is_kept(store: Store) -> None:
    store.add_human_label("b1", "hst", TelescopeLabels.only("mention"), reviewer="ann")
    store.add_human_label("b1", "HST", TelescopeLabels.only("science"), "bob", "saw the data")
    store.add_human_label("b1", "JWST", TelescopeLabels.only("not_telescope"), "ann")
    latest = store.latest_human_labels()
    assert set(latest) == {("b1", "HST"), ("b1", "JWST")}
    assert latest[("b1", "HST")].labels == TelescopeLabels.only("science")
    assert (latest[("b1", "HST")].reviewer, latest[("b1", "HST")].note) == ("bob", "saw the data")
    with store.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM human_labels")) == 3


def test_audit_state_is_upserted_by_pair_key(store: Store) -> None:
    then = datetime(2025, 1, 1, tzinfo=UTC)
    store.put_audit_state(
        [AuditState("b1_HST", "h1", 0.5, then), AuditState("b2_HST", "h2", None, then)]
    )
    store.put_audit_state([AuditState("b1_HST", "h1b", 0.9, then + timedelta(days=1))])
    states = store.get_audit_state()
    assert states["b1_HST"] == AuditState("b1_HST", "h1b", 0.9, then + timedelta(days=1))
    assert states["b2_HST"].last_score is None
    assert set(store.get_audit_state(["b2_HST", "missing"])) == {"b2_HST"}


def test_deleting_a_batch_cascades_to_its_papers_and_results(store: Store, batch: str) -> None:
    (paper_id,) = store.add_papers(batch, [("b1", "f", "h")])
    store.save_results(batch, paper_id, [_classification("b1")])
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM batches WHERE id = :id"), {"id": batch})
    assert _count(store, PaperRow) == _count(store, ClassificationRow) == 0
