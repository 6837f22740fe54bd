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


def reason_text(f: RuleFeatures, labels: TelescopeLabels, terms: Sequence[str] = ()) -> str:
    """The decision in words a librarian can check against the passages; ``terms`` are
    the names of the telescope as the paper writes them."""
    ignored = f.false_positive_hits + f.grant_hits
    if f.real_hits == 0:
        if ignored:
            parts = []
            if f.false_positive_hits:
                parts.append(
                    f"{f.false_positive_hits} in phrases that are not the telescope "
                    "(a constant, a person's name, another sense of the word)"
                )
            if f.grant_hits:
                parts.append(f"{f.grant_hits} in grant or fellowship numbers")
            return f"Not the telescope: all {ignored} match(es) are traps, {' and '.join(parts)}."
        if f.shared_hits:
            return "Not the telescope: only names it shares with other telescopes were found."
        return "Not the telescope: the telescope is not named in the paper's text."
    shown = ", ".join(dict.fromkeys(terms))
    named = f"named {f.real_hits} time(s)" + (f" ({shown})" if shown else "")
    if labels.science and labels.instrumentation:
        lead = "Science and instrumentation: its data are used and the paper is about it"
    elif labels.instrumentation:
        lead = "Instrumentation: the paper is about the telescope, its instruments or software"
    elif labels.science:
        lead = "Science: the paper uses the telescope's data"
    else:
        lead = "Mention: the telescope is named, but no sentence shows the paper using its data"
    framing = "a software or instrument paper" if f.software_paper else "a science paper"
    own = (
        f"{f.own_use_sentences} sentence(s) of the paper's own data use"
        f" ({f.first_person_sentences} in the first person, "
        f"{f.strong_evidence} with a programme id or data DOI)"
    )
    others = [
        (f.cited_use_sentences, "about others' data (citations)"),
        (f.other_telescope_sentences, "about another telescope"),
        (f.future_sentences, "about plans or simulations"),
        (f.example_sentences, "in a worked example"),
    ]
    other = "; ".join(f"{n} {what}" for n, what in others if n)
    described = f.instrumentation_cues + f.pipeline_cues
    signs = f"{own}" + (f"; {other}" if other else "")
    signs += f"; {described} sign(s) of describing the telescope, its instruments or pipeline"
    signs += f"; {f.mention_cues} of a passing reference"
    traps = f"; {ignored} other match(es) are traps or grants, ignored" if ignored else ""
    return f"{lead}. Read as {framing}, it is {named}: {signs}{traps}."
