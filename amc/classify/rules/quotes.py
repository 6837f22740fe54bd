"""The rules tier's evidence quotes and its one-line reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from amc.classify.rules.sentences import quote_span
from amc.domain.models import Evidence, Snippet, TelescopeLabels

if TYPE_CHECKING:  # the features live in the package that imports this module
    from amc.classify.rules import RuleFeatures

MAX_EVIDENCE = 3


def evidence_quotes(
    snippets: Sequence[Snippet], own_use: Sequence[tuple[float, Snippet, int, int]]
) -> list[Evidence]:
    """The paper's own data-use sentences, most telling first; without any, the sentence
    around the first hit of the first snippets (real hits first, then traps and grants)."""
    out: list[Evidence] = []
    for _, snippet, a, b in sorted(own_use, key=lambda q: -q[0])[:MAX_EVIDENCE]:
        out.append(_evidence(snippet, a, b))
    if out:
        return out
    ranked = [s for s in snippets if s.real_hits] + [s for s in snippets if not s.real_hits]
    for snippet in ranked[:MAX_EVIDENCE]:
        hit = (snippet.real_hits or snippet.hits)[0]
        a, b = quote_span(snippet, hit.start - snippet.start, hit.end - snippet.start)
        out.append(_evidence(snippet, a, b))
    return out


def _evidence(snippet: Snippet, a: int, b: int) -> Evidence:
    return Evidence(
        quote=snippet.text[a:b],
        field=snippet.field,
        start=snippet.start + a,
        end=snippet.start + b,
        verified=True,
    )


def reason_text(f: RuleFeatures, labels: TelescopeLabels) -> str:
    if f.real_hits == 0:
        if f.false_positive_hits or f.grant_hits:
            return (
                f"no real reference: {f.false_positive_hits} trap hit(s) "
                f"(e.g. a constant, a person's name or another sense of the word) and "
                f"{f.grant_hits} grant/fellowship hit(s)"
            )
        if f.shared_hits:
            return "only terms shared with other telescopes were found"
        return "the telescope is not named in the paper's text"
    framing = "a software/instrument paper" if f.software_paper else "a science paper"
    return (
        f"{labels.primary}: {f.real_hits} real hit(s), {f.instruments_named} instrument(s) "
        f"in {framing}; sentences of own data use {f.own_use_sentences} "
        f"({f.first_person_sentences} first person, {f.strong_evidence} programme/DOI), "
        f"citing others {f.cited_use_sentences}, about another telescope "
        f"{f.other_telescope_sentences}, future {f.future_sentences}, worked example "
        f"{f.example_sentences}; instrumentation cues {f.instrumentation_cues}+"
        f"{f.pipeline_cues} pipeline; mention cues {f.mention_cues}; traps "
        f"{f.false_positive_hits}, grants {f.grant_hits}"
    )
