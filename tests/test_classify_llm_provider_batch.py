"""The Batch API mode over real HTTP to the scripted server's files and batches endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import Reply, ScriptedLLMServer

from amc.classify.llm import (
    LLMRequestError,
    ProviderBatchError,
    ProviderBatchPending,
    classify_pairs_llm_sync,
    collect_provider_batch,
    poll_provider_batch,
    run_provider_batch,
    submit_provider_batch,
)
from amc.classify.llm.provider_batch.state import load_state
from amc.domain.models import Pair, Paper, Snippet
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

PRICE = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
SCIENCE = (
    "Our targets were selected from the literature. We observed NGC 1234 with the Hubble "
    "Space Telescope using WFC3 in program GO 12345. The images were reduced as usual."
)
MENTION = "Earlier work with the Hubble Space Telescope found similar clusters (Smith 2001)."


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer(batch_polls_to_complete=3) as srv:
        yield srv


def config(server: ScriptedLLMServer, tmp_path: Path, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": "openai/local",
        "api_base": server.api_base,
        "cache_path": tmp_path / "cache.sqlite",
        "prices": PRICE,
        "max_retries": 0,
        "timeout_s": 5,
    }
    return LLMSettings(**(values | kw))


def item(registry: Registry, body: str, bibcode: str, telescope: str = "HST") -> Any:
    paper = Paper(bibcode=bibcode, title="A study of clusters", body=body)
    snippets: list[Snippet] = find_snippets(paper, registry.get(telescope))
    return Pair(paper=paper, telescope=telescope), snippets


def three_items(registry: Registry) -> list[Any]:
    return [
        item(registry, SCIENCE, "B1"),
        item(registry, MENTION, "B2"),
        item(registry, SCIENCE, "B3"),
    ]


def uploaded_lines(server: ScriptedLLMServer) -> list[dict[str, Any]]:
    [upload] = [r for r in server.requests if r.path.endswith("/files")]
    return [json.loads(line) for line in upload.body["content"].splitlines()]


def run(items: Any, registry: Registry, cfg: LLMSettings, state: Path, waits: list[float]) -> Any:
    return run_provider_batch(items, registry, cfg, state, poll_interval_s=1.0, sleep=waits.append)


def test_happy_path_labels_quotes_usage_and_polling(server, registry, tmp_path) -> None:
    items = three_items(registry)
    server.script_batch_line("B1_HST", Reply(usage=(1000, 200)))
    waits: list[float] = []
    results = run(items, registry, config(server, tmp_path), tmp_path / "b.json", waits)
    assert [r.pair_id for r in results] == ["B1_HST", "B2_HST", "B3_HST"]
    assert [r.labels.primary for r in results if r.labels] == ["science", "mention", "science"]
    assert all(r.ok and r.tier == "llm" and r.evidence[0].verified for r in results)
    first = results[0]
    assert SCIENCE[first.evidence[0].start : first.evidence[0].end].startswith("We observed")
    assert first.usage.calls == 1 and first.usage.prompt_tokens == 1000
    assert first.usage.cost_usd == pytest.approx((1000 * 0.1 + 200 * 0.4) / 1e6 * 0.5)
    assert "Batch API (batch_1)" in first.reason
    assert waits == [1.0, 2.0]  # polls 1 and 2 found it unfinished; backoff doubles
    polls = server.paths("GET", "/batches/batch_1")
    plan = load_state(tmp_path / "b.json")
    assert len(polls) == 3 and plan is not None and plan.files[0].status == "completed"


def test_lines_carry_the_exact_online_request(server, registry, tmp_path) -> None:
    items = three_items(registry)
    run(items, registry, config(server, tmp_path), tmp_path / "b.json", [])
    lines = uploaded_lines(server)
    assert [line["custom_id"] for line in lines] == ["B1_HST", "B2_HST", "B3_HST"]
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    [batch] = [r.body for r in server.requests if r.path.endswith("/batches")]
    assert batch["completion_window"] == "24h" and batch["endpoint"] == "/v1/chat/completions"
    classify_pairs_llm_sync(items, registry, config(server, tmp_path, use_cache=False))
    online = {json.dumps(r.body["messages"], sort_keys=True): r.body for r in server.chat_requests}
    for line in lines:
        body = line["body"]
        assert body["response_format"]["type"] == "json_schema"
        sent = online[json.dumps(body["messages"], sort_keys=True)]  # same messages sent online
        assert {k: sent[k] for k in body} == body  # and the same model, format and limits


def test_failed_line_is_recorded_and_the_others_succeed(server, registry, tmp_path) -> None:
    server.script_batch_line("B2_HST", Reply.server_error(500, "overloaded"))
    results = run(three_items(registry), registry, config(server, tmp_path), tmp_path / "b", [])
    assert [r.ok for r in results] == [True, False, True]
    failed = results[1]
    assert failed.error is not None and failed.error.kind == LLMRequestError.kind
    assert "B2_HST failed" in failed.error.message and "overloaded" in failed.error.message
    assert failed.labels is None


def test_invalid_answer_line_fails_with_raw_output_kept(server, registry, tmp_path) -> None:
    server.script_batch_line("B3_HST", Reply.truncated_json())
    results = run(three_items(registry), registry, config(server, tmp_path), tmp_path / "b", [])
    bad = results[2]
    assert results[0].ok and results[1].ok and not bad.ok
    assert bad.error is not None and bad.error.kind == "llm_answer"
    assert "does not re-ask" in bad.error.message
    assert '"mention": fal' in bad.reason  # raw output for the audit
    assert bad.usage.calls == 1  # the line was answered, and paid for


def test_unverifiable_quote_is_downgraded_like_online(server, registry, tmp_path) -> None:
    fake = {"quote": "We obtained twelve orbits of STIS spectroscopy", "supports": "science"}
    answer = {
        "science": True, "instrumentation": False, "mention": False, "not_telescope": False,
        "confidence": {"science": 0.9, "instrumentation": 0, "mention": 0, "not_telescope": 0},
        "evidence": [fake], "reason": "made up",
    }  # fmt: skip
    server.script_batch_line("B1_HST", Reply.answer(answer))
    cfg = config(server, tmp_path, prompt_name="classify_pair.v1")  # the prompt that quotes
    [result] = run([item(registry, SCIENCE, "B1")], registry, cfg, tmp_path / "b", [])
    assert result.labels is not None and result.labels.mention and not result.labels.science
    assert "downgraded" in result.reason and not result.evidence[0].verified


def test_resume_after_interruption_does_not_upload_or_create_again(
    server, registry, tmp_path
) -> None:
    items, cfg, state = three_items(registry), config(server, tmp_path), tmp_path / "b.json"
    submit_provider_batch(items, registry, cfg, state)
    interrupted = poll_provider_batch(state, cfg, timeout_s=0)  # one read, then the process "dies"
    assert interrupted.files[0].status == "in_progress"
    assert interrupted.files[0].batch_id == "batch_1"
    again = submit_provider_batch(items, registry, cfg, state)
    assert again.files[0].batch_id == "batch_1"
    results = run(items, registry, cfg, state, [])
    assert all(r.ok for r in results)
    assert len(server.paths("POST", "/files")) == 1
    assert len(server.paths("POST", "/batches")) == 1


def test_crash_between_upload_and_create_reuses_the_file(server, registry, tmp_path) -> None:
    items, cfg, state = three_items(registry), config(server, tmp_path), tmp_path / "b.json"
    server.fail_batch_creates = 1
    with pytest.raises(LLMRequestError, match="could not create the batch"):
        submit_provider_batch(items, registry, cfg, state)
    saved = load_state(state)
    assert saved is not None and saved.files[0].input_file_id == "file-1"
    assert saved.files[0].batch_id is None and saved.files[0].status == "creating"
    results = run(items, registry, cfg, state, [])
    assert all(r.ok for r in results)
    assert len(server.paths("POST", "/files")) == 1  # not uploaded twice
    batches = [r.body for r in server.requests if r.path.endswith("/batches")]
    assert [b["input_file_id"] for b in batches] == ["file-1", "file-1"]


def test_finished_batch_is_collected_again_from_the_state_file(server, registry, tmp_path) -> None:
    items, cfg, state = three_items(registry), config(server, tmp_path), tmp_path / "b.json"
    first = run(items, registry, cfg, state, [])
    server.reset()
    again = run(items, registry, cfg, state, [])
    assert server.requests == []  # no upload, batch, poll or download: all from the state
    assert [r.labels for r in again] == [r.labels for r in first]
    assert [r.evidence for r in again] == [r.evidence for r in first]


def test_state_file_of_another_input_is_refused(server, registry, tmp_path) -> None:
    cfg, state = config(server, tmp_path), tmp_path / "b.json"
    submit_provider_batch(three_items(registry), registry, cfg, state)
    with pytest.raises(ProviderBatchError, match="belongs to another input"):
        submit_provider_batch([item(registry, MENTION, "OTHER")], registry, cfg, state)
    assert len(server.paths("POST", "/files")) == 1


def test_collect_before_the_batch_finished_says_so(server, registry, tmp_path) -> None:
    items, cfg, state = three_items(registry), config(server, tmp_path), tmp_path / "b.json"
    submit_provider_batch(items, registry, cfg, state)
    with pytest.raises(ProviderBatchPending, match="still in_progress"):
        collect_provider_batch(state, items, registry, cfg)
    with pytest.raises(ProviderBatchPending, match="run again with the state file"):
        run_provider_batch(items, registry, cfg, state, poll_interval_s=1.0, timeout_s=0.0,
                           sleep=lambda s: None)  # fmt: skip


def test_paper_mode_one_line_per_paper_mapped_back_to_pairs(server, registry, tmp_path) -> None:
    paper = Paper(bibcode="2024PAPER", body=SCIENCE + " Future JWST NIRSpec spectra could help.")
    items = [
        (Pair(paper=paper, telescope=t), find_snippets(paper, registry.get(t)))
        for t in ("HST", "JWST")
    ]
    cfg = config(server, tmp_path, mode="paper")
    results = run(items, registry, cfg, tmp_path / "b.json", [])
    [line] = uploaded_lines(server)
    assert line["custom_id"] == "2024PAPER"
    assert [r.pair_id for r in results] == ["2024PAPER_HST", "2024PAPER_JWST"]
    assert all(r.ok for r in results)
    assert sum(r.usage.calls for r in results) == 1
    assert load_state(tmp_path / "b.json").files[0].requests == {  # type: ignore[union-attr]
        "2024PAPER": ["2024PAPER_HST", "2024PAPER_JWST"]
    }


def test_collected_answers_fill_the_cache_for_online_runs(server, registry, tmp_path) -> None:
    items, cfg = three_items(registry), config(server, tmp_path)
    run(items, registry, cfg, tmp_path / "b.json", [])
    results = classify_pairs_llm_sync(items, registry, cfg)
    assert server.chat_requests == [] and all(r.ok for r in results)


def test_pairs_without_snippets_need_no_line(server, registry, tmp_path) -> None:
    items = [item(registry, "No telescope is named here.", "B0"), item(registry, SCIENCE, "B1")]
    results = run(items, registry, config(server, tmp_path), tmp_path / "b.json", [])
    assert [line["custom_id"] for line in uploaded_lines(server)] == ["B1_HST"]
    assert results[0].labels is not None and results[0].labels.not_telescope


def test_llm_reranker_is_refused_in_batch_mode(server, registry, tmp_path) -> None:
    cfg = config(server, tmp_path, rerank="llm")
    with pytest.raises(ProviderBatchError, match="rerank='lexical'"):
        submit_provider_batch(three_items(registry), registry, cfg, tmp_path / "b.json")
    assert server.requests == []
