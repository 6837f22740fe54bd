"""Turn (pair, snippets) items into model requests: rank, select, group.

Pair mode makes one request per pair; paper mode one request per paper
covering all its pairs. A pair without any snippet needs no request: the
telescope is not named in the paper at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amc.classify.llm.links import id_candidates
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.request import PairInput, Rendered, Request, pair_request, paper_request
from amc.domain.models import Pair, Snippet
from amc.links import prepare_links
from amc.links.judge import Judged
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets.budget import evidence_patterns
from amc.snippets.ranking import prepare_ranking, rank_snippets, select_snippets, trim_snippet


def prepare_input(
    pair: Pair, snippets: Sequence[Snippet], registry: Registry, config: LLMSettings
) -> PairInput:
    """The pair with its snippets ranked lexically and cut to the configured caps. For a
    prompt that numbers sentences the ranked snippets are kept whole: the evidence budget
    picks their sentences when the request is built, and a prompt that asks for links
    gets the pair's candidate ids."""
    telescope = registry.get(pair.telescope, where=pair.pair_id)
    ranked = rank_snippets(snippets, telescope, registry.cues)
    if numbers_sentences(config):
        patterns = evidence_patterns(telescope, registry.cues)
        found = (
            id_candidates(pair.paper, telescope, registry, ranked)
            if ranked and asks_links(config)
            else ()
        )
        return PairInput(pair, telescope, ranked, patterns, found)
    if config.rerank == "llm":  # the reranker sees every snippet and selects afterwards
        return PairInput(
            pair, telescope, [trim_snippet(s, config.max_snippet_chars) for s in ranked]
        )
    chosen = select_snippets(
        ranked, config.max_snippets, config.max_snippet_chars, config.max_prompt_chars
    )
    return PairInput(pair, telescope, chosen)


@dataclass(frozen=True)
class Prepared:
    """What ``prepare_input`` found for a pair, without what every process has anyway (the
    pair, its telescope and their patterns): what a process that prepared the pair for
    another (``amc.classify.prepare``) sends back."""

    snippets: list[Snippet]
    candidates: tuple[Judged, ...] = ()

    @classmethod
    def of(cls, item: PairInput) -> Prepared:
        return cls(item.snippets, item.candidates)


def prepared_input(
    pair: Pair, prepared: Prepared, registry: Registry, config: LLMSettings
) -> PairInput:
    """The ``PairInput`` that ``prepare_input`` made for the pair, from its ``Prepared``."""
    telescope = registry.get(pair.telescope, where=pair.pair_id)
    patterns = evidence_patterns(telescope, registry.cues) if numbers_sentences(config) else ()
    return PairInput(pair, telescope, prepared.snippets, patterns, prepared.candidates)


def prepare_registry(registry: Registry) -> None:
    """Compile every pattern planning and link extraction use (hit terms, traps, cue and
    evidence unions, the ranking scans, link patterns; about a second for the bundled
    registry) now, in the caller's thread: the loop never stalls on a compile, and a
    worker that says it is ready is."""
    prepare_links(registry)
    for telescope in registry:
        evidence_patterns(telescope, registry.cues)  # and the telescope's terms and cues
        prepare_ranking(telescope, registry.cues)
        telescope.context  # noqa: B018 (a cached property, compiled on first use)


def numbers_sentences(config: LLMSettings) -> bool:
    """Whether the configured prompt (of the configured mode) shows numbered sentences."""
    name = config.prompt_name if config.mode == "pair" else config.paper_prompt_name
    return load_prompt(name, config.prompts_dir).evidence == "sentences"


def asks_links(config: LLMSettings) -> bool:
    """Whether the configured prompt shows candidate ids for the answer to confirm."""
    name = config.prompt_name if config.mode == "pair" else config.paper_prompt_name
    return "candidates" in load_prompt(name, config.prompts_dir).messages["user"].variables


def build_requests(
    inputs: Sequence[PairInput], config: LLMSettings
) -> tuple[list[Request], list[PairInput]]:
    """Requests for the inputs that have snippets, and the inputs that have none."""
    groups, without = group_inputs(inputs, config)
    return [request_for(group, config) for group in groups], without


def group_inputs(
    inputs: Sequence[PairInput], config: LLMSettings
) -> tuple[list[list[PairInput]], list[PairInput]]:
    """The inputs of each request (one each in pair mode, one paper's in paper mode), and
    the inputs without snippets. With ``request_for`` a run renders each request only
    when it is about to be sent, so the first calls go out at once."""
    with_text = [i for i in inputs if i.snippets]
    without = [i for i in inputs if not i.snippets]
    by_paper: dict[str, list[PairInput]] = {}
    for item in with_text:
        by_paper.setdefault(item.pair.paper.bibcode, []).append(item)
    if config.mode == "pair":
        # a paper's pairs back to back (inputs split by telescope, such as TRACS's parquet
        # files, have them far apart): they share a prompt-cache key and go out together
        return [[i] for paper in by_paper.values() for i in paper], without
    return list(by_paper.values()), without


def request_for(group: Sequence[PairInput], config: LLMSettings) -> Request:
    """The request of one group of ``group_inputs``."""
    return pair_request(group[0], config) if config.mode == "pair" else paper_request(group, config)


def render_requests(inputs: Sequence[PairInput], config: LLMSettings) -> list[Rendered]:
    """The requests of these inputs, rendered for another process to send (``Rendered``);
    none when the prompt quotes snippets or a reranker must answer first."""
    if config.rerank == "llm" or not numbers_sentences(config):
        return []
    groups, _ = group_inputs(inputs, config)
    return [Rendered.of(request_for(group, config)) for group in groups]


def plan_requests(
    items: Sequence[tuple[Pair, list[Snippet]]], registry: Registry, config: LLMSettings
) -> tuple[list[Request], list[PairInput]]:
    """``prepare_input`` for every item, then ``build_requests``."""
    inputs = [prepare_input(pair, snippets, registry, config) for pair, snippets in items]
    return build_requests(inputs, config)
