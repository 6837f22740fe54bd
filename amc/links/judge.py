"""Is a candidate link data the paper used? Attribution first, then the context's phrases.

Attribution: an id or DOI belongs to the facility written with it ("HST-GO-14918",
"Spitzer Program 13052"), else to the nearest facility named before it in its
sentence, after it, or in the two sentences before; with none named, to the
telescope only when no other telescope that could own it is named in the paper.

Context (registry ``link_context``), on the clause around the candidate:

- plans, forecasts and others' ongoing programmes ("will", "being observed") are
  not links, unless the writer also reports their own data use there;
- others' work ("Smith et al. (2019) observed", "previously", comparisons) likewise;
- an id in a funding sentence ("Support for program 2110 was provided by NASA
  through a grant") or written as a grant number ("HST-GO-16543.001-A") is a grant;
- in an introduction, outlook or related-work section an id needs a data-use phrase;
- an instrument needs positive evidence: a data-use or study phrase, a Facilities
  line, a data section, one of its filters/gratings in the clause, or a table row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from amc.links.candidates import Candidate
from amc.links.context import OTHER, FieldText, Mention
from amc.registry import Registry, Telescope

Verdict = Literal["data", "grant", "rejected"]
#: does some other telescope that could own this candidate appear anywhere in the paper?
RivalNamed = Callable[[Candidate], bool]


@dataclass(frozen=True)
class Judged:
    """A candidate with the decision on it and why (what a later LLM tier can confirm)."""

    candidate: Candidate
    verdict: Verdict
    reason: str
    #: the quote's span in the field: the sentence (or table row) holding the candidate
    quote: tuple[int, int]
    #: False when the candidate was rejected as another telescope's (or one that could be)
    owned: bool = True


def judge(
    c: Candidate, ft: FieldText, telescope: Telescope, registry: Registry, rival: RivalNamed
) -> Judged:
    """Decide one candidate of ``telescope`` in its field."""
    quote = c.row if c.row is not None else ft.quote(c.start, c.end)
    owner = _owner(c, ft, telescope, rival)
    if owner is not None:
        return Judged(c, "rejected", owner, quote, owned=False)
    if c.row is not None:
        return Judged(c, "data", "listed in a table", quote)
    verdict, reason = _context(c, ft, telescope, registry)
    return Judged(c, verdict, reason, quote)


def _owner(c: Candidate, ft: FieldText, telescope: Telescope, rival: RivalNamed) -> str | None:
    """Why the candidate is not this telescope's, or None when it is."""
    if c.kind == "instrument" and not c.shared:
        return None
    span = c.row or ft.sentence(c.start)
    named = _attribution(c, ft, span)
    if named is None:
        return "no telescope named near it, and another one could own it" if rival(c) else None
    if c.kind == "doi":
        return None if telescope.key in named else f"it is {_names(named)}'s"
    key = named[0]
    return None if key == telescope.key else f"it is {_names([key])}'s"


def _attribution(c: Candidate, ft: FieldText, span: tuple[int, int]) -> list[str] | None:
    """The facility keys the candidate is attributed to (several for a DOI), None if none."""
    s, e = span
    mentions = ft.mentions(s, e)
    inside = [m for m in mentions if c.start <= m.start < c.end]
    before = [m for m in mentions if m.end <= c.start]
    after = [m for m in mentions if m.start >= c.end]
    if c.kind == "doi":
        keys = _keys(mentions)
        if not keys:
            keys = _keys(ft.mentions(*ft.earlier_sentences(span)))
        return keys or None
    for group in (inside[:1], before[-1:], after[:1]):
        if group:
            return [group[0].key]
    # only when the sentence names none: the earlier sentences cost a scan of their own
    earlier = ft.mentions(*ft.earlier_sentences(span))
    return [earlier[-1].key] if earlier else None


def _keys(mentions: list[Mention]) -> list[str]:
    return list(dict.fromkeys(m.key for m in mentions))


def _names(keys: list[str]) -> str:
    return " / ".join("another facility" if k == OTHER else k for k in keys)


def _context(
    c: Candidate, ft: FieldText, telescope: Telescope, registry: Registry
) -> tuple[Verdict, str]:
    a, b = ft.clause(c.start, c.end)
    clause = ft.text[a:b]

    def has(name: str) -> bool:
        return ft.has_phrase(name, a, b)

    data, first = has("data_use"), has("first_person")
    own_use = data and first
    if c.kind in ("programme", "obsid") and (c.grant_form or (has("grant") and not data)):
        return "grant", "funding sentence" if not c.grant_form else "written as a grant number"
    if has("facilities") and c.kind == "instrument":
        return "data", "Facilities line"
    if has("planned") and not own_use and c.kind != "doi":
        return "rejected", "planned, forecast or others' ongoing observations"
    if has("cited") and not own_use:
        return "rejected", "others' work or a comparison"
    section = ft.section(c.start)
    if section == "passing" and not data:
        return "rejected", "passing mention (introduction, outlook or related work)"
    if c.kind != "instrument":
        return "data", "data-use sentence" if data else "named with the telescope's data"
    return _instrument_evidence(c, clause, ft, telescope, has, section)


def _instrument_evidence(
    c: Candidate,
    clause: str,
    ft: FieldText,
    telescope: Telescope,
    has: Callable[[str], bool],
    section: str | None,
) -> tuple[Verdict, str]:
    if has("data_use"):
        return "data", "data-use sentence"
    if ft.in_table_row(c.start):
        return "data", "in a row of the table of the data"
    if has("study"):
        return "data", "the paper studies or handles the instrument"
    filters = telescope.link_patterns.filters.get(c.value)
    if filters is not None and filters.search(clause):
        return "data", "named with its filters or gratings"
    if section == "data":
        return "data", "named in a data section"
    if c.field in ("title", "abstract"):
        return "data", "named in the title or abstract"
    return "rejected", "named without evidence of data use"
