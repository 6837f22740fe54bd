"""Candidate links: every place a field names one of the telescope's instruments, ids or DOIs.

Found by the registry's patterns alone; whether a candidate is data the paper used
is decided afterwards from its context (``amc.links.judge``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from amc.domain.models import TextField
from amc.registry import Registry, Telescope
from amc.registry.link_matching import IdPatterns
from amc.registry.patterns import match_spans

CandidateKind = Literal["instrument", "programme", "obsid", "doi"]
#: characters around an instrument name where longer names of other telescopes are looked for
OVERLAP_REACH = 16


@dataclass(frozen=True)
class Candidate:
    """One place a field names an instrument, id or DOI of the telescope."""

    kind: CandidateKind
    #: canonical value (``WFC3``, ``HST:14915``, ``10.17909/abcd-1234``)
    value: str
    field: TextField
    #: the value as written: ``text[start:end]``
    start: int
    end: int
    #: an id written as a grant number ("HST-GO-16543.001-A")
    grant_form: bool = False
    #: the table row it was read from (its quote); None in prose
    row: tuple[int, int] | None = None
    #: the name is also another telescope's (FGS): only the context can attribute it
    shared: bool = False


# --- instruments --------------------------------------------------------------------------


def find_instruments(
    text: str,
    field: TextField,
    telescope: Telescope,
    windows: list[tuple[int, int]] | None = None,
) -> list[Candidate]:
    """Instrument names and modes of ``telescope`` (in ``windows`` of the text when given),
    unchecked: ``vet_instrument`` drops those another name or a trap covers, and is run
    only on the ones that get judged (a paper names its instrument many times)."""
    comp = telescope.link_patterns
    spans = [(0, len(text))] if windows is None else windows
    return [
        Candidate("instrument", name, field, start, end)
        for a, b in spans
        for start, end, name in comp.find_instruments(text, a, b)
    ]


def vet_instrument(
    c: Candidate, text: str, telescope: Telescope, registry: Registry
) -> Candidate | None:
    """``c`` unless a longer name of another telescope covers it ("ACS/HRC" is not
    Chandra's HRC) or a trap does ("COS-B"); marked ``shared`` when another telescope
    has the same name (FGS)."""
    a, b = max(0, c.start - OVERLAP_REACH), min(len(text), c.end + OVERLAP_REACH)
    traps = telescope.compiled.false_positives
    if any(s < c.end and c.start < e for s, e in match_spans(traps, text, a, b)):
        return None
    rival = _rival_length(text, c.start, c.end, a, b, telescope, registry)
    if rival > c.end - c.start:
        return None
    return replace(c, shared=rival == c.end - c.start)


def _rival_length(
    text: str, start: int, end: int, a: int, b: int, telescope: Telescope, registry: Registry
) -> int:
    """Length of the longest other telescope's instrument name overlapping ``[start, end)``."""
    longest = 0
    for other in registry:
        if other.key == telescope.key or not other.link_instruments:
            continue
        for s, e, _ in other.link_patterns.find_instruments(text, a, b):
            if s < end and start < e:
                longest = max(longest, e - s)
    return longest


# --- programme and observation ids ----------------------------------------------------------

_FILLER = re.compile(
    r"(?:[\s~:#(\[]|\bIDs?\b|\bnumbers?\b|\bnos?\.|\bnr\.?|\bidentifiers?\b)*", re.I
)
_SEPARATOR = re.compile(r"[\s~]*(?:,|;|/|&|\+|\band\b|\bor\b)(?:[\s~]*(?:and|or)\b)?[\s~]*", re.I)
_ASIDE = re.compile(r"[\s~]*\([^()\n]{0,80}\)")  # "(PI: M. Gillon)" between two ids
_YEAR = re.compile(r"(?:19|20)\d{2}")
#: a word after a number that makes it a count, not an id ("and 2 other observations")
_COUNT_AFTER = re.compile(
    r"[\s~]*(?:other|more|additional|further|new|separate|individual|observations?|"
    r"exposures?|orbits?|visits?|pointings?|epochs?|ks(?:ec)?|s|sec|min(?:utes?)?|h|hr|"
    r"hours?|days?|times|sources?|targets?|fields?|galaxies|stars|objects|%)\b",
    re.IGNORECASE,
)


def find_ids(text: str, field: TextField, telescope: Telescope) -> list[Candidate]:
    """Programme and observation ids: a keyword or a prefixed id, then a list of ids."""
    out: list[Candidate] = []
    lowered = text.lower()
    for kind, patterns in telescope.link_patterns.ids.items():
        seen: set[int] = set()
        for head in patterns.heads(text, lowered):
            for m, continued in _id_list(text, head, patterns):
                if m.start() in seen:
                    continue
                seen.add(m.start())
                number = m.group("num")
                bare = continued and m.group(0) == number  # no prefix, no number sign
                if bare and (_YEAR.fullmatch(number) or _COUNT_AFTER.match(text, m.end())):
                    continue  # "program 12345 and 2019 data", "ObsID 1234 and 2 others"
                out.append(
                    Candidate(
                        kind,
                        patterns.value(telescope.key, number),
                        field,
                        m.start(),
                        m.end(),
                        grant_form=m.group("grant") is not None,
                    )
                )
    return out


def _id_list(
    text: str, head: re.Match[str], patterns: IdPatterns
) -> Iterator[tuple[re.Match[str], bool]]:
    """The ids of a list starting at ``head``, each with whether it continues the list."""
    if "kw" in head.re.groupindex and head.group("kw") is not None:
        pos = _FILLER.match(text, head.end()).end()  # type: ignore[union-attr]
    else:  # the head is an id with its prefix
        pos = head.start()
    continued = False
    while True:
        m = patterns.item.match(text, pos)
        if m is None:
            return
        yield m, continued
        pos = m.end()
        aside = _ASIDE.match(text, pos)
        if aside is not None:
            pos = aside.end()
        sep = _SEPARATOR.match(text, pos)
        if sep is None or sep.end() == pos:
            return
        pos, continued = sep.end(), True


# --- dataset DOIs ------------------------------------------------------------------------------

_DOI_CHARS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-/:;()]*")
_CONTINUATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_GAP = re.compile(r"[ \t]*\n?[ \t]*")
_NOT_DOI_WORDS = frozenset({"and", "or", "the", "for", "from", "in", "at", "of", "to", "with"})


def find_dois(text: str, field: TextField, telescope: Telescope) -> list[Candidate]:
    """Dataset DOIs under the telescope's prefixes, re-joined where a line break split them."""
    pattern = telescope.link_patterns.doi_re
    if pattern is None:
        return []
    out = []
    for m in pattern.finditer(text):
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "._"):
            continue  # "110.17909/" or "x.10.17909/" is not a DOI
        end = _doi_end(text, _GAP.match(text, m.end()).end())  # type: ignore[union-attr]
        if end is None:
            continue
        written = text[m.start() : end]
        value = re.sub(r"\s+", "", written).lower()
        out.append(Candidate("doi", value, field, m.start(), end))
    return out


def _doi_end(text: str, pos: int) -> int | None:
    """End of a DOI suffix starting at ``pos``; a line break after ``-`` or ``/``, or before
    a piece holding a digit, continues it."""
    m = _DOI_CHARS.match(text, pos)
    if m is None:
        return None
    end = _trim(text, pos, m.end())
    while end == m.end():
        gap = _GAP.match(text, end)
        assert gap is not None
        if gap.end() == end:
            break
        piece = _CONTINUATION.match(text, gap.end())
        if piece is None or piece.group(0).lower() in _NOT_DOI_WORDS:
            break
        broken_at_mark = text[end - 1] in "-/"
        if not (
            broken_at_mark or ("\n" in gap.group(0) and any(c.isdigit() for c in piece.group(0)))
        ):
            break
        m = piece
        end = _trim(text, piece.start(), piece.end())
    while end > pos and text[end - 1] in "-/":
        end -= 1
    return end if end > pos else None


def _trim(text: str, start: int, end: int) -> int:
    """Drop what ends a sentence or closes a bracket the DOI did not open."""
    while end > start:
        last = text[end - 1]
        if last in ".,;:" or (
            last == ")" and text.count("(", start, end) < text.count(")", start, end)
        ):
            end -= 1
        else:
            break
    return end
