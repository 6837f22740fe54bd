"""Registry entries: a telescope (names, instruments, traps, grant and evidence patterns)
and the rules tier's cue phrases, validated on load."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from amc.domain.models import NONE_TELESCOPE
from amc.registry.matching import CompiledTelescope
from amc.registry.patterns import PatternUnion
from amc.registry.terms import Term, as_term, check_regexes, union_pattern

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
    description: str = ""

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

    @field_validator("false_positives", "grants", "science_patterns", "instrumentation_patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @cached_property
    def compiled(self) -> CompiledTelescope:
        return CompiledTelescope.build(self)


class Cues(BaseModel):
    """Evidence phrases of the rules tier (regular expressions, case-insensitive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    science: list[str] = Field(default_factory=list)
    instrumentation: list[str] = Field(default_factory=list)
    mention: list[str] = Field(default_factory=list)

    @field_validator("science", "instrumentation", "mention")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return check_regexes(value)

    @cached_property
    def compiled(self) -> dict[str, PatternUnion | None]:
        return {
            name: union_pattern(getattr(self, name), flags=re.IGNORECASE)
            for name in ("science", "instrumentation", "mention")
        }
