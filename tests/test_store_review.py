"""The review workbench's store (``amc/store/review.py``, ``labels.py``) on SQLite and on
the real PostgreSQL: filters, order and keyset navigation done in SQL (failed pairs,
which have no confidence, included), review counts, reviewer labels with their history
and undo stack, bulk accept, audit resolutions, sessions, and the 0004 migration's
backfill of data written before it."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import text

from amc.domain.models import Classification, ErrorInfo, LabelConfidence, TelescopeLabels
from amc.store import ResultFilter, Reviewer, Store, make_engine, open_store
from amc.store.migrations import alembic_config
from amc.store.tokens import hash_token

ADA, BOB = Reviewer("Ada", 1), Reviewer("Bob", 2)
SCIENCE, MENTION = TelescopeLabels(science=True), TelescopeLabels(mention=True)


def _result(i: int, telescope: str, rng: random.Random) -> Classification:
    bibcode = f"2024TEST{i:05d}"
    if i % 17 == 0:  # a failed pair: no labels, NULL confidence
        failed = ErrorInfo(kind="llm", message="x")
        return Classification(
            pair_id=f"{bibcode}_{telescope}", bibcode=bibcode, telescope=telescope, error=failed
        )
    science = rng.random() < 0.5
    labels = SCIENCE if science else MENTION
    p = round(rng.random(), 3)
    conf = LabelConfidence(science=p if science else 1 - p, mention=1 - p if science else p)
    gold = labels if i % 5 else (MENTION if science else SCIENCE)
    return Classification(pair_id=f"{bibcode}_{telescope}", bibcode=bibcode, telescope=telescope,
                          labels=labels, confidence=conf, gold=gold if i % 7 else None)  # fmt: skip


@pytest.fixture
def batch(store: Store) -> str:
    """60 papers x (HST, JWST), some failed, some with input labels that differ."""
    batch_id, _ = store.create_batch(["x.jsonl"], "h-review", ["HST", "JWST"], "rules", {})
    rng = random.Random(7)
    ids = store.add_papers(batch_id, [(f"2024TEST{i:05d}", "", "") for i in range(60)])
    store.save_papers(
        batch_id,
        [(pid, [_result(i, t, rng) for t in ("HST", "JWST")]) for i, pid in enumerate(ids)],
    )
    return batch_id


def _walk(store: Store, batch_id: str, flt: ResultFilter, sort: str) -> list[int]:
    out: list[int] = []
    current = store.queue_neighbour(batch_id, flt, sort, None, True)
    while current is not None:
        out.append(current)
        current = store.queue_neighbour(batch_id, flt, sort, current, True)
    return out


@pytest.mark.parametrize("sort", ["confidence", "-confidence", "pair", "telescope"])
def test_paging_and_keyset_navigation_agree_in_every_order(
    store: Store, batch: str, sort: str
) -> None:
    flt = ResultFilter(telescope="hst")
    page, total = store.result_page(batch, flt, sort, limit=1000)
    assert total == 60 and [r.result.telescope for r in page] == ["HST"] * 60
    ids = [r.id for r in page]
    assert _walk(store, batch, flt, sort) == ids  # forward
    back, current = [], ids[-1]
    while current is not None:
        back.append(current)
        current = store.queue_neighbour(batch, flt, sort, current, False)
    assert back == ids[::-1]
    assert [store.queue_position(batch, flt, sort, i) for i in ids[:5]] == [1, 2, 3, 4, 5]
    pieces = [
        r.id for off in range(0, 60, 7) for r in store.result_page(batch, flt, sort, 7, off)[0]
    ]
    assert pieces == ids
    walked, after = [], None  # keyset pages: from the last pair of the page before
    while True:
        page_rows = store.result_page(batch, flt, sort, 7, after=after)[0]
        if not page_rows:
            break
        walked += [r.id for r in page_rows]
        after = page_rows[-1].id
    assert walked == ids
    before = [r.id for r in store.result_page(batch, flt, sort, 7, before=ids[20])[0]]
    assert before == ids[13:20]
    if sort == "confidence":  # failed pairs (no confidence) first: they need a human most
        conf = [r.confidence for r in page]
        failed = conf.count(None)
        assert failed and conf[:failed] == [None] * failed
        assert conf[failed:] == sorted(conf[failed:])  # type: ignore[type-var]


def test_filters_match_a_python_reference(store: Store, batch: str) -> None:
    store.record_review("2024TEST00001", "HST", SCIENCE, ADA)
    store.record_review("2024TEST00002", "JWST", TelescopeLabels(not_telescope=True), BOB)
    everything, _ = store.result_page(batch, ResultFilter(), limit=1000)
    checks = {
        ResultFilter(label="error"): lambda r: r.result.labels is None,
        ResultFilter(label="mention"): lambda r: bool(r.result.labels and r.result.labels.mention),
        ResultFilter(min_confidence=0.3, max_confidence=0.6):
            lambda r: r.confidence is not None and 0.3 <= r.confidence <= 0.6,
        ResultFilter(input="disagree"): lambda r: r.input_differs,
        ResultFilter(input="none"): lambda r: r.result.gold is None,
        ResultFilter(review="unreviewed"): lambda r: r.review is None,
        ResultFilter(review="corrected"): lambda r: r.review_status == "corrected",
        ResultFilter(review="accepted"): lambda r: r.review_status == "accepted",
    }  # fmt: skip
    for flt, keep in checks.items():
        got, total = store.result_page(batch, flt, limit=1000)
        assert {r.id for r in got} == {r.id for r in everything if keep(r)}, flt
        assert total == len(got)
    assert store.result_page(batch, ResultFilter(review="reviewed"), limit=10)[1] == 2


def test_review_counts_per_view_and_reviewer(store: Store, batch: str) -> None:
    store.record_review("2024TEST00001", "HST", SCIENCE, ADA)
    store.record_review("2024TEST00003", "HST", MENTION, ADA)
    store.record_review("2024TEST00003", "JWST", MENTION, BOB)
    counts = store.review_counts(batch)
    assert (counts.total, counts.reviewed, counts.by_reviewer) == (120, 3, {"Ada": 2, "Bob": 1})
    hst = store.review_counts(batch, ResultFilter(telescope="HST", review="unreviewed"))
    assert (hst.total, hst.reviewed) == (60, 2)  # the queue's progress ignores its review filter


def test_history_undo_stack_and_current_state(store: Store, batch: str) -> None:
    pair = ("2024TEST00004", "HST")
    store.record_review(*pair, SCIENCE, ADA, "accept")
    store.record_review(*pair, MENTION, BOB, "correct", note="a citation")
    store.record_review(*pair, TelescopeLabels(not_telescope=True), ADA, "correct")
    assert store.undo_review(*pair, BOB).labels == MENTION  # type: ignore[union-attr]
    current = store.current_review(*pair)
    assert current is not None and current.reviewer == "Bob" and current.note == "a citation"
    assert store.undo_review(*pair, BOB).labels == SCIENCE  # type: ignore[union-attr]
    assert store.undo_review(*pair, ADA) is None and store.current_review(*pair) is None
    with pytest.raises(Exception, match="nothing to undo"):
        store.undo_review(*pair, ADA)
    history = store.review_history(*pair)
    assert [h.action for h in history] == ["undo", "undo", "undo", "correct", "correct", "accept"]
    assert history[0].cleared and history[0].undoes == history[-1].id
    assert {h.reviewer for h in history[:3]} == {"Ada", "Bob"}
    store.record_review(*pair, MENTION, ADA)  # a new decision after undos stacks again
    assert store.undo_review(*pair, ADA) is None


def test_bulk_accept_records_each_unreviewed_labelled_pair(store: Store, batch: str) -> None:
    store.record_review("2024TEST00001", "HST", MENTION, ADA)
    flt = ResultFilter(telescope="HST")
    candidates = store.accept_candidates(batch, flt)
    assert len(candidates) == store.accept_count(batch, flt) == 60 - 1 - 4  # reviewed, failed
    assert store.accept_many(candidates, BOB, "bulk") == len(candidates)
    reviewed = store.latest_human_labels()
    assert len(reviewed) == len(candidates) + 1
    assert reviewed[("2024TEST00001", "HST")].labels == MENTION
    bulk = [h for (b, t), h in reviewed.items() if h.action == "bulk_accept"]
    assert len(bulk) == len(candidates) and {h.reviewer for h in bulk} == {"Bob"}
    assert store.accept_count(batch, flt) == 0


def test_exports_join_the_current_review(store: Store, batch: str) -> None:
    store.record_review("2024TEST00001", "HST", MENTION, ADA)
    joined = {c.pair_id: r for c, r in store.iter_reviewed_results(batch)}
    assert len(joined) == 120 and joined["2024TEST00001_HST"] is not None
    assert sum(r is not None for r in joined.values()) == 1
    assert store.latest_result_ids([("2024TEST00001", "hst"), ("nope", "HST")]).keys() == {
        ("2024TEST00001", "HST")
    }
    assert store.pair_is_known("2024TEST00001", "HST")
    assert not store.pair_is_known("2024TEST00001", "CHANDRA")


def test_audit_resolution_is_a_review_and_is_kept(store: Store) -> None:
    done = store.resolve_suspect(("2020X", "hst"), "t-hash", "take", SCIENCE, ADA, "seen data")
    assert done.action == "audit_take" and store.current_review("2020X", "HST") is not None
    resolved = store.audit_resolutions(["2020X_HST", "other"])
    assert list(resolved) == ["2020X_HST"] and resolved["2020X_HST"].text_hash == "t-hash"
    store.resolve_suspect(("2020X", "HST"), "t2", "keep", MENTION, BOB)
    again = store.audit_resolutions()["2020X_HST"]
    assert (again.decision, again.labels, again.reviewer) == ("keep", "mention", "Bob")


def test_sessions_end_on_logout_expiry_and_token_revocation(store: Store) -> None:
    token = store.create_api_token("Ada", hash_token("amc_x"))
    store.create_session(token.id, hash_token("s1"), timedelta(hours=1))
    store.create_session(token.id, hash_token("s2"), timedelta(hours=1))
    store.create_session(token.id, hash_token("old"), timedelta(seconds=-1))
    assert store.find_session(hash_token("s1")) is not None
    assert store.find_session(hash_token("old")) is None
    assert store.revoke_session(hash_token("s1")) and store.find_session(hash_token("s1")) is None
    store.create_session(token.id, hash_token("s3"), timedelta(hours=1))
    assert store.revoke_api_token(token.id) and store.find_session(hash_token("s2")) is None
    with store.engine.connect() as conn:  # the expired one was deleted by the next login
        kept = {r[0] for r in conn.execute(text("SELECT id_hash FROM web_sessions"))}
    assert hash_token("old") not in kept and hash_token("s2") in kept


T = "2024-01-01T00:00:00+00:00"
#: rows as the schema at revision 0002 holds them: a batch, a paper, a result, two labels
OLD_ROWS = [
    "INSERT INTO batches (id, created_at, updated_at, status, inputs, content_hash, telescopes, "
    "tier, settings, n_papers) VALUES ('b1', :t, :t, 'done', '[]', 'h', '[]', 'rules', '{}', 1)",
    "INSERT INTO papers (id, batch_id, bibcode, source, content_hash, status, attempts, "
    "updated_at) VALUES (1, 'b1', 'B', '', '', 'done', 1, :t)",
    "INSERT INTO classifications (batch_id, paper_id, pair_id, bibcode, telescope, science, "
    "instrumentation, mention, not_telescope, conf_science, conf_instrumentation, conf_mention, "
    "conf_not_telescope, evidence, reason, tier, started_at, elapsed_s, llm_calls, "
    "prompt_tokens, completion_tokens, n_snippets, gold, source, created_at, updated_at) VALUES "
    "('b1', 1, 'B_HST', 'B', 'HST', :yes, :no, :no, :no, 0.9, 0.2, 0.1, 0.05, '[]', '', 'rules', "
    ':t, 0, 0, 0, 0, 0, \'{"science": false, "instrumentation": false, "mention": true, '
    "\"not_telescope\": false}', '', :t, :t)",
    *[
        "INSERT INTO human_labels (bibcode, telescope, science, instrumentation, mention, "
        f"not_telescope, reviewer, note, created_at) VALUES ('B', 'HST', :no, :no, :yes, :no, "
        f"'Ann', '{note}', :t)"
        for note in ("first", "second")
    ],
]


def test_migration_0004_backfills_reviews_and_confidence(db_url: str) -> None:
    """A store at 0002 with a reviewer label and a result is upgraded: the label becomes
    the pair's current state and the result gets its decision confidence."""
    from alembic import command

    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    with engine.begin() as conn:
        for sql in OLD_ROWS:
            conn.execute(text(sql), {"t": T, "yes": True, "no": False})
    engine.dispose()
    with open_store(db_url) as store:
        review = store.current_review("B", "HST")
        assert review is not None and review.note == "second" and review.labels == MENTION
        row = store.result_page("b1", ResultFilter())[0][0]
        assert row.confidence == pytest.approx(0.8) and row.input_differs
        assert store.result_page("b1", ResultFilter(input="disagree"))[1] == 1
        assert [h.action for h in store.review_history("B", "HST")] == ["correct", "correct"]
