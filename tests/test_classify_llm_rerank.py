"""The optional LLM reranker (``rerank="llm"``): one yes/no call per snippet, P(yes) from
log-probabilities, over real HTTP to the scripted server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llm_answers import numbered_sentences
from llm_server import Reply, ScriptedLLMServer, chat_completion, fenced_snippets

from amc.classify.llm import classify_pairs_llm_sync
from amc.domain.models import Pair, Paper
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

PRICE = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
FILLER = " ".join(f"Sentence number {i} says nothing in particular." for i in range(12))
#: scripted P(yes) per snippet, chosen to contradict the lexical ranking
P_YES = {"Earlier studies": 0.8, "the cluster": 0.6, "the halo": 0.3, "Future": 0.1}
BODY = f" {FILLER} ".join(
    [
        "Earlier studies mentioned HST in passing.",
        "We observed the cluster with the Hubble Space Telescope (program GO 12345).",
        "We observed the halo with HST/WFC3 imaging as well.",
        "Future HST programs could extend this.",
    ]
)


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as srv:
        srv.p_yes = lambda text: next((p for key, p in P_YES.items() if key in text), 0.0)
        srv.rerank_usage = (40, 1)
        yield srv


def config(server: ScriptedLLMServer, **kw: Any) -> LLMSettings:
    values = {"model": "openai/local", "api_base": server.api_base, "cache_path": None}
    return LLMSettings(**(values | {"prices": PRICE, "rerank": "llm", "max_snippets": 3} | kw))


def hst_item(registry: Registry, body: str = BODY) -> tuple[Pair, Any]:
    paper = Paper(bibcode="2024RERANK", body=body)
    return Pair(paper=paper, telescope="HST"), find_snippets(paper, registry.get("HST"), window=1)


def test_one_yes_no_call_per_snippet_with_logprobs(server, registry) -> None:
    pair, snippets = hst_item(registry)
    assert len(snippets) == 4
    classify_pairs_llm_sync([(pair, snippets)], registry, config(server))
    rerank = [r for r in server.chat_requests if r.body.get("logprobs")]
    assert len(rerank) == 4  # the reference tool's cost: one call per snippet
    assert all(r.body["max_tokens"] == 1 and r.body["top_logprobs"] >= 2 for r in rerank)
    assert len(server.chat_requests) == 5  # plus the one classification call


#: the v1 prompt shows the selected snippets whole, in rank order
V1 = {"prompt_name": "classify_pair.v1"}


def test_snippets_are_ordered_and_filtered_by_p_yes(server, registry) -> None:
    classify_pairs_llm_sync([hst_item(registry)], registry, config(server, **V1))
    [classify] = [r for r in server.chat_requests if not r.body.get("logprobs")]
    [sent] = fenced_snippets(classify.body).values()
    # P(yes) 0.8 then 0.6; 0.3 and 0.1 fall under the 0.5 threshold although
    # max_snippets (3) had room and the lexical ranking puts "We observed" first
    assert [key for text in sent for key in P_YES if key in text] == [
        "Earlier studies",
        "the cluster",
    ]


def test_numbered_sentences_come_only_from_the_snippets_the_reranker_kept(server, registry) -> None:
    classify_pairs_llm_sync([hst_item(registry)], registry, config(server))
    [classify] = [r for r in server.chat_requests if not r.body.get("logprobs")]
    [sent] = numbered_sentences(classify.body).values()
    kept = {key for _, text in sent for key in P_YES if key in text}
    assert kept == {"Earlier studies", "the cluster"}


def test_reranker_calls_are_counted_in_usage_and_cost(server, registry) -> None:
    [result] = classify_pairs_llm_sync([hst_item(registry)], registry, config(server))
    [classify] = [r for r in server.chat_requests if not r.body.get("logprobs")]
    answer_usage = chat_completion(classify.body, "", None)["usage"]  # the server's own rule
    assert result.ok and result.usage.calls == 1 + 4
    assert result.usage.prompt_tokens == answer_usage["prompt_tokens"] + 4 * 40
    completion_tokens = result.usage.completion_tokens
    assert completion_tokens > 4  # the answer's tokens plus one token per reranker call
    expected = (result.usage.prompt_tokens * 0.1 + completion_tokens * 0.4) / 1e6
    assert result.usage.cost_usd == pytest.approx(expected)


def test_single_snippet_needs_no_reranker_call(server, registry) -> None:
    item = hst_item(registry, "We observed the cluster with the Hubble Space Telescope.")
    [result] = classify_pairs_llm_sync([item], registry, config(server))
    assert not any(r.body.get("logprobs") for r in server.chat_requests)
    assert result.usage.calls == 1


def test_failed_reranker_falls_back_to_lexical_order(server, registry) -> None:
    server.script(*[Reply.server_error(500) for _ in range(4)])  # every reranker call fails
    [result] = classify_pairs_llm_sync([hst_item(registry)], registry, config(server, **V1))
    assert result.ok  # the pair is still classified, with the lexical selection
    [classify] = [r for r in server.chat_requests if not r.body.get("logprobs")]
    [sent] = fenced_snippets(classify.body).values()
    assert len(sent) == 3 and "We observed" in sent[0]


def test_reranker_model_is_priced_with_its_own_price(server, registry) -> None:
    prices = PRICE | {"openai/small": {"input_per_mtok": 10.0, "output_per_mtok": 0.0}}
    cfg = config(server, rerank_model="openai/small", prices=prices)
    [result] = classify_pairs_llm_sync([hst_item(registry)], registry, cfg)
    rerank = [r for r in server.chat_requests if r.body.get("logprobs")]
    assert {r.body["model"] for r in rerank} == {"small"}
    answer_usage = result.usage.prompt_tokens - 4 * 40, result.usage.completion_tokens - 4
    answer_cost = (answer_usage[0] * 0.1 + answer_usage[1] * 0.4) / 1e6
    assert result.usage.cost_usd == pytest.approx(answer_cost + 4 * 40 * 10.0 / 1e6)


def test_the_reranker_keeps_whole_sentences_for_the_evidence_budget(server, registry) -> None:
    """Snippet caps (here 100 characters) cut v1's snippets; the budget gets whole ones."""
    classify_pairs_llm_sync([hst_item(registry)], registry, config(server, max_snippet_chars=100))
    [classify] = [r for r in server.chat_requests if not r.body.get("logprobs")]
    [sent] = numbered_sentences(classify.body).values()
    assert sent and all(text.endswith(".") and text in BODY for _, text in sent)
