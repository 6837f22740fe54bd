"""Numbered sentences: the paper's evidence as prompts with ``evidence: sentences`` show it,
and the model's citations of it turned back into located evidence.

Each request numbers the sentences chosen for its pairs (``amc.snippets.budget``)
from 1, in the order they are shown: by field, then by position, one sentence a
line, an empty line where text was left out. In paper mode the sentences are listed
under each telescope; a sentence chosen for two telescopes is shown once and
referred to by its number the second time. The model cites numbers; the quote
stored for a citation is the sentence itself with its field and offsets, so it
is verified by construction. A number that was not shown is an invalid answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from amc.domain.models import Evidence, Hit, Label, Paper
from amc.snippets.budget import Sentence

_KIND_NOTE = {"false_positive": "known false positive", "grant": "grant or fellowship"}


def defuse(text: str) -> str:
    """Paper text with fence-like markers broken up so it cannot end the fence."""
    return text.replace("<<<", "< < <").replace(">>>", "> > >")


@dataclass(frozen=True)
class NumberedEvidence:
    """The fenced block's text and the sentence behind each number (``sentences[n - 1]``)."""

    text: str
    sentences: tuple[Sentence, ...]
    #: the registry's notes on the shown sentences (traps and grants), one line
    notes: str


def number_sentences(
    paper: Paper, groups: Sequence[tuple[str | None, Sequence[Sentence]]]
) -> NumberedEvidence:
    """Number and lay out the sentences of each group (a heading, e.g. a telescope key,
    or None for a pair's single group), each group's sentences in document order."""
    numbers: dict[tuple[str, int, int], int] = {}
    ordered: list[Sentence] = []
    lines: list[str] = []
    notes: list[str] = []
    for heading, sentences in groups:
        if heading is not None:
            lines.append(f"== {heading} ==")
        previous: Sentence | None = None
        for sentence in sorted(sentences, key=lambda s: s.key):
            span = (sentence.field, sentence.start, sentence.end)
            shown_before = span in numbers
            if not shown_before:
                ordered.append(sentence)
                numbers[span] = len(ordered)
            number = numbers[span]
            lines.extend(_separator(paper, previous, sentence))
            line = "(shown above)" if shown_before else defuse(" ".join(sentence.text.split()))
            lines.append(f"[{number}] {line}")
            notes.extend(_notes(number, sentence.hits, heading))
            previous = sentence
    listed = "; ".join(dict.fromkeys(notes)) or "none"
    return NumberedEvidence("\n".join(lines), tuple(ordered), f"Registry notes: {listed}.")


def _separator(paper: Paper, previous: Sentence | None, sentence: Sentence) -> list[str]:
    """A field heading where the field changes, an empty line where text was skipped."""
    if previous is None or previous.field != sentence.field:
        return [f"{sentence.field}:"]
    between = paper.text(sentence.field)[previous.end : sentence.start]
    return [""] if between.strip() else []


def _notes(number: int, hits: Sequence[Hit], heading: str | None) -> list[str]:
    """``[n] "Hubble" (HST): known false positive`` for the trap and grant hits."""
    out = []
    for hit in hits:
        kind = _KIND_NOTE.get(hit.kind)
        if kind is not None:
            term = json.dumps(" ".join(hit.text.split())[:60], ensure_ascii=False)
            whose = f" ({hit.telescope})" if heading is not None else ""
            out.append(f"[{number}] {defuse(term)}{whose}: {kind}")
    return out


def check_citations(numbers: Sequence[int], shown: int) -> None:
    """``ValueError`` (a message fit to send back) unless every number was shown."""
    bad = sorted({n for n in numbers if not 1 <= n <= shown})
    if bad:
        raise ValueError(
            f"evidence cites sentence number(s) {bad}, but the sentences shown are numbered "
            f"1 to {shown}; cite only numbers shown in [brackets]"
        )


def cited_evidence(number: int, supports: Label | str, sentences: Sequence[Sentence]) -> Evidence:
    """The evidence a citation stands for: the cited sentence, located by construction."""
    sentence = sentences[number - 1]
    return Evidence(
        quote=sentence.text,
        field=sentence.field,
        start=sentence.start,
        end=sentence.end,
        verified=True,
        supports=Label(supports),
    )
