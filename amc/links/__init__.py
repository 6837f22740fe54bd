"""Links: which instruments, programmes, observations and datasets a paper used of a telescope.

For a pair labelled science or instrumentation, ``pair_links`` returns the
bibliography links a telescope archive records, each with the quote it was read
from. The stage runs in three steps:

1. ``candidates`` (and ``tables``): every place a text field names one of the
   telescope's instruments (names, sub-modes), programme or observation ids (prose
   lists, table columns) or dataset DOIs (re-joined across line breaks), by the
   registry's patterns (``link_instruments``, ``link_ids``, ``link_dois``);
2. ``judge``: whether each candidate is this telescope's and data the paper used,
   from its sentence and section (registry ``link_context``): data use, plans,
   others' work, funding;
3. here: one link per value, with the first quote that shows data use; an id
   seen only in funding sentences becomes a ``grant`` link; every link's quote is
   checked against the text (``verify_link``) before it is kept.

``judge_candidates`` exposes step 2's decisions with their reasons: what a later
LLM tier confirms or rejects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from amc.domain.models import (
    DATA_LINK_KINDS,
    NONE_TELESCOPE,
    TEXT_FIELDS,
    Link,
    LinkKind,
    Pair,
    Paper,
    Snippet,
    TelescopeLabels,
    TextField,
)
from amc.links.candidates import (
    Candidate,
    find_dois,
    find_ids,
    find_instruments,
    vet_instrument,
)
from amc.links.context import FieldText
from amc.links.judge import Judged, judge
from amc.links.tables import find_table_ids
from amc.registry import Registry, Telescope

__all__ = [
    "Candidate",
    "Judged",
    "extract_links",
    "judge_candidates",
    "order_links",
    "pair_links",
    "prepare_links",
    "verify_link",
]

_KIND_ORDER = {kind: i for i, kind in enumerate((*DATA_LINK_KINDS, "grant"))}
_FIELD_ORDER = {field: i for i, field in enumerate(TEXT_FIELDS)}


def prepare_links(registry: Registry) -> None:
    """Compile every pattern link extraction uses (a few hundred ms, once per registry):
    callers that extract links on an event loop (the LLM tier) call it first, from their
    own thread, so that the first verdict does not stall the loop."""
    registry.link_context.compiled  # noqa: B018 (cached properties, compiled on first use)
    for telescope in registry:
        telescope.compiled  # noqa: B018
        telescope.link_patterns  # noqa: B018


def pair_links(
    pair: Pair,
    labels: TelescopeLabels | None,
    registry: Registry,
    snippets: Sequence[Snippet] | None = None,
) -> list[Link]:
    """The links of a pair: none unless ``labels`` say science or instrumentation.
    ``snippets`` (the pair's, when the caller has them) narrow the search for instrument
    names to them, which is faster; ids and DOIs are looked for everywhere."""
    if labels is None or not (labels.science or labels.instrumentation):
        return []
    if pair.telescope == NONE_TELESCOPE or pair.telescope not in registry:
        return []
    return extract_links(pair.paper, registry.get(pair.telescope), registry, snippets)


def extract_links(
    paper: Paper,
    telescope: Telescope,
    registry: Registry,
    snippets: Sequence[Snippet] | None = None,
) -> list[Link]:
    """The links of ``telescope`` in ``paper`` (whatever its labels), verified, ordered by
    kind (instrument, programme, obsid, doi, grant) then first mention."""
    chosen: dict[tuple[LinkKind, str], Judged] = {}
    for j in judge_candidates(paper, telescope, registry, snippets):
        if j.verdict != "rejected":
            kind: LinkKind = j.candidate.kind if j.verdict == "data" else "grant"
            chosen.setdefault((kind, j.candidate.value), j)
    links = []
    for (kind, value), j in chosen.items():
        if kind == "grant" and any((k, value) in chosen for k in ("programme", "obsid")):
            continue  # the programme's data are used too: a data link, not only funding
        a, b = j.quote
        text = paper.text(j.candidate.field)
        link = Link(
            kind=kind,
            value=value,
            quote=text[a:b],
            field=j.candidate.field,
            start=a,
            end=b,
            source="rules",
        )
        verified = verify_link(link, paper, telescope)
        if verified is not None:
            links.append(verified)
    return order_links(links)


def order_links(links: Sequence[Link]) -> list[Link]:
    """``links`` by kind (instrument, programme, obsid, doi, grant), then first mention."""
    return sorted(links, key=lambda k: (_KIND_ORDER[k.kind], _FIELD_ORDER.get(k.field, 9), k.start))


def judge_candidates(
    paper: Paper,
    telescope: Telescope,
    registry: Registry,
    snippets: Sequence[Snippet] | None = None,
    instruments: bool = True,
) -> list[Judged]:
    """Every candidate of ``telescope`` in ``paper`` with the decision on it, in text order;
    once a value is accepted as data its later mentions are not judged again. Instrument
    names are looked for in ``snippets`` when given (every registry instrument name is a
    hit, so each has a window of its own), else in the whole text; not at all without
    ``instruments`` (ids and DOIs only)."""
    rival = _RivalCheck(paper, telescope, registry)
    accepted: set[tuple[str, str]] = set()
    out: list[Judged] = []
    for field in TEXT_FIELDS:
        text = paper.text(field)
        if not text:
            continue
        windows = (
            None if snippets is None else [(s.start, s.end) for s in snippets if s.field == field]
        )
        found = _candidates(text, field, telescope, windows, instruments)
        if not found:
            continue
        ft = FieldText(field, text, registry)
        ft.table_rows = [c.row for c in found if c.row is not None]
        for candidate in found:
            if (candidate.kind, candidate.value) in accepted:
                continue
            vetted = (
                vet_instrument(candidate, text, telescope, registry)
                if candidate.kind == "instrument"
                else candidate
            )
            if vetted is None:
                continue
            j = judge(vetted, ft, telescope, registry, rival)
            out.append(j)
            if j.verdict == "data":
                accepted.add((vetted.kind, vetted.value))
    return out


def _candidates(
    text: str,
    field: TextField,
    telescope: Telescope,
    windows: list[tuple[int, int]] | None,
    instruments: bool = True,
) -> list[Candidate]:
    found = [
        *find_table_ids(text, field, telescope),
        *(find_instruments(text, field, telescope, windows) if instruments else ()),
        *find_ids(text, field, telescope),
        *find_dois(text, field, telescope),
    ]
    unique: dict[tuple[str, int], Candidate] = {}
    for c in found:  # a table cell is not read again as prose
        unique.setdefault((c.kind, c.start), c)
    return sorted(unique.values(), key=lambda c: c.start)


class _RivalCheck:
    """Whether another registry telescope that could own a candidate is named in the paper
    (checked only for candidates no telescope is named near, and cached)."""

    def __init__(self, paper: Paper, telescope: Telescope, registry: Registry) -> None:
        self.paper, self.telescope, self.registry = paper, telescope, registry
        self._named: dict[str, bool] = {}

    def __call__(self, c: Candidate) -> bool:
        return any(
            self._is_named(t)
            for t in self.registry
            if t.key != self.telescope.key and _could_own(t, c)
        )

    def _is_named(self, telescope: Telescope) -> bool:
        if telescope.key not in self._named:
            comp = telescope.compiled
            self._named[telescope.key] = any(
                not comp.term_list[i].shared
                for f in TEXT_FIELDS
                for _, _, i in comp.find_terms(self.paper.text(f))
            )
        return self._named[telescope.key]


def _could_own(telescope: Telescope, c: Candidate) -> bool:
    comp = telescope.link_patterns
    if c.kind == "doi":
        return any(c.value.startswith(prefix + "/") for prefix in comp.doi_prefixes)
    if c.kind == "instrument":
        return c.value in telescope.link_instruments
    ids = comp.ids.get(c.kind)
    return ids is not None and ids.number.fullmatch(c.value.split(":", 1)[1]) is not None


def verify_link(link: Link, paper: Paper, telescope: Telescope) -> Link | None:
    """``link`` marked verified when its quote is the text at its offsets and holds its value
    (a name or mode of the instrument, the id's digits, the DOI without white space);
    None otherwise: such a link is never kept."""
    text = paper.text(link.field)
    if not (0 <= link.start <= link.end <= len(text)) or text[link.start : link.end] != link.quote:
        return None
    if not _holds_value(link, telescope):
        return None
    return link.model_copy(update={"verified": True})


def _holds_value(link: Link, telescope: Telescope) -> bool:
    quote = link.quote
    if link.kind == "instrument":
        return any(
            name == link.value for _, _, name in telescope.link_patterns.find_instruments(quote)
        )
    if link.kind == "doi":
        return link.value in re.sub(r"\s+", "", quote).lower()
    prefix, _, number = link.value.partition(":")
    if prefix != telescope.key or not number.isdigit():
        return False
    return holds_number(quote, number)


_DIGIT_RUN = re.compile(r"\d+")


def holds_number(quote: str, number: str) -> bool:
    """Whether ``quote`` holds ``number`` as a whole run of digits, leading zeros aside:
    ``(?<!\\d)0*<number>(?!\\d)``, without compiling a pattern for every number (the
    compile was most of the check)."""
    want = number.lstrip("0") or "0"
    if not want.isascii():
        return re.search(rf"(?<!\d)0*{re.escape(want)}(?!\d)", quote) is not None
    return any((run.lstrip("0") or "0") == want for run in _DIGIT_RUN.findall(quote))
