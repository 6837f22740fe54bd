"""From items and verdicts to ``Classification`` rows, shared by the online and Batch API paths.

``triage_items`` decides what needs no model call (earlier results, ``NONE``
rows, unknown telescopes); ``classifications`` turns one request's verdicts
into rows; ``failed`` records a pair that could not be answered, keeping the
raw model output for the audit; ``stopped`` a pair the run stopped before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from amc.classify.llm.conversation import Outcome
from amc.classify.llm.errors import LLMAnswerError, LLMRunStopped
from amc.classify.llm.planning import Prepared, prepare_input, prepared_input
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.request import PairInput, Request
from amc.domain.errors import AmcError
from amc.domain.models import (
    NONE_TELESCOPE,
    Classification,
    LabelConfidence,
    Pair,
    PairSnippets,
    Usage,
)
from amc.domain.models import TelescopeLabels as Labels
from amc.links import pair_links
from amc.registry import Registry
from amc.settings.llm import LLMSettings

TIER = "llm"


def triage_items(
    items: Sequence[PairSnippets],
    registry: Registry,
    config: LLMSettings,
    prior: dict[str, Classification] | None = None,
    prepared: Sequence[Prepared | None] = (),
) -> tuple[list[PairInput], list[Classification]]:
    """The inputs that need the model, and the results decided without it: reusable
    ``prior`` results, ``NONE`` rows and pairs whose telescope is unknown. ``prepared``
    (aligned with ``items``, where given) holds inputs another process prepared: the
    item's own snippets are not looked at then."""
    hashes = {load_prompt(n, config.prompts_dir).hash
              for n in (config.prompt_name, config.paper_prompt_name)}  # fmt: skip
    inputs: list[PairInput] = []
    decided: list[Classification] = []
    for i, (pair, snippets) in enumerate(items):
        ready = prepared[i] if i < len(prepared) else None
        earlier = (prior or {}).get(pair.pair_id)
        if earlier is not None and reusable(earlier, config.model, hashes):
            decided.append(earlier)
        elif pair.telescope.upper() == NONE_TELESCOPE:
            decided.append(none_row(pair, config))
        else:
            try:
                inputs.append(
                    prepare_input(pair, snippets, registry, config)
                    if ready is None
                    else prepared_input(pair, ready, registry, config)
                )
            except AmcError as exc:
                decided.append(failed(pair, exc, config))
    return inputs, decided


def reusable(result: Classification, model: str, prompt_hashes: set[str]) -> bool:
    """A successful LLM result made with the same model and one of the current prompts."""
    return (
        result.ok
        and result.tier == TIER
        and result.model == model
        and result.prompt_hash in prompt_hashes
    )


def classifications(
    request: Request,
    outcome: Outcome,
    config: LLMSettings,
    registry: Registry,
    started: datetime,
    elapsed: float,
) -> list[Classification]:
    """One row per pair of the request, in request order, with the usage shared out."""
    usages = split_usage(outcome.usage, len(request.inputs))
    results = []
    for item, verdict, usage in zip(request.inputs, outcome.verdicts, usages, strict=True):
        notes = [*verdict.notes, *(["answer from cache"] if outcome.cached else [])]
        results.append(
            Classification(
                pair_id=item.pair.pair_id,
                bibcode=item.pair.paper.bibcode,
                telescope=item.pair.telescope,
                labels=verdict.labels,
                confidence=verdict.confidence,
                evidence=verdict.evidence,
                # the answer's links; the rules' when it gave none (v1 prompts)
                links=(
                    pair_links(item.pair, verdict.labels, registry)
                    if verdict.links is None
                    else verdict.links
                ),
                reason=" | ".join([verdict.reason.strip(), *notes]).strip(" |"),
                tier=TIER,
                model=config.model,
                prompt_name=request.prompt.name,
                prompt_hash=request.prompt.hash,
                registry_hash=registry.content_hash,
                started_at=started,
                elapsed_s=elapsed,
                usage=usage,
                n_snippets=len(item.snippets),
                gold=item.pair.gold,
                source=item.pair.paper.source,
            )
        )
    return results


def split_usage(usage: Usage, parts: int) -> list[Usage]:
    """One call's usage shared by the pairs of a paper-mode request. Tokens and cost are
    split evenly; the call is counted on the first pair so that sums stay exact."""

    def share(total: int, i: int) -> int:
        return total // parts + (total % parts if i == 0 else 0)

    return [
        Usage(
            calls=usage.calls if i == 0 else 0,
            call_log=usage.call_log if i == 0 else [],
            prompt_tokens=share(usage.prompt_tokens, i),
            completion_tokens=share(usage.completion_tokens, i),
            cached_tokens=share(usage.cached_tokens, i),
            cache_write_tokens=share(usage.cache_write_tokens, i),
            cost_usd=None if usage.cost_usd is None else usage.cost_usd / parts,
        )
        for i in range(parts)
    ]


def failed(
    pair: Pair,
    exc: Exception,
    config: LLMSettings,
    request: Request | None = None,
    usage: Usage | None = None,
) -> Classification:
    """A failed row: the error's kind and message, the raw model output when there was one."""
    raw = exc.raw if isinstance(exc, LLMAnswerError) else ""
    return Classification.failed(
        pair.pair_id,
        pair.paper.bibcode,
        pair.telescope,
        exc,
        tier=TIER,
        model=config.model,
        prompt_name=request.prompt.name if request else None,
        prompt_hash=request.prompt.hash if request else None,
        reason=f"raw model output: {raw}" if raw else "",
        usage=usage or Usage(),
        gold=pair.gold,
        source=pair.paper.source,
    )


def stopped(
    pair: Pair, stop: LLMRunStopped, config: LLMSettings, usage: Usage | None = None
) -> Classification:
    """The row of a pair the run stopped before classifying: the stop's kind, why, and how
    to go on (``usage``: calls already made for it, cut short by the stop)."""
    advice = "run the same command again to resume" if stop.resumable else "see the run's error"
    error = LLMRunStopped(f"not classified: {stop.reason}; {advice}")
    error.kind = stop.kind
    return failed(pair, error, config, usage=usage)


def no_hit(item: PairInput, config: LLMSettings, registry: Registry) -> Classification:
    """No snippet means the telescope is not named at all: not_telescope, no call."""
    pair = item.pair
    return Classification(
        pair_id=pair.pair_id,
        bibcode=pair.paper.bibcode,
        telescope=pair.telescope,
        labels=Labels(not_telescope=True),
        confidence=LabelConfidence(not_telescope=0.95, mention=0.05),
        reason=f"no hit of {item.telescope.key} in the paper; decided without a model call",
        tier=TIER,
        model=config.model,
        registry_hash=registry.content_hash,
        gold=pair.gold,
        source=pair.paper.source,
    )


def none_row(pair: Pair, config: LLMSettings) -> Classification:
    """TRACS ``NONE`` rows are tied to no telescope: every label false, no call."""
    return Classification(
        pair_id=pair.pair_id,
        bibcode=pair.paper.bibcode,
        telescope=pair.telescope,
        labels=Labels(),
        reason="NONE rows name no telescope; all labels false without a model call",
        tier=TIER,
        model=config.model,
        gold=pair.gold,
        source=pair.paper.source,
    )
