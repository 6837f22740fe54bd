"""Build the chat messages of one request from prompt files and ranked snippets.

Layout, for providers' prompt caching: the system message (instructions, label
definitions, the answer's JSON schema) is the same in every request of a prompt
file, byte for byte; the user message starts with the telescope (the same in
every request about that telescope) and ends with the paper's evidence. So
every request after the first reuses the cached static start.

Paper text only ever appears inside the ``<<<PAPER_SNIPPETS`` fence, and any
fence marker inside the paper is defused first, so a paper cannot close the
fence and write outside it. A prompt file with ``evidence: sentences`` gets the
pair's sentences chosen within the evidence budget and numbered
(``sentences``); one with the default ``evidence: quotes`` gets whole ranked
snippets to quote from (the v1 prompts).

The user message is built from named sections; a prompt's user template uses
the ones it declares (``telescope_key``, ``telescope_name``, ``telescope_aliases`` or
``telescope_short_names``, ``snippets`` or ``evidence`` and ``notes`` in pair mode;
``telescopes`` or ``telescopes_short``, ``telescope_keys``, ``snippets`` or ``evidence``
and ``notes`` in paper mode), so a later prompt version can add a section without
touching the others. Prompts with ``evidence: sentences`` may also ask for the pair's
links: ``telescope_names`` / ``telescopes_names`` (short names, and the canonical
instrument names an answer may give) and ``candidates`` (the candidate ids, see
``links.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from amc.classify.llm.errors import PromptError
from amc.classify.llm.links import candidate_labels, candidate_listing, with_candidate_sentences
from amc.classify.llm.prompts import PromptTemplate, load_prompt
from amc.classify.llm.provider.common import ChatMessages
from amc.classify.llm.schema import (
    CitedPairAnswer,
    CitedPaperAnswer,
    CompactPairAnswer,
    CompactPaperAnswer,
    PairAnswer,
    answer_schema,
    answer_token_cap,
    example_json,
    paper_answer_model,
)
from amc.classify.llm.sentences import NumberedEvidence, defuse, number_sentences
from amc.domain.models import Pair, Snippet
from amc.links import Judged
from amc.registry import Telescope
from amc.registry.patterns import Matcher
from amc.settings.llm import LLMSettings
from amc.snippets.budget import Sentence, budget_sentences

FENCE_OPEN = "<<<PAPER_SNIPPETS"
FENCE_CLOSE = "PAPER_SNIPPETS>>>"
_KIND_NOTE = {"false_positive": "known false positive", "grant": "grant"}

__all__ = ["FENCE_CLOSE", "FENCE_OPEN", "PairInput", "Request", "defuse", "pair_request",
           "paper_request", "rerank_messages"]  # fmt: skip


@dataclass(frozen=True)
class PairInput:
    """One pair ready to be asked about: its telescope and the snippets chosen for it."""

    pair: Pair
    telescope: Telescope
    snippets: list[Snippet]
    #: what makes a sentence an evidence cue (``amc.snippets.budget.evidence_patterns``)
    patterns: tuple[Matcher, ...] = ()
    #: candidate ids and DOIs the answer confirms or rejects (``links.id_candidates``)
    candidates: tuple[Judged, ...] = ()


@dataclass(frozen=True)
class Request:
    """One model request covering one pair (pair mode) or one paper's pairs (paper mode)."""

    inputs: list[PairInput]
    messages: ChatMessages
    answer_model: type[BaseModel]
    #: the answer model's schema: one object for all its requests of the run, never changed
    schema: dict[str, Any]
    prompt: PromptTemplate
    #: the numbered sentences shown (number n is ``sentences[n - 1]``); empty for quotes
    sentences: tuple[Sentence, ...] = ()
    #: this request's answer cap (None: the configured ``max_output_tokens``)
    max_tokens: int | None = None

    @property
    def telescopes(self) -> tuple[str, ...]:
        return tuple(item.telescope.key for item in self.inputs)

    @property
    def candidates(self) -> list[dict[str, Judged]]:
        """Each input's candidates by the id the prompt gave them (``P1``, ...)."""
        return candidate_labels([item.candidates for item in self.inputs])

    @property
    def cache_key(self) -> str:
        """The provider's prompt-cache key: one per paper, so a paper's calls share it (a
        hash: a bibcode of an unpublished paper is nobody else's business)."""
        bibcode = self.inputs[0].pair.paper.bibcode
        return "amc-" + hashlib.sha256(bibcode.encode()).hexdigest()[:16]


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


def _short_names(telescope: Telescope, limit: int = 20, leave_out: Sequence[str] = ()) -> str:
    """The one-word names and instruments (HST, Hubble, WFC3, ...): what the model needs to
    tell the telescope's matches from others, at a fifth of the full list's tokens."""
    terms = [t.term for t in (*telescope.aliases, *telescope.instruments)
             if not t.regex and " " not in t.term]  # fmt: skip
    return ", ".join(t for t in dict.fromkeys(terms[:limit]) if t not in leave_out)


def _names_and_instruments(telescope: Telescope) -> str:
    """``short names: HST, Hubble, ...; instruments: WFC3, ACS, ...``: the instruments are the
    registry's canonical names, the ones an answer's ``instruments`` may use; the short
    names are the other one-word names (each name listed once)."""
    instruments = list(telescope.link_instruments)
    short = _short_names(telescope, leave_out=instruments)
    return f"short names: {short}; instruments: {', '.join(instruments) or 'none'}"


@dataclass(frozen=True)
class Rendered:
    """A request rendered in another process (``amc.classify.prepare``), without what every
    request of the run shares (system message, schema, prompt) or this process has (the
    pairs): what that process sends back. ``request`` makes the ``Request`` again."""

    pair_ids: tuple[str, ...]
    user: str
    answer_model: type[BaseModel]
    sentences: tuple[Sentence, ...]
    max_tokens: int | None

    @classmethod
    def of(cls, request: Request) -> Rendered:
        system, user = request.messages
        assert system["role"] == "system" and user["role"] == "user"
        ids = tuple(item.pair.pair_id for item in request.inputs)
        return cls(
            ids, user["content"], request.answer_model, request.sentences, request.max_tokens
        )

    def request(self, inputs: Sequence[PairInput], config: LLMSettings) -> Request:
        """The request it was, for ``inputs`` (the pairs of ``pair_ids``, in order)."""
        name = config.prompt_name if config.mode == "pair" else config.paper_prompt_name
        prompt = load_prompt(name, config.prompts_dir)
        model = self.answer_model
        messages = _messages(prompt, model, self.user)
        schema = _schema(model)
        return Request(list(inputs), messages, model, schema, prompt, self.sentences,
                       self.max_tokens)  # fmt: skip


def pair_request(item: PairInput, config: LLMSettings) -> Request:
    """The request of pair mode: one telescope, its snippets or numbered sentences."""
    prompt = load_prompt(config.prompt_name, config.prompts_dir)
    sections: dict[str, Callable[[], str]] = {
        "telescope_key": lambda: item.telescope.key,
        "telescope_name": lambda: item.telescope.name,
        "telescope_aliases": lambda: _aliases(item.telescope),
        "telescope_short_names": lambda: _short_names(item.telescope),
        "telescope_names": lambda: _names_and_instruments(item.telescope),
        "snippets": lambda: format_snippets([item]),
    }
    if prompt.evidence == "quotes":
        schema = _schema(PairAnswer)
        user = _render_user(prompt, sections)
        return Request([item], _messages(prompt, PairAnswer, user), PairAnswer, schema, prompt)
    numbered = number_sentences(item.pair.paper, [(None, _sentences(item, config))])
    [labelled] = candidate_labels([item.candidates])
    sections |= _numbered_sections(numbered) | {
        "candidates": lambda: _candidates(candidate_listing(labelled, numbered.sentences)),
    }
    model = CompactPairAnswer if prompt.citations == "compact" else CitedPairAnswer
    schema = _schema(model)
    user = _render_user(prompt, sections)
    messages = _messages(prompt, model, user)
    cap = answer_token_cap(model)
    return Request([item], messages, model, schema, prompt, numbered.sentences, cap)


def paper_request(items: Sequence[PairInput], config: LLMSettings) -> Request:
    """The request of paper mode: every candidate telescope of one paper at once."""
    prompt = load_prompt(config.paper_prompt_name, config.prompts_dir)
    keys = tuple(item.telescope.key for item in items)
    listing = "\n".join(
        f"- {i.telescope.key}: {i.telescope.name}; {_aliases(i.telescope)}" for i in items
    )
    short = "\n".join(
        f"- {i.telescope.key}: {i.telescope.name}; {_short_names(i.telescope)}" for i in items
    )
    sections: dict[str, Callable[[], str]] = {
        "telescopes": lambda: listing,
        "telescopes_short": lambda: short,
        "telescopes_names": lambda: "\n".join(
            f"- {i.telescope.key}: {i.telescope.name}; {_names_and_instruments(i.telescope)}"
            for i in items
        ),
        "telescope_keys": lambda: ", ".join(keys),
        "snippets": lambda: format_snippets(items),
    }
    if prompt.evidence == "quotes":
        model = paper_answer_model(keys)
        schema = _schema(model)
        user = _render_user(prompt, sections)
        return Request(list(items), _messages(prompt, model, user), model, schema, prompt)
    groups = [(i.telescope.key, _sentences(i, config)) for i in items]
    numbered = number_sentences(items[0].pair.paper, groups)
    labelled = candidate_labels([i.candidates for i in items])
    sections |= _numbered_sections(numbered) | {
        "candidates": lambda: _paper_candidates(items, labelled, numbered.sentences),
    }
    paper_model = CompactPaperAnswer if prompt.citations == "compact" else CitedPaperAnswer
    schema = _schema(paper_model)
    user = _render_user(prompt, sections)
    messages = _messages(prompt, paper_model, user)
    cap = answer_token_cap(paper_model, len(items))
    return Request(list(items), messages, paper_model, schema, prompt, numbered.sentences, cap)


def _sentences(item: PairInput, config: LLMSettings) -> list[Sentence]:
    """The evidence budget's sentences, plus those holding a candidate id the budget left out."""
    paper = item.pair.paper
    chosen = budget_sentences(paper, item.snippets, config.evidence_tokens, item.patterns)
    return with_candidate_sentences(paper, chosen, item.candidates)


def _paper_candidates(
    items: Sequence[PairInput], labelled: list[dict[str, Judged]], shown: Sequence[Sentence]
) -> str:
    """``Candidate ids: HST: P1 HST:12345 (sentence 4); JWST: P2 ...``, or nothing."""
    per = [
        (i.telescope.key, candidate_listing(c, shown)) for i, c in zip(items, labelled, strict=True)
    ]
    return _candidates("; ".join(f"{key}: {text}" for key, text in per if text))


def _candidates(listing: str) -> str:
    """The candidate line; empty when there are none (most pairs: tokens saved)."""
    return f"Candidate ids: {listing}." if listing else ""


def _numbered_sections(numbered: NumberedEvidence) -> dict[str, Callable[[], str]]:
    return {"evidence": lambda: numbered.text, "notes": lambda: numbered.notes}


def _render_user(prompt: PromptTemplate, sections: dict[str, Callable[[], str]]) -> str:
    """The user message with the sections its template declares (each built only then)."""
    declared = prompt.messages["user"].variables
    unknown = [v for v in declared if v not in sections]
    if unknown:
        raise PromptError(
            f"prompt {prompt.name}: its user message uses {unknown}, which amc does not provide "
            f"for evidence={prompt.evidence!r}; it provides {sorted(sections)}"
        )
    return prompt.render("user", **{name: sections[name]() for name in declared})


def _messages(prompt: PromptTemplate, model: type[BaseModel], user: str) -> ChatMessages:
    system = _system_message(prompt, model)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


#: rendered system messages by (system template, answer model): the same for every
#: request of a run, so rendered once (with the schema's JSON in it)
_SYSTEM_MESSAGES: dict[tuple[str, type[BaseModel]], str] = {}


def _system_message(prompt: PromptTemplate, model: type[BaseModel]) -> str:
    template = prompt.messages.get("system")
    key = (template.text if template is not None else "", model)
    system = _SYSTEM_MESSAGES.get(key)
    if system is None:
        system = _SYSTEM_MESSAGES[key] = prompt.render("system", answer_schema=example_json(model))
    return system


@cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """``answer_schema(model)``, one object shared by every request of the run
    (``Request.schema``: never change it; a transport that may, such as litellm, is given
    a copy): its JSON is written once for the cache keys and the HTTP bodies
    (``encoding.JsonEncoder`` keeps it by identity)."""
    return answer_schema(model)


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
