"""The lean HTTP transport and the shared event loop, over real HTTP to the scripted server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from llm_server import Reply, ScriptedLLMServer

from amc.classify.llm import (
    LLMProviderRefused,
    LLMRequestError,
    LLMRequestRejected,
    classify_pairs_llm_sync,
)
from amc.classify.llm import loop as _loop
from amc.classify.llm.provider.chat import LLMClient, transport_for
from amc.classify.llm.provider.protocol import cache_hints, cache_tokens
from amc.domain.errors import ConfigError
from amc.domain.models import Pair, Paper, Snippet
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
MESSAGES = [{"role": "user", "content": "Say ok."}]
BODY = "We observed NGC 1234 with the Hubble Space Telescope using WFC3 in program GO 12345."


def config(server: ScriptedLLMServer, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": "openai/local",
        "api_base": server.api_base,
        "transport": "http",
        "cache_path": None,
        "backoff_s": 0.01,
        "timeout_s": 5,
    }
    return LLMSettings(**(values | kw))


class Sleeps:
    """An injected sleep that records its waits and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def complete(cfg: LLMSettings, sleep: Sleeps | None = None) -> Any:
    async def go() -> Any:
        client = LLMClient(cfg, sleep=sleep or Sleeps())
        try:
            return await client.complete(MESSAGES, SCHEMA)
        finally:
            await client.aclose()

    return asyncio.run(go())


def item(registry: Registry, bibcode: str = "2024T") -> tuple[Pair, list[Snippet]]:
    paper = Paper(bibcode=bibcode, body=BODY)
    return Pair(paper=paper, telescope="HST"), find_snippets(paper, registry.get("HST"))


# -- choosing the transport ---------------------------------------------------------


def test_auto_uses_http_for_openai_models_with_a_key_or_a_local_server() -> None:
    assert transport_for(LLMSettings(api_base="http://127.0.0.1:1/v1"), "openai/local") == "http"
    assert transport_for(LLMSettings(api_key="sk-test"), "openai/gpt-4o-mini") == "http"
    # no key known here: litellm reads OPENAI_API_KEY itself
    assert transport_for(LLMSettings(), "openai/gpt-4o-mini") == "litellm"
    assert transport_for(LLMSettings(api_key="k"), "anthropic/claude-3-5-haiku") == "litellm"
    assert transport_for(LLMSettings(transport="litellm", api_key="k"), "openai/x") == "litellm"


@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_openai_without_a_key_is_refused_before_any_request(transport: str) -> None:
    """A missing key is a configuration error (exit 2), found before anything is sent,
    naming the settings that exist (there is no --api-key flag)."""
    with pytest.raises(ConfigError, match="OPENAI_API_KEY") as refused:
        LLMClient(LLMSettings(model="openai/gpt-4o-mini", transport=transport))
    assert "AMC_API_KEY" in str(refused.value) and "--api-base" in str(refused.value)
    assert "--api-key" not in str(refused.value)


# -- the request and its answer -----------------------------------------------------


def test_answer_text_and_usage_and_the_request_body(server) -> None:
    server.script(Reply(content='{"ok": true}', usage=(123, 45)))
    done = complete(config(server, temperature=0.0, max_output_tokens=64))
    assert (done.text, done.prompt_tokens, done.completion_tokens) == ('{"ok": true}', 123, 45)
    assert done.finish_reason == "stop" and done.response_format == "json_schema"
    [sent] = server.chat_requests
    assert sent.body["model"] == "local"  # the provider prefix is litellm's, not the server's
    assert sent.body["messages"] == MESSAGES
    assert (sent.body["max_tokens"], sent.body["temperature"]) == (64, 0.0)
    assert sent.response_format["json_schema"]["schema"] == SCHEMA


def test_rate_limit_waits_as_long_as_retry_after_says(server) -> None:
    server.script(Reply.rate_limited(retry_after_s=2.5), Reply(content='{"ok": true}'))
    sleeps = Sleeps()
    assert complete(config(server), sleeps).text == '{"ok": true}'
    assert len(server.chat_requests) == 2
    assert [round(w) for w in sleeps.waits] == [3] and 2.5 <= sleeps.waits[0] <= 2.6


def test_server_error_is_retried(server) -> None:
    server.script(Reply.server_error(500), Reply.server_error(503), Reply(content="{}"))
    assert complete(config(server)).text == "{}"
    assert len(server.chat_requests) == 3


def test_unreadable_answer_is_retried(server) -> None:
    server.script(Reply(body="<html>gateway</html>"), Reply(content="{}"))
    assert complete(config(server)).text == "{}"
    assert len(server.chat_requests) == 2


def test_timeout_is_retried_then_given_up(server) -> None:
    server.script(Reply.hang(1.5), Reply(content="{}"))
    assert complete(config(server, timeout_s=0.3)).text == "{}"
    server.script(Reply.hang(1.5), Reply.hang(1.5))
    with pytest.raises(LLMRequestError, match="2 attempt"):
        complete(config(server, timeout_s=0.3, max_retries=1))


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = LLMSettings(model="openai/local", api_base=f"http://127.0.0.1:{port}/v1",
                    transport="http", max_retries=2, cache_path=None)  # fmt: skip
    sleeps = Sleeps()
    with pytest.raises(LLMRequestError, match=r"3 attempt.*Connect"):
        complete(cfg, sleeps)
    assert len(sleeps.waits) == 2


def test_bad_key_stops_the_run_with_advice(server) -> None:
    server.script(Reply(status=401, body=json.dumps({"error": {"message": "bad key"}})))
    with pytest.raises(LLMProviderRefused, match=r"HTTP 401: bad key.*OPENAI_API_KEY") as stop:
        complete(config(server, api_key="sk-wrong"))
    assert not stop.value.resumable and "--api-key" not in str(stop.value)


@pytest.mark.parametrize(("status", "names"), [(401, "AMC_API_KEY"), (403, "AMC_API_KEY"),
                                              (404, "--model (AMC_MODEL)")])  # fmt: skip
def test_a_refusal_stops_everything_after_one_request_whatever_the_concurrency(
    server, status: int, names: str
) -> None:
    """Eight requests at once: the first goes alone; its 401/403/404 stops the run, and
    the seven waiting never leave, with no retry."""
    server.script(*[Reply(status=status, body=json.dumps({"error": {"message": "no"}}))] * 10)

    async def go() -> list[Any]:
        client = LLMClient(config(server, concurrency=8, max_retries=4), sleep=Sleeps())
        try:
            calls = [client.complete(MESSAGES, SCHEMA) for _ in range(8)]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await client.aclose()

    outcomes = asyncio.run(go())
    assert len(server.chat_requests) == 1
    assert all(isinstance(o, LLMProviderRefused) and names in str(o) for o in outcomes)


def test_a_rejected_request_is_not_retried_and_says_so(server) -> None:
    server.script(Reply(status=400, body=json.dumps({"error": {"message": "too long"}})))
    with pytest.raises(LLMRequestRejected, match="rejected the request") as failed:
        complete(config(server, max_retries=3))
    assert "0 attempt" not in str(failed.value) and len(server.chat_requests) == 1


def test_json_schema_rejection_falls_back_to_json_object(server) -> None:
    server.script(Reply.json_schema_unsupported(), Reply(content="{}"))
    assert complete(config(server)).response_format == "json_object"
    styles = [r.response_format["type"] for r in server.chat_requests]
    assert styles == ["json_schema", "json_object"]
    assert server.chat_requests[1].response_format["schema"] == SCHEMA


def test_yes_probability_reads_logprobs(server) -> None:
    server.rerank_usage = (30, 1)
    fenced = "<<<PAPER_SNIPPETS\nWe observed it.\nPAPER_SNIPPETS>>>"

    async def go() -> tuple[float, int, int]:
        client = LLMClient(config(server, rerank_model="openai/reranker"))
        try:
            return await client.yes_probability([{"role": "user", "content": fenced}])
        finally:
            await client.aclose()

    p_yes, prompt_tokens, completion_tokens = asyncio.run(go())
    assert p_yes == pytest.approx(0.9) and (prompt_tokens, completion_tokens) == (30, 1)
    [sent] = server.chat_requests
    assert sent.body["model"] == "reranker"
    asked = {k: sent.body[k] for k in ("logprobs", "top_logprobs", "max_tokens")}
    assert asked == {"logprobs": True, "top_logprobs": 5, "max_tokens": 1}


# -- one event loop per process for the synchronous entry point ----------------------


def test_sync_calls_share_one_loop_and_its_connections(server, registry) -> None:
    threads: list[threading.Thread] = []
    cfg = config(server)
    for i in range(2):
        [result] = classify_pairs_llm_sync(
            [item(registry, f"B{i}")],
            registry,
            cfg,
            progress=lambda _: threads.append(threading.current_thread()),
        )
        assert result.ok
    shared = _loop.shared_loop()
    assert len(threads) == 2 and all(t is shared.thread for t in threads)
    assert shared.thread.is_alive() and shared.thread is not threading.current_thread()
    # one pooled session for this endpoint (a local server: the dummy key), still open
    http = shared.pool._http[(server.api_base, "sk-no-key-needed")]
    assert http._session is not None and not http._session.closed


def test_sync_calls_from_four_threads_at_once(registry) -> None:
    with ScriptedLLMServer(latency_s=0.2) as srv:
        cfg = config(srv, concurrency=3)
        batches = [[item(registry, f"T{t}P{i}") for i in range(3)] for t in range(4)]
        with ThreadPoolExecutor(4) as pool:
            runs = list(pool.map(lambda b: classify_pairs_llm_sync(b, registry, cfg), batches))
        assert all(r.ok for results in runs for r in results)
        assert [[r.pair_id for r in results] for results in runs] == [
            [p.pair_id for p, _ in b] for b in batches
        ]
        assert len(srv.chat_requests) == 12
        assert srv.max_in_flight > 3  # the four runs overlapped on the one loop


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork with threads running
def test_a_forked_child_gets_its_own_loop(server, registry) -> None:
    cfg = config(server)
    assert classify_pairs_llm_sync([item(registry, "PARENT")], registry, cfg)[0].ok
    parent = _loop.shared_loop()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        status = 1
        try:
            [result] = classify_pairs_llm_sync([item(registry, "CHILD")], registry, cfg)
            child = _loop.shared_loop()
            fresh = child is not parent and child.pid == os.getpid()
            os.write(write, json.dumps([result.ok, fresh, child.thread.is_alive()]).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    report = os.read(read, 1000)
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads(report) == [True, True, True]
    assert _loop.shared_loop() is parent  # the parent's loop is untouched
    assert classify_pairs_llm_sync([item(registry, "AFTER")], registry, cfg)[0].ok


@pytest.mark.parametrize("transport", ["http", "litellm"])
def test_prompt_cache_key_and_cached_tokens_travel_both_transports(server, transport) -> None:
    server.script(Reply.answer({"ok": True}, usage=(2000, 10), cached_tokens=1536))

    async def go() -> Any:
        client = LLMClient(config(server, transport=transport), sleep=Sleeps())
        try:
            return await client.complete(MESSAGES, SCHEMA, max_tokens=50, cache_key="amc-paper")
        finally:
            await client.aclose()

    completion = asyncio.run(go())
    [request] = server.chat_requests
    assert request.body["prompt_cache_key"] == "amc-paper" and request.body["max_tokens"] == 50
    assert (completion.prompt_tokens, completion.cached_tokens) == (2000, 1536)


def test_cache_hints_per_provider() -> None:
    messages = [{"role": "system", "content": "static"}, {"role": "user", "content": "paper"}]
    hinted, extra = cache_hints("anthropic", "anthropic/claude-sonnet-4-5", messages, "amc-x")
    assert extra == {} and hinted[1] == messages[1]
    assert hinted[0]["content"] == [
        {"type": "text", "text": "static", "cache_control": {"type": "ephemeral"}}
    ]
    assert messages[0]["content"] == "static"  # the request's own messages are left alone
    assert cache_hints("openai", "gpt-4.1-mini", messages, "amc-x") == (
        messages,
        {"prompt_cache_key": "amc-x"},
    )
    assert cache_hints("gemini", "gemini/gemini-2.5-flash", messages, "amc-x") == (messages, {})


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens_details": {"cached_tokens": 1024}}, (1024, 0)),
        ({"cache_read_input_tokens": 900, "cache_creation_input_tokens": 1100}, (900, 1100)),
        ({"prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 2048}}, (0, 2048)),
        ({"prompt_tokens_details": None}, (0, 0)),
        ({}, (0, 0)),
    ],
)
def test_cache_tokens_are_read_from_every_providers_usage(usage, expected) -> None:
    assert cache_tokens(usage) == expected
