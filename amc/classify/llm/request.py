"""Build the chat messages of one request from prompt files and ranked snippets.

Paper text only ever appears inside the ``<<<PAPER_SNIPPETS`` fence, and any
fence marker inside the paper is defused first, so a paper cannot close the
fence and write outside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from amc.classify.llm.prompts import PromptTemplate, load_prompt
from amc.classify.llm.provider.common import ChatMessages
from amc.classify.llm.schema import PairAnswer, answer_schema, paper_answer_model
from amc.domain.models import Pair, Snippet
from amc.registry import Telescope
from amc.settings.llm import LLMSettings

FENCE_OPEN = "<<<PAPER_SNIPPETS"
FENCE_CLOSE = "PAPER_SNIPPETS>>>"
_KIND_NOTE = {"false_positive": "known false positive", "grant": "grant"}


@dataclass(frozen=True)
class PairInput:
    """One pair ready to be asked about: its telescope and the snippets chosen for it."""

    pair: Pair
    telescope: Telescope
    snippets: list[Snippet]


@dataclass(frozen=True)
class Request:
    """One model request covering one pair (pair mode) or one paper's pairs (paper mode)."""

    inputs: list[PairInput]
    messages: ChatMessages
    answer_model: type[BaseModel]
    schema: dict[str, Any]
    prompt: PromptTemplate

    @property
    def telescopes(self) -> tuple[str, ...]:
        return tuple(item.telescope.key for item in self.inputs)


def defuse(text: str) -> str:
    """Paper text with fence-like markers broken up so it cannot end the fence."""
    return text.replace("<<<", "< < <").replace(">>>", "> > >")


def format_snippets(inputs: Sequence[PairInput]) -> str:
    """The fenced block's content: a header line per snippet, then its text."""
    blocks, n = [], 0
    for item in inputs:
        for snippet in item.snippets:
            n += 1
            described = dict.fromkeys(_describe_hit(h.text, h.kind) for h in snippet.hits)
            matched = ", ".join(described)  # each distinct term once, in text order
            header = (
                f"[snippet {n} | telescope: {item.telescope.key} | field: {snippet.field}"
                f" | matched: {defuse(matched)}]"
            )
            blocks.append(f"{header}\n{defuse(snippet.text.strip())}")
    return "\n\n".join(blocks)


def _describe_hit(text: str, kind: str) -> str:
    name = json.dumps(" ".join(text.split()).replace("]", ")"), ensure_ascii=False)
    note = _KIND_NOTE.get(kind)
    return f"{name} ({note})" if note else name


def _aliases(telescope: Telescope, limit: int = 24) -> str:
    terms = [t.term for t in (*telescope.aliases, *telescope.instruments) if not t.regex]
    return ", ".join(terms[:limit])


def pair_request(item: PairInput, config: LLMSettings) -> Request:
    """The request of pair mode: one telescope, its snippets."""
    prompt = load_prompt(config.prompt_name, config.prompts_dir)
    schema = answer_schema(PairAnswer)
    user = prompt.render(
        "user",
        telescope_key=item.telescope.key,
        telescope_name=item.telescope.name,
        telescope_aliases=_aliases(item.telescope),
        snippets=format_snippets([item]),
    )
    return Request([item], _messages(prompt, schema, user), PairAnswer, schema, prompt)


def paper_request(items: Sequence[PairInput], config: LLMSettings) -> Request:
    """The request of paper mode: every candidate telescope of one paper at once."""
    prompt = load_prompt(config.paper_prompt_name, config.prompts_dir)
    keys = tuple(item.telescope.key for item in items)
    model = paper_answer_model(keys)
    schema = answer_schema(model)
    listing = "\n".join(
        f"- {i.telescope.key}: {i.telescope.name}; {_aliases(i.telescope)}" for i in items
    )
    user = prompt.render(
        "user", telescopes=listing, telescope_keys=", ".join(keys), snippets=format_snippets(items)
    )
    return Request(list(items), _messages(prompt, schema, user), model, schema, prompt)


def _messages(prompt: PromptTemplate, schema: dict[str, Any], user: str) -> ChatMessages:
    system = prompt.render("system", answer_schema=json.dumps(schema, separators=(",", ":")))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def rerank_messages(telescope: Telescope, snippet: Snippet, config: LLMSettings) -> ChatMessages:
    """The yes/no question of the optional LLM reranker for one snippet."""
    prompt = load_prompt("rerank.v1", config.prompts_dir)
    user = prompt.render(
        "user",
        telescope_key=telescope.key,
        telescope_name=telescope.name,
        snippet=defuse(snippet.text),
    )
    return [
        {"role": "system", "content": prompt.render("system")},
        {"role": "user", "content": user},
    ]
