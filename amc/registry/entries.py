"""Registry entries: a telescope (names, instruments, traps, grant and evidence patterns)
and the rules tier's cue phrases, validated on load."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from amc.domain.models import NONE_TELESCOPE
from amc.registry.context import CompiledContext, GappedTrap, Homonym, as_homonym
from amc.registry.link_matching import CompiledLinks
from amc.registry.links import IdKind, LinkIds, LinkInstrument, check_doi_prefixes
from amc.registry.matching import CompiledTelescope
from amc.registry.patterns import PatternUnion
from amc.registry.terms import Term, as_term, check_regexes, regex_union, union_pattern

# no "_": a Kaggle Id is split on its last underscore
KEY_RE = re.compile(r"^[A-Z][A-Z0-9\-]*$")


class Telescope(BaseModel):
    """One registry entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name: str = Field(min_length=1)
    aliases: list[Term] = Field(min_length=1)
    instruments: list[Term] = Field(default_factory=list)
    # the four pattern lists are case-insensitive regular expressions; use (?-i:...)
    # for a case-sensitive part (e.g. a capitalised person name)
    #: regular expressions for traps: a hit inside a match is a false positive
    false_positives: list[str] = Field(default_factory=list)
    #: regular expressions for grants/fellowships: a hit inside is a grant hit, and a
    #: match is a grant hit on its own (award numbers name no telescope)
    grants: list[str] = Field(default_factory=list)
    #: regular expressions that are evidence of data use (programme ids, DOIs, ObsIDs)
    science_patterns: list[str] = Field(default_factory=list)
    #: the telescope's own calibration/software/archive names (instrumentation cues)
    instrumentation_patterns: list[str] = Field(default_factory=list)
    # context of a name (``amc.registry.context``): traps with words in between,
    # software named after the telescope, homonyms, supporting and pipeline words
    #: "Hubble <a few words> velocity": a hit inside a match is a trap
    traps_with_gaps: list[GappedTrap] = Field(default_factory=list)
    #: software named after the telescope or an instrument: a hit inside a match names the
    #: software, a real reference but never evidence of using the telescope's data
    packages: list[str] = Field(default_factory=list)
    #: context words a few words from a hit that show another sense of the name
    homonyms: list[Homonym] = Field(default_factory=list)
    #: filter, grating and mode names: support a data-use sentence, no evidence alone
    support_patterns: list[str] = Field(default_factory=list)
    #: the telescope's data-processing vocabulary (pipeline stages, tools, file names)
    pipeline_patterns: list[str] = Field(default_factory=list)
    description: str = ""
    # bibliography links (``amc.registry.links`` documents them)
    #: canonical instrument name -> its names, sub-modes and supporting filters
    link_instruments: dict[str, LinkInstrument] = Field(default_factory=dict)
    #: how programme ids and observation ids are written
    link_ids: dict[IdKind, LinkIds] = Field(default_factory=dict)
    #: prefixes of the telescope's dataset DOIs ("10.17909")
    link_dois: list[str] = Field(default_factory=list)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("key must be upper case letters, digits or '-' (no '_')")
        if value == NONE_TELESCOPE:
            raise ValueError("NONE is reserved for pairs tied to no telescope")
        return value

    @field_validator("aliases", "instruments", mode="before")
    @classmethod
    def _terms(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [as_term(v) for v in value]
        return value

    @field_validator(
        "false_positives", "grants", "science_patterns", "instrumentation_patterns", "packages",
        "support_patterns", "pipeline_patterns",
    )  # fmt: skip
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @field_validator("homonyms", mode="before")
    @classmethod
    def _homonyms(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [as_homonym(v) for v in value]
        return value

    @field_validator("link_dois")
    @classmethod
    def _dois(cls, value: list[str]) -> list[str]:
        return check_doi_prefixes(value)

    @cached_property
    def compiled(self) -> CompiledTelescope:
        return CompiledTelescope.build(self)

    @cached_property
    def context(self) -> CompiledContext:
        return CompiledContext.build(
            self.packages, self.homonyms, self.support_patterns, self.pipeline_patterns
        )

    @cached_property
    def link_patterns(self) -> CompiledLinks:
        return CompiledLinks.build(self.link_instruments, self.link_ids, self.link_dois)


#: the cue lists, each a list of regular expressions
CUE_LISTS = (
    "science", "instrumentation", "mention", "own_data", "data_words", "reprocessing",
    "boilerplate", "citation", "future",
    "other_facilities", "worked_example", "example_sections", "results",
)  # fmt: skip


class Cues(BaseModel):
    """Evidence phrases of the rules tier (regular expressions, case-insensitive).

    ``science``: data-use phrases, whoever's data; ``own_data``: phrases that make a
    sentence's data use the paper's own ("we observed", "our spectra") when it is about
    this telescope: nearest its name, or its name stands by ``data_words`` ("archival
    HST imaging"); ``reprocessing``: first-person re-analysis, the paper's own use even of
    data others published; ``boilerplate``: acknowledgment formulae ("based on
    observations made with"), strong but not enough alone; ``citation``:
    citation shapes (a sentence with one reports others' work unless it is first
    person); ``future``: forecasts and plans; ``other_facilities``: observatories not
    in the registry (a data-use phrase nearer one of them is not about this
    telescope); ``instrumentation``: what a paper about an instrument, its software or
    its data quality says; ``results``: what a paper reporting new astrophysical results
    says in its title and abstract; ``worked_example`` and ``example_sections``: a
    tutorial or demonstration in a software paper (phrases, and section headings);
    ``mention``: hedges, reviews, history.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    science: list[str] = Field(default_factory=list)
    instrumentation: list[str] = Field(default_factory=list)
    mention: list[str] = Field(default_factory=list)
    own_data: list[str] = Field(default_factory=list)
    data_words: list[str] = Field(default_factory=list)
    reprocessing: list[str] = Field(default_factory=list)
    boilerplate: list[str] = Field(default_factory=list)
    citation: list[str] = Field(default_factory=list)
    future: list[str] = Field(default_factory=list)
    other_facilities: list[str] = Field(default_factory=list)
    worked_example: list[str] = Field(default_factory=list)
    example_sections: list[str] = Field(default_factory=list)
    results: list[str] = Field(default_factory=list)

    @field_validator(*CUE_LISTS)
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @cached_property
    def compiled(self) -> dict[str, re.Pattern[str] | None]:
        """Each cue list as one regex, for readers that need match objects (rules tier)."""
        return {name: regex_union(getattr(self, name), flags=re.IGNORECASE) for name in CUE_LISTS}

    @cached_property
    def unions(self) -> dict[str, PatternUnion | None]:
        """The same lists searched fast (``PatternUnion``): for counting and finding spans
        in every snippet and sentence (ranking, the evidence budget)."""
        return {name: union_pattern(getattr(self, name), flags=re.IGNORECASE) for name in CUE_LISTS}
