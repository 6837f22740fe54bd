"""Where a candidate link sits: its sentence, its section, the facilities named around it.

``FieldText`` wraps one text field. Sentences are split only in the paragraphs
that hold candidates, the facilities named (registry telescopes, and others such as
Spitzer or XMM-Newton) only in the sentences asked about, and headings once per
field, line by line, so judging the candidates of a long paper stays cheap.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from amc.domain.models import TextField
from amc.registry import Registry
from amc.registry.patterns import match_spans
from amc.snippets.sentences import Span, sentence_window

Section = Literal["data", "passing"]
#: key of a facility outside the registry (Spitzer, XMM-Newton, ...)
OTHER = "OTHER"
#: a clause: at most this many characters of the sentence either side of the candidate
CLAUSE_REACH = 250
#: the longest quote kept of a long sentence
QUOTE_CHARS = 300

#: a heading line: "§ OBSERVATIONS", "\\section{Data}", "## Data availability", "2.1 Data",
#: or a short Title Case line after a blank line ("Similar Tools", "Statement of Need")
_MARKED_HEADING = re.compile(
    r"[ \t]*(?:§(?:\.§)*|\\(?:sub)*section\*?\{|#{1,4}[ \t])[ \t]*(?P<title>.{2,80})"
)
_TITLE_WORD = re.compile(r"[A-Z][\w\-]*|of|and|the|for|in|to|on|with|from|&")
_NUMBERED = re.compile(r"[ \t]*(?:\d+(?:\.\d+)*\.?|[IVX]+\.)[ \t]+")
#: "2. OBSERVATIONS AND DATA REDUCTION The ..." in text that lost its line breaks
_INLINE_HEADING = re.compile(
    r"(?:\A|(?<=[.!?]\s))\d+(?:\.\d+)*\.?[ \t]+"
    r"(?P<title>[A-Z][A-Z&\- ]{3,60}[A-Z])(?=[ \t]+[A-Z][a-z])"
)
#: below this many line breaks per character a field has lost its lines (ADS full text)
LINES_PER_CHAR = 1 / 2000


@dataclass(frozen=True)
class Mention:
    """A facility named in the text: a registry key, or ``OTHER``."""

    start: int
    end: int
    key: str


@dataclass
class FieldText:
    """One text field of a paper. Sentences (``amc.snippets.sentences``: split a paragraph
    at a time, once for every stage) and facility mentions are found on demand, so a
    long paper costs only where its candidates are."""

    name: TextField
    text: str
    registry: Registry
    #: rows of the field's id tables (an instrument named in one is the data's)
    table_rows: list[Span] = field(default_factory=list)
    _mention_cache: dict[Span, list[Mention]] = field(default_factory=dict, init=False)
    _phrase_cache: dict[tuple[str, int, int], bool] = field(default_factory=dict, init=False)

    def sentence(self, pos: int) -> Span:
        """The sentence holding ``pos`` (its line when splitting found none)."""
        found = sentence_window(self.text, pos)
        if found and found[0][0] <= pos < found[0][1]:
            return found[0]
        lo = self.text.rfind("\n", 0, pos) + 1
        hi = self.text.find("\n", pos)
        return lo, len(self.text) if hi < 0 else hi

    def earlier_sentences(self, span: Span, n: int = 2) -> Span:
        """The ``n`` sentences before ``span`` (as one span; empty at the field's start)."""
        found = sentence_window(self.text, span[0] - 1, before=n - 1) if span[0] > 0 else []
        if not found or found[0][0] >= span[0]:
            return span[0], span[0]
        return found[0][0], min(found[-1][1], span[0])

    def clause(self, start: int, end: int) -> Span:
        """The part of the sentence around ``[start, end)`` whose phrases judge it (after
        a heading the splitter left at the sentence's start)."""
        s, e = self.sentence(start)
        i = bisect_right(self._heading_starts, start) - 1
        if i >= 0 and s <= self._headings[i][0] and self._headings[i][1] <= start:
            s = self._headings[i][1]
        return max(s, start - CLAUSE_REACH), min(max(e, end), end + CLAUSE_REACH)

    def quote(self, start: int, end: int) -> Span:
        """The sentence around ``[start, end)``, cut at word boundaries to ``QUOTE_CHARS``."""
        s, e = self.sentence(start)
        e = max(e, end)
        if e - s <= QUOTE_CHARS:
            return s, e
        side = max(0, (QUOTE_CHARS - (end - start)) // 2)
        lo, hi = max(s, start - side), min(e, end + side)
        if lo > s:  # begin and end at a word
            space = self.text.find(" ", lo, start)
            lo = space + 1 if space >= 0 else lo
        if hi < e:
            space = self.text.rfind(" ", end, hi)
            hi = space if space >= 0 else hi
        return lo, hi

    def has_phrase(self, name: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` holds a phrase of the registry's ``link_context``
        list ``name`` (cached: the candidates of one sentence share its clause)."""
        key = (name, start, end)
        if key not in self._phrase_cache:
            clause = self.text[start:end]
            ctx = self.registry.link_context.compiled
            self._phrase_cache[key] = ctx.found(name, clause, clause.lower())
        return self._phrase_cache[key]

    def in_table_row(self, pos: int) -> bool:
        return any(a <= pos < b for a, b in self.table_rows)

    def mentions(self, start: int, end: int) -> list[Mention]:
        """Facilities named inside ``[start, end)`` (a sentence or two), in text order."""
        if (start, end) not in self._mention_cache:
            found = _mentions(self.text, start, end, self.registry)
            self._mention_cache[(start, end)] = sorted(found, key=lambda m: m.start)
        return self._mention_cache[(start, end)]

    def section(self, pos: int) -> Section | None:
        """``data`` or ``passing`` when the heading above ``pos`` says so."""
        i = bisect_right(self._heading_starts, pos) - 1
        return self._headings[i][2] if i >= 0 else None

    @cached_property
    def _heading_starts(self) -> list[int]:
        return [start for start, _, _ in self._headings]

    @cached_property
    def _headings(self) -> list[tuple[int, int, Section | None]]:
        """``(start, end, section kind)`` of every heading title of the field."""
        ctx = self.registry.link_context.compiled
        found = []
        for start, end in _heading_titles(self.text):
            title = self.text[start:end]
            kind: Section | None = None
            if ctx.passing_sections is not None and ctx.passing_sections.search(title):
                kind = "passing"
            elif ctx.data_sections is not None and ctx.data_sections.search(title):
                kind = "data"
            found.append((start, end, kind))
        return found


def _heading_titles(text: str) -> list[Span]:
    """Spans of the heading titles of ``text``, line by line (cheap: no scan of the text
    with a pattern, except in text that has lost its line breaks)."""
    found: list[Span] = []
    pos, blank_before = 0, True
    for line in text.split("\n"):
        end = pos + len(line)
        marked = _MARKED_HEADING.fullmatch(line) if line[:1] in " \t§\\#" else None
        if marked is not None:
            found.append((pos + marked.start("title"), pos + len(line.rstrip())))
        elif blank_before and 0 < len(line.strip()) <= 80 and _is_title(line):
            numbered = _NUMBERED.match(line)
            lead = numbered.end() if numbered else len(line) - len(line.lstrip())
            found.append((pos + lead, pos + len(line.rstrip().rstrip(":"))))
        blank_before = not line.strip()
        pos = end + 1
    if text.count("\n") < len(text) * LINES_PER_CHAR:
        found.extend(m.span("title") for m in _INLINE_HEADING.finditer(text))
    return sorted(found)


def _is_title(line: str) -> bool:
    numbered = _NUMBERED.match(line)
    words = line[numbered.end() if numbered else 0 :].strip().rstrip(":").split()
    return (
        0 < len(words) <= 7
        and words[0][:1].isupper()
        and all(_TITLE_WORD.fullmatch(w) for w in words)
    )


def _mentions(text: str, start: int, end: int, registry: Registry) -> list[Mention]:
    """Registry telescopes (aliases and own instruments, not shared terms or traps) and
    other facilities named in ``text[start:end]``."""
    window = text[start:end]
    lowered = window.lower()
    found: list[Mention] = []
    for telescope in registry:
        comp = telescope.compiled
        if not comp.may_name(lowered):
            continue  # most telescopes are not named in a sentence: a few substring tests
        terms = comp.find_terms(window)
        traps = list(match_spans(comp.false_positives, window)) if terms else []
        for s, e, index in terms:
            if comp.term_list[index].shared or any(a < e and s < b for a, b in traps):
                continue
            found.append(Mention(start + s, start + e, telescope.key))
    others = registry.link_context.compiled.other_facilities
    if others is not None:  # a registry telescope's own name is never "another facility"
        ours = [(m.start, m.end) for m in found]
        for s, e in others.spans(window):
            a, b = start + s, start + e
            if not any(x < b and a < y for x, y in ours):
                found.append(Mention(a, b, OTHER))
    return found
