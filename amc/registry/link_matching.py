"""A telescope's link patterns compiled once (``Telescope.link_patterns``).

Instrument names are matched like hit terms (their own case and word-boundary
rules, longest first); ids as a keyword or prefix followed by a list of numbers
(``amc.links.ids`` reads the list); DOIs by prefix, allowing the white space a
line break leaves inside them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from amc.domain.memo import TextMemo
from amc.registry.links import IdKind, LinkIds, LinkInstrument, lowered_pattern
from amc.registry.matching import CompiledTelescope
from amc.registry.regex_shape import case_exact_literals, leading_digits
from amc.registry.terms import Term, regex_union

#: dashes and separators allowed between a prefix and its number ("GO-12345", "GO 12345")
PREFIX_GAP = r"[\s~\-\u2010-\u2013#]*"
DASH = r"[\-\u2010-\u2013]"
#: the most characters a prefix and its gap take before a number ("Hubble GO/DD #")
PREFIX_REACH = 24


#: the fewest leading digits for which ``IdPatterns.numbers`` uses the digit mask
MIN_MASK_DIGITS = 3
#: ``str.translate`` table: an ASCII digit becomes "1", any other ASCII character "0"
#: (other characters stay as they are: none is "1"), offsets unchanged
_DIGIT_MASK = "".join("1" if chr(i).isdigit() else "0" for i in range(128))
#: the digit masks of the texts being searched (each id kind of each telescope of a
#: paper searches the same fields)
_MASKS: TextMemo[str] = TextMemo(8_000_000)


@dataclass(frozen=True)
class IdPatterns:
    """One id kind of one telescope.

    A list of ids starts at a keyword ("programs", "ObsIDs") or at an id written with
    its prefix ("GO 12345"). Both are found without scanning the text with a
    case-insensitive alternation (slow in Python's ``re``): keywords by their
    lower-cased pattern on lower-cased text, each match confirmed by the exact one;
    prefixed ids from the numbers of the id's shape, looking just before each.
    """

    kind: IdKind
    #: a keyword, as group ``kw`` (None when the kind has no keywords)
    keyword: re.Pattern[str] | None
    #: ``keyword`` for lower-cased text, without case rules: it matches at least where
    #: ``keyword`` does (None when the pattern cannot be lower-cased safely)
    keyword_prefilter: re.Pattern[str] | None
    #: a prefix and the gap before its number (None when the kind has no prefixes)
    prefix: re.Pattern[str] | None
    #: one id: optional prefix, the number (group ``num``), a grant suffix (group ``grant``)
    item: re.Pattern[str]
    number: re.Pattern[str]
    table_header: re.Pattern[str] | None
    keep_zeros: bool = False
    #: ASCII digits every ``number`` match starts with (``regex_shape.leading_digits``)
    number_digits: int = 0
    #: literals one of which every ``prefix`` match holds, in their case ("GO", "DD"): a
    #: number with none of them just before it has no prefix (None: look every time)
    prefix_needles: re.Pattern[str] | None = None

    def value(self, telescope: str, number: str) -> str:
        """The canonical value of an id as written: ``TELESCOPE:NUMBER``."""
        return f"{telescope}:{number if self.keep_zeros else int(number)}"

    def heads(self, text: str, lowered: str) -> list[re.Match[str]]:
        """Where lists of ids start in ``text`` (``lowered`` is ``text.lower()``), in order;
        a keyword match has group ``kw``."""
        found: dict[int, re.Match[str]] = {}
        if self.keyword is not None:
            if self.keyword_prefilter is not None and len(lowered) == len(text):
                for candidate in self.keyword_prefilter.finditer(lowered):
                    m = self.keyword.match(text, candidate.start())
                    if m is not None:
                        found.setdefault(m.start(), m)
            else:
                found.update((m.start(), m) for m in self.keyword.finditer(text))
        if self.prefix is not None:
            needles = self.prefix_needles
            for number in self.numbers(text):
                end = number.start()
                a = max(0, end - PREFIX_REACH)
                if needles is not None and needles.search(text, a, end) is None:
                    continue  # a prefix ending at the number would hold one
                for m in self.prefix.finditer(text, a, end):
                    if m.end() == end:
                        found.setdefault(m.start(), m)
        return [found[start] for start in sorted(found)]

    def numbers(self, text: str) -> Iterator[re.Match[str]]:
        """``self.number.finditer(text)``. When every number starts with a few ASCII digits
        (``number_digits``), the pattern is tried only where that many digits stand in a
        row, found in a digit mask of the text with ``str.find``: its next match is at
        the first such place where it matches (Python's ``re`` scans 60 KB of paper for
        ``[1-9][0-9]{3,4}`` in 0.7 ms, the mask in 0.3)."""
        k = self.number_digits
        if k < MIN_MASK_DIGITS:
            yield from self.number.finditer(text)
            return
        mask = _MASKS.get(text, None, lambda: text.translate(_DIGIT_MASK))
        run, pos = "1" * k, 0
        i = mask.find(run)
        while i >= 0:
            end = i + k
            while end < len(mask) and mask[end] == "1":
                end += 1
            for p in range(max(i, pos), end - k + 1):
                if p >= pos and (m := self.number.match(text, p)) is not None:
                    yield m
                    pos = m.end()
            i = mask.find(run, end)


@dataclass(frozen=True)
class CompiledLinks:
    """Link patterns of one telescope."""

    #: names and modes of every instrument, matched like hit terms (fast, longest first)
    instrument_terms: CompiledTelescope | None
    #: canonical instrument of each name or mode
    instrument_of: Mapping[Term, str]
    filters: Mapping[str, re.Pattern[str]]
    ids: Mapping[IdKind, IdPatterns]
    doi_prefixes: tuple[str, ...]
    doi_re: re.Pattern[str] | None

    @classmethod
    def build(
        cls,
        instruments: Mapping[str, LinkInstrument],
        ids: Mapping[IdKind, LinkIds],
        dois: Sequence[str],
    ) -> CompiledLinks:
        named = {t: name for name, inst in instruments.items() for t in (*inst.names, *inst.modes)}
        filters = {
            name: pattern
            for name, inst in instruments.items()
            if (pattern := regex_union(inst.filters, re.IGNORECASE)) is not None
        }
        return cls(
            instrument_terms=CompiledTelescope.for_terms(list(named)) if named else None,
            instrument_of=named,
            filters=filters,
            ids={kind: _id_patterns(kind, spec) for kind, spec in ids.items()},
            doi_prefixes=tuple(dois),
            doi_re=_doi_re(dois),
        )

    def find_instruments(
        self, text: str, start: int = 0, end: int | None = None
    ) -> list[tuple[int, int, str]]:
        """``(start, end, canonical name)`` of every instrument name or mode in
        ``text[start:end]`` (offsets into ``text``), longest first."""
        if self.instrument_terms is None:
            return []
        window = text if start == 0 and end is None else text[start:end]
        terms = self.instrument_terms.term_list
        return [
            (start + s, start + e, self.instrument_of[terms[i]])
            for s, e, i in self.instrument_terms.find_terms(window)
        ]


def _id_patterns(kind: IdKind, spec: LinkIds) -> IdPatterns:
    prefix = "|".join(f"(?:{p})" for p in spec.prefixes)
    # an id is not part of a longer number, a decimal or a range ("2024-2028"); a grant
    # number's suffix (".001-A" of HST-GO-16543.001-A) is group ``grant``
    number = (
        rf"(?<![\w.])(?P<num>{spec.number})"
        rf"(?P<grant>\.\d{{1,3}}{DASH}[A-Z])?(?![\w]|{DASH}\d)"
    )
    # "#3215 and #1963": a bare id may keep its number sign
    item = rf"(?:(?:{prefix}){PREFIX_GAP}|#[\s~]*)?{number}" if prefix else rf"(?:#[\s~]*)?{number}"
    keyword = "(?P<kw>" + "|".join(f"(?:{k})" for k in spec.keywords) + ")"
    prefilter = lowered_pattern(keyword) if spec.keywords else None
    prefix_re = rf"\b(?:{prefix}){PREFIX_GAP}" if prefix else None
    needles = case_exact_literals(prefix_re, re.IGNORECASE) if prefix_re else None
    return IdPatterns(
        kind=kind,
        keyword=re.compile(rf"\b{keyword}", re.IGNORECASE) if spec.keywords else None,
        keyword_prefilter=re.compile(prefilter) if prefilter is not None else None,
        prefix=re.compile(prefix_re, re.IGNORECASE) if prefix_re else None,
        item=re.compile(item, re.IGNORECASE),
        number=re.compile(spec.number),
        number_digits=leading_digits(spec.number),
        table_header=regex_union(spec.table_headers, re.IGNORECASE),
        keep_zeros=spec.keep_zeros,
        prefix_needles=re.compile("|".join(map(re.escape, sorted(needles)))) if needles else None,
    )


def _doi_re(prefixes: Sequence[str]) -> re.Pattern[str] | None:
    if not prefixes:
        return None
    # "10.17909/" as written, or broken across a line: "10.\n17909 /"
    registrants = "|".join(re.escape(p.split(".", 1)[1]) for p in prefixes)
    # no look-behind in front: it would defeat the fast search for the literal "10."; the
    # character before a match is checked by the caller
    return re.compile(rf"10\.[\s~]?(?:{registrants})[\s~]?/")
