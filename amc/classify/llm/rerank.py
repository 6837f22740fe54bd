"""The reference tool's LLM reranker, kept as an option (``rerank="llm"``, off by default).

One yes/no call per snippet; P(yes) from the log-probabilities becomes the
snippet's score, and the best ``max_snippets`` with P(yes) >= 0.5 are kept
(at least one). It multiplies calls by the number of snippets, which is why
the lexical ranking is the default.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from amc.classify.llm.cost import call_cost
from amc.classify.llm.errors import LLMRequestError
from amc.classify.llm.planning import numbers_sentences
from amc.classify.llm.provider.chat import LLMClient
from amc.classify.llm.request import PairInput, rerank_messages
from amc.domain.models import Snippet, Usage
from amc.settings.llm import LLMSettings
from amc.snippets.ranking import select_snippets

log = logging.getLogger(__name__)

#: receives (pair id, usage of one reranker call)
UsageSink = Callable[[str, Usage], None]
#: P(yes) a snippet needs to be kept (the best one is kept regardless)
THRESHOLD = 0.5


async def rerank_inputs(
    inputs: Sequence[PairInput],
    client: LLMClient,
    config: LLMSettings,
    on_usage: UsageSink,
) -> list[PairInput]:
    """Every input with its snippets re-scored by the model and re-selected; each reranker
    call's usage is reported to ``on_usage`` with the pair id it was made for."""
    return list(await asyncio.gather(*(_rerank(i, client, config, on_usage) for i in inputs)))


async def _rerank(
    item: PairInput, client: LLMClient, config: LLMSettings, on_usage: UsageSink
) -> PairInput:
    if len(item.snippets) <= 1:
        return item
    # every call is awaited, even after one fails: none is left running behind the pair
    outcomes = await asyncio.gather(
        *(
            client.yes_probability(rerank_messages(item.telescope, s, config))
            for s in item.snippets
        ),
        return_exceptions=True,
    )
    scored: list[Snippet] = []
    errors: list[BaseException] = []
    for snippet, outcome in zip(item.snippets, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            errors.append(outcome)
            continue
        p_yes, prompt_tokens, completion_tokens = outcome
        cost = call_cost(config, prompt_tokens, completion_tokens, config.rerank_model)
        usage = Usage(
            calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost
        )
        on_usage(item.pair.pair_id, usage)  # paid for even if another call failed
        scored.append(snippet.model_copy(update={"score": p_yes}))
    unexpected = [e for e in errors if not isinstance(e, LLMRequestError)]
    if unexpected:
        raise unexpected[0]  # a cancellation or a bug: not the reranker's failure to absorb
    if errors:
        # ranking is an optimisation: fall back to the lexical order rather than lose the pair
        log.warning(
            "reranker failed for %s (%s); using the lexical ranking", item.pair.pair_id, errors[0]
        )
        return _selected(item, item.snippets, config)
    scored.sort(key=lambda s: -s.score)
    kept = [s for s in scored if s.score >= THRESHOLD] or scored[:1]
    return _selected(item, kept, config)


def _selected(item: PairInput, ranked: list[Snippet], config: LLMSettings) -> PairInput:
    """The item with its snippets in the reranker's order: whole, for a prompt whose
    evidence budget picks their sentences; else capped and cut as usual."""
    if numbers_sentences(config):
        return replace(item, snippets=ranked)
    chosen = select_snippets(
        ranked, config.max_snippets, config.max_snippet_chars, config.max_prompt_chars
    )
    return replace(item, snippets=chosen)
