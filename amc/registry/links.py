"""Registry data for bibliography links: how a telescope's instruments, ids and DOIs are written.

Per telescope (keys of a ``telescopes`` entry, apart from the hit terms so that both
can change independently):

- ``link_instruments``: canonical instrument name -> the ``names`` (acronyms,
  spelled-out names) and ``modes`` (sub-modes such as ``WFC3/IR``, ``ACIS-S``) that
  mean it, and ``filters`` (filter/grating regexes) that only support it;
- ``link_ids``: ``programme`` / ``obsid`` -> the ``keywords`` that introduce one id or a
  list of them ("program", "ObsIDs"), the ``prefixes`` written before each id ("GO",
  "JWST-GO"), the ``number`` of one id and the ``table_headers`` of id columns;
- ``link_dois``: dataset DOI prefixes (``10.17909`` for MAST).

Top level, ``link_context``: the phrases that tell data use from plans, citations and
funding (``LinkContext``). Everything is validated on load like the rest of the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from amc.registry.patterns import PatternUnion
from amc.registry.terms import Term, as_term, check_regexes, regex_union, union_pattern

IdKind = Literal["programme", "obsid"]
ID_KINDS: tuple[IdKind, ...] = ("programme", "obsid")
DOI_PREFIX_RE = re.compile(r"^10\.\d{4,9}$")


class LinkInstrument(BaseModel):
    """One instrument as a link value: what names it, and what only supports it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: acronyms and spelled-out names ("WFC3", "Wide Field Camera 3")
    names: list[Term] = Field(min_length=1)
    #: sub-modes that name the instrument too ("WFC3/IR", "ACIS-S", "NIRSpec MSA")
    modes: list[Term] = Field(default_factory=list)
    #: regexes of filters/gratings: evidence that a named instrument's data were used,
    #: never a link on their own (F160W is on three HST cameras)
    filters: list[str] = Field(default_factory=list)

    @field_validator("names", "modes", mode="before")
    @classmethod
    def _terms(cls, value: Any) -> Any:
        return [as_term(v) for v in value] if isinstance(value, list) else value

    @field_validator("filters")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)


class LinkIds(BaseModel):
    """How one kind of id (programme or observation id) of a telescope is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: regexes introducing one id or a list of them ("program", "ObsIDs", "PID")
    keywords: list[str] = Field(default_factory=list)
    #: regexes written right before each id ("GO", "JWST-GO"); an id with one needs no keyword
    prefixes: list[str] = Field(default_factory=list)
    #: regex of one id as written (digits), e.g. ``\d{4,5}``
    number: str = Field(min_length=1)
    #: regexes of a table column header whose cells are ids ("ObsID", "Obs. ID")
    table_headers: list[str] = Field(default_factory=list)
    #: ids are fixed-width and their leading zeros belong to them (XMM-Newton's
    #: "0801234501"); by default "00345" and "345" are the same id
    keep_zeros: bool = False

    @field_validator("keywords", "prefixes", "table_headers")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @model_validator(mode="after")
    def _findable(self) -> LinkIds:
        if not (self.keywords or self.prefixes or self.table_headers):
            raise ValueError("give keywords, prefixes or table_headers: else no id is ever found")
        return self

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        check_regexes([value])
        if re.compile(value).groups:
            raise ValueError("number must not contain capturing groups; use (?:...)")
        return value


def check_doi_prefixes(value: list[str]) -> list[str]:
    for i, prefix in enumerate(value):
        if not DOI_PREFIX_RE.match(prefix):
            raise ValueError(f"item {i}: {prefix!r} is not a DOI prefix like '10.17909'")
    return value


class LinkContext(BaseModel):
    """Phrases (case-insensitive regexes) that decide whether a named instrument, id or DOI
    is data the paper used: judged on the sentence that holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the paper's own data use ("we observed", "observations were obtained with")
    data_use: list[str] = Field(default_factory=list)
    #: the paper studies or handles the instrument (detectors, calibration, "supports")
    study: list[str] = Field(default_factory=list)
    #: plans, forecasts, ongoing programmes of others ("will", "future", "simulated")
    planned: list[str] = Field(default_factory=list)
    #: others' work and comparisons ("Smith et al. (2019) observed", "previously")
    cited: list[str] = Field(default_factory=list)
    #: the writer speaks of their own work ("we", "this paper")
    first_person: list[str] = Field(default_factory=list)
    #: funding ("Support for program ... was provided by NASA through a grant")
    grant: list[str] = Field(default_factory=list)
    #: a Facilities line ("Facilities: HST (WFC3)")
    facilities: list[str] = Field(default_factory=list)
    #: section headings under which named data are the paper's own (Observations, Data)
    data_sections: list[str] = Field(default_factory=list)
    #: section headings of passing mentions (Introduction, Future work, Similar tools)
    passing_sections: list[str] = Field(default_factory=list)
    #: facilities outside the registry: an id right after one of them is not ours
    other_facilities: list[str] = Field(default_factory=list)

    @field_validator("*")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @cached_property
    def compiled(self) -> CompiledContext:
        def union(name: str) -> re.Pattern[str] | None:
            return regex_union(getattr(self, name), flags=re.IGNORECASE)

        def fast(name: str) -> re.Pattern[str] | None:
            patterns = getattr(self, name)
            lowered = lowered_pattern("|".join(f"(?:{p})" for p in patterns))
            return re.compile(lowered) if patterns and lowered is not None else None

        names = type(self).model_fields
        return CompiledContext(
            **{name: union(name) for name in names if name != "other_facilities"},
            # searched in the sentences around every candidate id: the fast union
            other_facilities=union_pattern(self.other_facilities, flags=re.IGNORECASE),
            lowered={name: fast(name) for name in names},
        )


@dataclass(frozen=True)
class CompiledContext:
    """The phrase lists compiled: each a case-insensitive union, and (``lowered``) the same
    for lower-cased text without case rules, about five times faster in Python's ``re``."""

    data_use: re.Pattern[str] | None
    study: re.Pattern[str] | None
    planned: re.Pattern[str] | None
    cited: re.Pattern[str] | None
    first_person: re.Pattern[str] | None
    grant: re.Pattern[str] | None
    facilities: re.Pattern[str] | None
    data_sections: re.Pattern[str] | None
    passing_sections: re.Pattern[str] | None
    other_facilities: PatternUnion | None
    lowered: Mapping[str, re.Pattern[str] | None]

    def found(self, name: str, text: str, lowered: str) -> bool:
        """Whether phrase list ``name`` occurs in ``text`` (``lowered`` is ``text.lower()``):
        the fast pattern finds where to look, the exact one confirms."""
        exact: re.Pattern[str] | None = getattr(self, name)
        fast = self.lowered.get(name)
        if exact is None:
            return False
        if fast is None or len(lowered) != len(text):
            return exact.search(text) is not None
        return any(exact.match(text, m.start()) for m in fast.finditer(lowered))


_FLAGGED_GROUP = re.compile(r"\(\?[aiLmsux]*(?:-[imsx]+)?:")
_GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")


def lowered_pattern(pattern: str) -> str | None:
    """``pattern`` for lower-cased text: literals lower-cased, case flags dropped, so it
    matches (at least) wherever ``pattern`` matches, case-insensitively or not, in the
    original text. None when that cannot be done safely (negated classes, global
    flags, ``\\N``/``\\p`` escapes, conditionals)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if pattern[i + 1 : i + 2] in ("N", "p", "P"):
                return None
            out.append(pattern[i : i + 2])  # an escape keeps its case: \\S is not \\s
            i += 2
        elif pattern.startswith("(?", i):
            flagged = _FLAGGED_GROUP.match(pattern, i)
            if flagged is not None:
                out.append("(?:")
                i = flagged.end()
            elif pattern.startswith(("(?P<", "(?P="), i):
                close = pattern.find(">" if pattern[i + 3] == "<" else ")", i)
                out.append(pattern[i : close + 1])  # a group's name keeps its case
                i = close + 1
            elif _GLOBAL_FLAGS.match(pattern, i) or pattern.startswith("(?(", i):
                return None
            else:
                out.append("(?")
                i += 2
        elif pattern.startswith("[^", i):
            return None  # [^A-Z] on lower-cased text would reject what it accepted
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)
