"""Bibliography links in the same call as the labels: candidates shown, the answer's links checked.

Before a request, the rules' link finder (``amc.links.judge_candidates``) lists the
programme ids, observation ids and dataset DOIs of the pair's telescope in the
paper; the request shows them as a short numbered list (``P1 HST:12345 (sentence
4)``), each tied to a numbered sentence that holds it (added to the evidence when
the budget left it out). The answer names the instruments used, each citing a
sentence, and confirms candidates as data, as funding only (``grant``), or rejects
them. Here the answer is checked (an unknown instrument or candidate id is an
invalid answer, re-asked like any other) and turned into links: an instrument's
quote is the sentence it cites, a candidate's the sentence the rules read it
from; each is verified against the text (``amc.links.verify_link``), so a link
whose value is not in the text is never stored. An answer without link fields
(the v1 prompts) leaves the pair the rules' links.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from amc.classify.llm.schema import ID_USE, INSTRUMENT_USE, CitedPairAnswer
from amc.domain.models import Link, LinkKind, Paper, Snippet
from amc.links import Judged, judge_candidates, order_links, verify_link
from amc.registry import Registry, Telescope
from amc.snippets.budget import Sentence

#: most candidate ids shown per pair (the first in text order; a paper lists its own first)
MAX_CANDIDATES = 6
#: longest candidate sentence added to the evidence (a long table row is cut around the id)
CANDIDATE_SENTENCE_CHARS = 300
#: a verdict the rules prefer when one value was found several times
_PREFERENCE = {"data": 0, "grant": 1, "rejected": 2}


def id_candidates(
    paper: Paper, telescope: Telescope, registry: Registry, snippets: Sequence[Snippet]
) -> tuple[Judged, ...]:
    """The pair's programme ids, observation ids and DOIs, one per value (the place the
    rules read as data, else as funding, else the first), in text order. Ids the rules
    attribute to another telescope are left out: they are not this telescope's links,
    and each would cost the prompt its sentence."""
    best: dict[tuple[str, str], Judged] = {}
    for j in judge_candidates(paper, telescope, registry, snippets, instruments=False):
        if not j.owned:
            continue
        key = (j.candidate.kind, j.candidate.value)
        if key not in best or _PREFERENCE[j.verdict] < _PREFERENCE[best[key].verdict]:
            best[key] = j
    return tuple(best.values())[:MAX_CANDIDATES]


def candidate_labels(groups: Sequence[Sequence[Judged]]) -> list[dict[str, Judged]]:
    """The ids (``P1``, ``P2``, ...) of each group's candidates, numbered across groups (a
    paper-mode request's telescopes) in order."""
    out, n = [], 0
    for group in groups:
        labelled = {}
        for j in group:
            n += 1
            labelled[f"P{n}"] = j
        out.append(labelled)
    return out


def candidate_sentence(paper: Paper, j: Judged) -> Sentence:
    """The sentence (or table row) the candidate was read from, cut to at most
    ``CANDIDATE_SENTENCE_CHARS`` around it."""
    c, (a, b) = j.candidate, j.quote
    if b - a > CANDIDATE_SENTENCE_CHARS:
        half = (CANDIDATE_SENTENCE_CHARS - (c.end - c.start)) // 2
        a = max(a, c.start - half)
        b = min(b, a + CANDIDATE_SENTENCE_CHARS)
    text = paper.text(c.field)
    return Sentence(c.field, a, b, text[a:b])


def with_candidate_sentences(
    paper: Paper, sentences: Sequence[Sentence], candidates: Sequence[Judged]
) -> list[Sentence]:
    """``sentences`` plus the sentence of each candidate no chosen sentence holds."""
    out = list(sentences)
    for j in candidates:
        if _holding(out, j) is None:
            out.append(candidate_sentence(paper, j))
    return out


def candidate_listing(labelled: dict[str, Judged], shown: Sequence[Sentence]) -> str:
    """``P1 HST:12345 (sentence 4); P2 ...`` for the numbered sentences ``shown``."""
    parts = []
    for label, j in labelled.items():
        number = _holding(shown, j)
        where = f" (sentence {number + 1})" if number is not None else ""
        parts.append(f"{label} {j.candidate.value}{where}")
    return "; ".join(parts)


def _holding(sentences: Sequence[Sentence], j: Judged) -> int | None:
    """The index of a sentence that holds the candidate as written, or None."""
    c = j.candidate
    for i, s in enumerate(sentences):
        if s.field == c.field and s.start <= c.start and c.end <= s.end:
            return i
    return None


class LinkFieldError(ValueError):
    """The answer's link fields are malformed; its labels may still stand (``answer`` is
    the parsed answer, set by the caller)."""

    answer: BaseModel | None = None


def check_links(
    answer: CitedPairAnswer, telescope: Telescope, labelled: dict[str, Judged], shown: int
) -> None:
    """``LinkFieldError`` (a message fit to send back) for an instrument that is not written
    ``NAME:SENTENCE``, is not the telescope's or cites a sentence not shown, and for an id
    not written ``P<n>:data|grant|no`` or not listed."""
    allowed = list(telescope.link_instruments)
    for written in answer.instruments or []:
        m = INSTRUMENT_USE.match(written)
        if m is None:
            raise LinkFieldError(f"instruments: {written!r} is not NAME:SENTENCE, e.g. 'WFC3:4'")
        if m["name"] not in allowed:
            raise LinkFieldError(
                f"instruments: {m['name']!r} is not an instrument name of {telescope.key}; "
                f"use only {allowed}"
            )
        if not 1 <= int(m["sentence"]) <= shown:
            raise LinkFieldError(
                f"instruments: {written!r} cites sentence {m['sentence']}, but the sentences "
                f"shown are numbered 1 to {shown}"
            )
    for written in answer.ids or []:
        m = ID_USE.match(written)
        if m is None:
            raise LinkFieldError(
                f"ids: {written!r} is not ID:USE, e.g. 'P1:data', 'P2:grant', 'P3:no'"
            )
        if m["id"] not in labelled:
            listed = f"its candidate ids are {list(labelled)}" if labelled else "it has none"
            raise LinkFieldError(
                f"ids: {m['id']!r} is not a candidate id of {telescope.key}; {listed}"
            )


def answer_links(
    answer: CitedPairAnswer,
    paper: Paper,
    telescope: Telescope,
    labelled: dict[str, Judged],
    sentences: Sequence[Sentence],
) -> list[Link]:
    """The links of a checked answer (``check_links``): its instruments (quote: the cited
    sentence) and the candidates it confirmed (quote: the candidate's sentence), each
    verified against the text; one link per kind and value."""
    links: dict[tuple[LinkKind, str], Link] = {}
    for written in answer.instruments or []:
        m = INSTRUMENT_USE.match(written)
        assert m is not None  # checked
        s = sentences[int(m["sentence"]) - 1]
        link = Link(kind="instrument", value=m["name"], quote=s.text, field=s.field,
                    start=s.start, end=s.end, source="llm")  # fmt: skip
        _keep(links, verify_link(link, paper, telescope))
    for written in answer.ids or []:
        m = ID_USE.match(written)
        assert m is not None  # checked
        j, use = labelled[m["id"]], m["use"]
        c = j.candidate
        if use == "no" or (use == "grant" and c.kind == "doi"):
            continue  # rejected; a DOI names data, never funding
        kind: LinkKind = c.kind if use == "data" else "grant"
        a, b = j.quote
        link = Link(kind=kind, value=c.value, quote=paper.text(c.field)[a:b], field=c.field,
                    start=a, end=b, source="llm")  # fmt: skip
        _keep(links, verify_link(link, paper, telescope))
    data_values = {v for k, v in links if k in ("programme", "obsid")}
    kept = [k for k in links.values() if not (k.kind == "grant" and k.value in data_values)]
    return order_links(kept)


def _keep(links: dict[tuple[LinkKind, str], Link], link: Link | None) -> None:
    if link is not None:
        links.setdefault((link.kind, link.value), link)
