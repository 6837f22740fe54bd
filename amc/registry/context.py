"""Registry data about the words around a name: traps with gaps, packages, homonyms.

Three kinds of entries, each a key of a telescope in the registry file:

- ``traps_with_gaps``: a name, then up to ``max_words`` words, then a
  trap noun ("Hubble recession velocity", "Kepler's third law"). A hit inside a
  match is a trap (``false_positive``), like a hit inside ``false_positives``.
  Words that break the gap (data words, verbs, prepositions) stop the match, so
  "Hubble observations of the flow" is not a trap.
- ``packages``: software named after the telescope or one of its instruments
  (WebbPSF, the ``jwst`` pipeline package). A hit inside a match names the
  software: a real reference, never evidence of using the telescope's data.
- ``homonyms``: words that, within a few words of a hit, show the name is used in
  another sense (NVIDIA's Kepler GPUs, the Times New Roman font, the mountain K2).
  Such a hit is a trap.

Also ``support_patterns`` (filters, gratings, modes: they support a data-use
sentence but are no evidence alone) and ``pipeline_patterns`` (the telescope's
data-processing vocabulary), plain regular-expression lists on the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from amc.registry.patterns import PatternUnion
from amc.registry.terms import check_regexes, literal_pattern, regex_union, union_pattern

#: words that may never sit in the gap of a trap: a gap holds modifiers ("recession",
#: "local"), not the verbs, prepositions and data words of a sentence about the telescope
GAP_BREAKERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "of",
        "with",
        "from",
        "in",
        "on",
        "by",
        "for",
        "and",
        "or",
        "to",
        "at",
        "as",
        "via",
        "into",
        "onto",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "may",
        "might",
        "must",
        "shall",
        "should",
        "we",
        "our",
        "us",
        "they",
        "their",
        "its",
        "it",
        "i",
        "my",
        "he",
        "she",
        "his",
        "her",
        "which",
        "who",
        "whose",
        "where",
        "when",
        "than",
        "then",
        "also",
        "not",
        "no",
        "data",
        "observation",
        "observations",
        "observing",
        "observed",
        "observe",
        "image",
        "images",
        "imaging",
        "spectra",
        "spectrum",
        "spectroscopy",
        "spectroscopic",
        "photometry",
        "photometric",
        "archive",
        "archival",
        "program",
        "programme",
        "proposal",
        "cycle",
        "orbit",
        "orbits",
        "visit",
        "visits",
        "pointing",
        "pointings",
        "camera",
        "cameras",
        "legacy",
        "mission",
        "telescope",
        "space",
        "instrument",
        "instruments",
        "exposure",
        "exposures",
        "shows",
        "show",
        "showed",
        "shown",
        "reveals",
        "revealed",
        "reveal",
        "finds",
        "found",
        "find",
        "confirms",
        "confirmed",
        "suggests",
        "suggested",
        "indicates",
        "indicated",
        "provides",
        "provided",
        "gives",
        "gave",
        "yields",
        "yielded",
        "allows",
        "allowed",
        "enables",
        "enabled",
        "measured",
        "measures",
        "detected",
        "detects",
        "see",
        "seen",
        "obtained",
        "taken",
        "used",
        "using",
    ]
)
#: words either side of a hit searched for a homonym's context
HOMONYM_WORDS = 4
_SEP = r"[\s~\-\u2010-\u2013]+"


class GappedTrap(BaseModel):
    """A trap phrase that tolerates a few words between the name and the trap noun."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: regular expression for the name as written (use (?-i:...) for its case)
    name: str = Field(min_length=1)
    #: trap nouns (literal words; a plural "s" is allowed)
    nouns: list[str] = Field(min_length=1)
    #: most words allowed between the name and the noun (lower-case or capitalised,
    #: never an acronym)
    max_words: int = Field(2, ge=0, le=5)
    #: more words that break the gap, on top of ``GAP_BREAKERS``
    not_between: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_regexes([value])
        return value

    def pattern(self) -> str:
        """The trap as one regular expression (case-insensitive unless the name says)."""
        breakers = sorted(GAP_BREAKERS | {w.lower() for w in self.not_between})
        stop = "|".join(re.escape(w) for w in breakers)
        # lower-case or Title-case words (titles), never an acronym such as WFC3
        gap_word = rf"(?!(?:{stop})\b)(?-i:[a-z0-9][a-z0-9\-]*|[A-Z][a-z][a-z\-]*)"
        nouns = "|".join(literal_pattern(n) for n in self.nouns)
        return rf"(?:{self.name})(?:{_SEP}{gap_word}){{0,{self.max_words}}}{_SEP}(?:{nouns})s?\b"


class Homonym(BaseModel):
    """Context words showing a name is meant in another sense (computing, everyday)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: regular expression of the context words (case-insensitive unless it says)
    context: str = Field(min_length=1)
    #: how many words either side of the hit are searched
    within_words: int = Field(HOMONYM_WORDS, ge=1, le=20)

    @field_validator("context")
    @classmethod
    def _context(cls, value: str) -> str:
        check_regexes([value])
        return value


def as_homonym(value: Any) -> Any:
    return {"context": value} if isinstance(value, str) else value


@dataclass(frozen=True)
class CompiledContext:
    """The context patterns of one telescope, compiled once."""

    #: searched in the windows around hits (``PatternUnion``: needles and ASCII rules)
    packages: PatternUnion | None
    #: (words either side, the contexts searched that far) for each reach in use
    homonyms: tuple[tuple[int, PatternUnion], ...]
    support: re.Pattern[str] | None
    pipeline: re.Pattern[str] | None

    @classmethod
    def build(
        cls,
        packages: list[str],
        homonyms: list[Homonym],
        support: list[str],
        pipeline: list[str],
    ) -> CompiledContext:
        reaches = sorted({h.within_words for h in homonyms})
        grouped = [
            (words, union_pattern([h.context for h in homonyms if h.within_words == words], re.I))
            for words in reaches
        ]
        return cls(
            packages=union_pattern(packages, re.IGNORECASE),
            homonyms=tuple((words, pattern) for words, pattern in grouped if pattern is not None),
            support=regex_union(support, re.IGNORECASE),
            pipeline=regex_union(pipeline, re.IGNORECASE),
        )

    def is_homonym(self, text: str, start: int, end: int) -> bool:
        """Whether a homonym's context words lie within its word reach of ``text[start:end]``."""
        for words, pattern in self.homonyms:
            reach = 40 * words  # no context word anywhere near: nothing to measure
            if not pattern.search(text, max(0, start - reach), end + reach):
                continue
            lo, hi = _word_reach(text, start, end, words)
            if pattern.search(text, lo, start) or pattern.search(text, end, hi):
                return True
        return False


_WORD = re.compile(r"\S+")
#: a clause ends at ";", "!", "?", a blank line, or a full stop that ends no title or
#: initial ("Dr.", "Prof.", "A.")
_CLAUSE_END = re.compile(
    r"(?:[;!?]|(?<!\b[A-Z])(?<!\b[A-Z][a-z])(?<!\b[A-Z][a-z]{2})(?<!\b[A-Z][a-z]{3})\.)"
    r"(?:\s|$)|\n\s*\n"
)


def _word_reach(text: str, start: int, end: int, words: int) -> tuple[int, int]:
    """Offsets ``words`` words before ``start`` and after ``end``, not across a clause end."""
    left = text[max(0, start - 40 * words) : start]
    stops = list(_CLAUSE_END.finditer(left))
    if stops:
        left = left[stops[-1].end() :]
    found = [m.start() for m in _WORD.finditer(left)]
    lo = start - len(left) + (found[-words] if len(found) >= words else 0)
    right = text[end : end + 40 * words]
    stop = _CLAUSE_END.search(right)
    if stop:
        right = right[: stop.start() + 1]
    ends = [m.end() for m in _WORD.finditer(right)]
    hi = end + (ends[words - 1] if len(ends) >= words else len(right))
    return lo, hi
