"""Keeping the LLM slots busy across submissions: ``LLMSession``, ``PairClassifier``, the
rolling ``classify_stream``, ``process_papers`` and the worker's shared classifiers.

The slow-request tests are the point: one request takes a second, the others none.
A pipeline that waits for a whole chunk before sending more sends nothing else during
that second; a rolling one sends every other request meanwhile. (The slow one is the
second request: the first of a run goes alone, so that a refused key costs one request.)
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from llm_server import Reply, ScriptedLLMServer

import workers.tasks
from amc.classify.dispatch import PairClassifier
from amc.classify.llm import LLMSession, LLMUnavailableError
from amc.classify.stream import classify_stream
from amc.domain.models import Classification, Pair, Paper
from amc.jobs.process import run_batch
from amc.jobs.submit import submit_batch
from amc.registry import load_registry
from amc.settings import Settings, load_settings
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets
from amc.store import Store, StoreError, open_store
from workers.tasks import SharedClassifiers

SCIENCE = "We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."
SLOW_S = 1.0


def pair(i: int, telescope: str = "HST") -> Pair:
    return Pair(paper=Paper(bibcode=f"2024STREAM{i:04d}", body=SCIENCE.format(i=i)),
                telescope=telescope)  # fmt: skip


def config(server: ScriptedLLMServer, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": "openai/local", "api_base": server.api_base, "cache_path": None,
        "backoff_s": 0.01, "timeout_s": 5, "max_retries": 0,
    }  # fmt: skip
    return LLMSettings(**(values | kw))


def settings(tmp_path: Path, server: ScriptedLLMServer, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "tier": "llm", "model": "openai/local", "api_base": server.api_base,
        "use_cache": False, "llm_max_retries": 0, "spool_dir": tmp_path / "spool",
        "progress": False,
    }  # fmt: skip
    return load_settings(environ={}, **(base | values))


def sent_while_the_slow_one_ran(server: ScriptedLLMServer) -> int:
    """How many of the later requests reached the server before the slow second one (the
    first after the run's lone first request) ended."""
    _, slow, *others = sorted(r.at for r in server.chat_requests)
    return sum(at < slow + SLOW_S - 0.2 for at in others)


# -- LLMSession ---------------------------------------------------------------------------


def test_session_submissions_from_threads_share_one_concurrency_limit(registry) -> None:
    with (
        ScriptedLLMServer(latency_s=0.2) as srv,
        LLMSession(registry, config(srv, concurrency=3)) as session,
    ):
        items = [(p, find_snippets(p.paper, registry.get("HST"))) for p in map(pair, range(12))]
        futures: list[Any] = []
        threads = [
            threading.Thread(target=lambda i=i: futures.append(session.submit([items[i]])))
            for i in range(12)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results = [c for f in futures for c in f.result(timeout=30)]
    assert sorted(c.pair_id for c in results) == sorted(p.pair_id for p, _ in items)
    assert all(c.ok and c.labels and c.labels.science for c in results)
    assert srv.max_in_flight == 3 and len(srv.chat_requests) == 12


def test_a_stopped_session_answers_later_submissions_with_stop_rows_without_calls(
    server, registry
) -> None:
    server.script(*[Reply.server_error(401, "invalid api key")] * 5)
    items = [(p, find_snippets(p.paper, registry.get("HST"))) for p in map(pair, range(3))]
    with LLMSession(registry, config(server, concurrency=4)) as session:
        [first] = session.submit(items[:1]).result(timeout=30)
        assert isinstance(session.stop, LLMUnavailableError) and "key" in str(session.stop)
        later = session.submit(items[1:]).result(timeout=30)
    assert first.error is not None and first.error.kind == "llm_refused"
    assert [c.pair_id for c in later] == [p.pair_id for p, _ in items[1:]]
    assert all(c.labels is None and c.error and c.error.kind == "llm_refused" for c in later)
    assert "not classified" in later[0].error.message  # type: ignore[union-attr]
    assert len(server.chat_requests) == 1


# -- PairClassifier and the rolling stream --------------------------------------------------


def test_cascade_stop_keeps_the_cheap_tiers_confident_pairs(tmp_path, server, registry) -> None:
    server.script(*[Reply.server_error(401, "invalid api key")] * 5)
    cascade = settings(tmp_path, server, tier="cascade", cascade_threshold=1.0)
    pairs = [pair(1), pair(2, "NONE")]  # NONE: decided by the rules, never sent
    with PairClassifier(registry, cascade) as classifier:
        unsure, confident = classifier.submit(pairs).result(timeout=30)
        assert isinstance(classifier.stop, LLMUnavailableError)
    # the unsure pair is not passed off with the cheap tier's guess: it was not classified
    assert unsure.labels is None and unsure.error and unsure.error.kind == "llm_refused"
    assert confident.ok and confident.pair_id == pairs[1].pair_id


def test_stream_keeps_sending_while_one_request_is_slow(tmp_path, server, registry) -> None:
    server.script(Reply(), Reply(delay_s=SLOW_S))
    s = settings(tmp_path, server, llm_concurrency=4, llm_chunk_pairs=32)
    pairs = [pair(i) for i in range(24)]
    out = list(classify_stream(iter(pairs), registry, s))
    assert [c.pair_id for c in out] == [p.pair_id for p in pairs]  # input order kept
    assert all(c.ok for c in out)
    assert sent_while_the_slow_one_ran(server) == 22  # the 3 other slots never waited


def test_the_first_request_goes_alone(tmp_path, registry) -> None:
    """Until the run's first request has come back the others wait (a refused key costs
    one request); then every slot is used."""
    with ScriptedLLMServer(latency_s=0.3) as srv:
        s = settings(tmp_path, srv, llm_concurrency=4, llm_chunk_pairs=32)
        out = list(classify_stream(iter([pair(i) for i in range(12)]), registry, s))
        first, *others = sorted(r.at for r in srv.chat_requests)
    assert all(c.ok for c in out) and min(others) >= first + 0.25
    assert srv.max_in_flight == 4


def test_stream_after_a_refusal_yields_what_was_submitted_then_raises(
    tmp_path, server, registry
) -> None:
    server.script(*[Reply()] * 8, *[Reply.server_error(401, "invalid api key")] * 40)
    s = settings(tmp_path, server, llm_concurrency=1, llm_chunk_pairs=8)
    pairs = [pair(i) for i in range(30)]
    out: list[Classification] = []
    with pytest.raises(LLMUnavailableError, match="key"):
        for c in classify_stream(iter(pairs), registry, s):
            out.append(c)
    assert [c.pair_id for c in out] == [p.pair_id for p in pairs[: len(out)]]
    assert all(c.ok for c in out[:8]) and len(server.chat_requests) == 9
    assert all(c.error and c.error.kind == "llm_refused" for c in out[8:])


def test_stream_after_the_breaker_gives_every_pair_a_row_without_sending(
    tmp_path, server, registry
) -> None:
    """The breaker opens: nothing new is sent, the rest of the input still gets its rows
    (not classified, resumable), then the stop is raised."""
    server.script(*[Reply()] * 3, *[Reply.server_error(500)] * 200)
    s = settings(tmp_path, server, llm_concurrency=4, llm_chunk_pairs=8,
                 llm_max_consecutive_failures=5)  # fmt: skip
    pairs = [pair(i) for i in range(60)]
    out: list[Classification] = []
    with pytest.raises(LLMUnavailableError, match="5 requests in a row") as stop:
        for c in classify_stream(iter(pairs), registry, s):
            out.append(c)
    assert stop.value.resumable
    assert [c.pair_id for c in out] == [p.pair_id for p in pairs]
    assert sum(c.ok for c in out) == 3
    # answered + threshold + those in flight when it opened; and failures that end before
    # a slower success reset the count ("in a row" is in the order requests end)
    assert len(server.chat_requests) <= 3 + 5 + 2 * (4 - 1)
    kinds = {c.error.kind for c in out if c.error}
    assert kinds <= {"llm_request", "llm_unavailable"} and "llm_unavailable" in kinds


# -- batches: process_papers --------------------------------------------------------------


def write_papers(path: Path, n: int) -> Path:
    rows = [{"bibcode": p.paper.bibcode, "telescope": "HST", "body": p.paper.body}
            for p in map(pair, range(n))]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_embedded_batch_keeps_sending_while_one_paper_is_slow(tmp_path, server) -> None:
    server.script(Reply(), Reply(delay_s=SLOW_S))
    # 8 pairs ahead: a pipeline in chunks of 8 would send only 7 others during the slow one
    s = settings(tmp_path, server, llm_concurrency=4, llm_chunk_pairs=8)
    with open_store(tmp_path / "amc.db") as store:
        sub = submit_batch(store, [write_papers(tmp_path / "p.jsonl", 24)], (), s)
        progress = run_batch(store, sub.batch_id, s)
        calls = store.llm_call_totals(sub.batch_id)[0]
    assert progress.papers["done"] == 24 and progress.pairs == 24 and calls == 24
    assert sent_while_the_slow_one_ran(server) == 22


def test_claim_release_and_save_many_papers_at_once(store: Store, tmp_path: Path) -> None:
    s = load_settings(environ={}, spool_dir=tmp_path / "spool")
    sub = submit_batch(store, [write_papers(tmp_path / "p.jsonl", 4)], (), s)
    a, b, c, d = sub.paper_ids
    assert store.claim_papers([b, a]) == [b, a]
    assert store.claim_papers([a, b, c]) == [c]  # a and b are taken
    assert store.release_papers([a, d]) == 1  # d was never claimed
    paper_a = store.get_paper(a)
    assert (paper_a.status, paper_a.attempts) == ("pending", 0)
    results = list(classify_stream(iter(map(pair, range(4))), load_registry(), s))
    store.save_papers(sub.batch_id, [(b, [results[1]]), (c, [results[2]])])
    store.save_papers(sub.batch_id, [(c, [results[2]])])  # saved twice: still one row
    done = {p.id for p in store.get_papers(sub.paper_ids) if p.status == "done"}
    assert done == {b, c}
    assert sorted(r.pair_id for r in store.iter_results(sub.batch_id)) == [
        results[1].pair_id, results[2].pair_id
    ]  # fmt: skip
    with pytest.raises(StoreError, match="no paper with id 999"):
        store.save_papers(sub.batch_id, [(d, [results[3]]), (999, [])])
    assert store.get_paper(d).status == "pending"  # nothing of the failed save was kept


# -- workers: one classifier per batch, shared by the task threads ---------------------------


class FakeClassifier:
    def __init__(self) -> None:
        self.stopped = False
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_worker_threads_share_a_classifier_and_a_stopped_one_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[FakeClassifier] = []
    monkeypatch.setattr(
        workers.tasks, "classifier_for", lambda _s: made.append(FakeClassifier()) or made[-1]
    )
    shared = SharedClassifiers(keep=1)
    s = load_settings(environ={})
    with shared.use("b1", s) as first, shared.use("b1", s) as second:
        assert first is second and len(made) == 1
        first.stopped = True  # the provider went down under a running task
        with shared.use("b1", s) as third:
            assert third is not first and not first.closed  # still in use: not closed yet
    assert first.closed and not third.closed
    with shared.use("b2", s):  # over `keep`: the idle one of b1 is closed
        pass
    assert third.closed and len(made) == 3
