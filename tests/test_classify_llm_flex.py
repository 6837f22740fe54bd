"""OpenAI flex processing (``llm_service_tier=flex``) over real HTTP to the scripted server:
synchronous calls marked ``service_tier: flex``, priced like the Batch API, given the long
timeout flex needs, and retried with backoff when the provider has no capacity (429
"resource unavailable"). Only OpenAI models can ask for it; Batch API lines never do."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from llm_answers import error_body
from llm_server import Reply, ScriptedLLMServer

from amc.classify.llm import classify_pairs_llm_sync
from amc.classify.llm.provider_batch import run_provider_batch
from amc.domain.errors import ConfigError
from amc.domain.models import Pair, Paper
from amc.registry import Registry
from amc.settings import load_settings
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

PRICE = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
BODY = (
    "Our targets were selected from the literature. We observed NGC 1234 with the Hubble "
    "Space Telescope using WFC3 in program GO 12345. The images were reduced as usual."
)


def config(server: ScriptedLLMServer, **kw: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "model": "openai/local", "api_base": server.api_base, "cache_path": None,
        "prices": PRICE, "backoff_s": 0.01, "timeout_s": 5, "service_tier": "flex",
    }  # fmt: skip
    return LLMSettings(**(values | kw))


def items(registry: Registry) -> list[Any]:
    paper = Paper(bibcode="2024FLEX", title="A study of clusters", body=BODY)
    return [(Pair(paper=paper, telescope="HST"), find_snippets(paper, registry.get("HST")))]


def resource_unavailable() -> Reply:
    """What OpenAI answers a flex request when it has no capacity (no Retry-After)."""
    message = "Resource unavailable: flex processing is at capacity, retry later"
    return Reply(status=429, body=error_body(message, "resource_unavailable"))


def test_flex_calls_are_marked_and_priced_like_the_batch_api(server, registry) -> None:
    server.script(Reply(usage=(1000, 200)))
    [flex] = classify_pairs_llm_sync(items(registry), registry, config(server))
    assert server.chat_requests[0].body["service_tier"] == "flex"
    assert flex.ok and flex.usage.cost_usd == pytest.approx((1000 * 0.1 + 200 * 0.4) / 1e6 / 2)
    server.reset()
    server.script(Reply(usage=(1000, 200)))
    [standard] = classify_pairs_llm_sync(items(registry), registry,
                                         config(server, service_tier="standard"))  # fmt: skip
    assert "service_tier" not in server.chat_requests[0].body
    assert standard.usage.cost_usd == pytest.approx(2 * flex.usage.cost_usd)


def test_resource_unavailable_is_retried_with_backoff(server, registry) -> None:
    server.script(resource_unavailable(), resource_unavailable(), Reply())
    [result] = classify_pairs_llm_sync(items(registry), registry, config(server, backoff_s=0.05))
    assert result.ok and len(server.chat_requests) == 3
    sent = [r.at for r in server.chat_requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert gaps[0] >= 0.05 * 0.5 and gaps[1] >= 0.1 * 0.5  # backoff doubles (jittered)


def test_flex_waits_as_long_as_flex_needs(server, registry) -> None:
    """OpenAI may queue a flex request for minutes: flex has its own, longer timeout."""
    server.script(Reply(delay_s=1.5))
    slow = config(server, timeout_s=0.5, flex_timeout_s=5, max_retries=0)
    [result] = classify_pairs_llm_sync(items(registry), registry, slow)
    assert result.ok
    server.script(Reply(delay_s=1.5))
    [timed_out] = classify_pairs_llm_sync(
        items(registry), registry, config(server, timeout_s=0.5, max_retries=0,
                                          service_tier="standard"),
    )  # fmt: skip
    assert not timed_out.ok and timed_out.error is not None


def test_only_openai_models_ask_for_flex() -> None:
    with pytest.raises(ConfigError, match=r"llm_service_tier.*not an OpenAI model"):
        load_settings(environ={"AMC_MODEL": "anthropic/claude-3-5-haiku",
                               "AMC_LLM_SERVICE_TIER": "flex"})  # fmt: skip
    assert load_settings(environ={"AMC_LLM_SERVICE_TIER": "flex"}).llm.request_timeout_s == 900


def test_batch_api_lines_never_ask_for_flex(server, registry, tmp_path: Path) -> None:
    cfg = config(server, cache_path=tmp_path / "c.sqlite")
    [result] = run_provider_batch(items(registry), registry, cfg, tmp_path / "b.json",
                                  sleep=lambda s: None)  # fmt: skip
    [upload] = server.uploads()
    assert "service_tier" not in json.loads(upload)["body"] and result.ok
