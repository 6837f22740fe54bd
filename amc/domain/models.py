"""The shapes every stage uses: papers, pairs, snippets, labels, classifications.

Glossary (the same word means the same thing everywhere):

- *paper*: one publication's text fields (``Paper``).
- *telescope*: a registry key such as ``HST``; ``NONE`` marks TRACS rows tied
  to no telescope.
- *pair*: one (paper, telescope) unit of work (``Pair``); its id is
  ``<bibcode>_<TELESCOPE>`` exactly as in the Kaggle files.
- *hit*: one match of a registry term in a text field (``Hit``).
- *snippet*: a window of sentences around hits, with offsets into the
  original field (``Snippet``).
- *labels*: the four booleans (``TelescopeLabels``); *gold* labels are the
  stored (human) ones, predicted labels live in a ``Classification``.
- *link*: what a science/instrumentation pair used of the telescope (an
  instrument, a programme id, an observation id, a dataset DOI), or a programme
  it was only funded by (``Link``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NONE_TELESCOPE = "NONE"

TextField = Literal["title", "abstract", "body", "acknowledgments", "grants", "references"]
#: the fields searched by default; ``references`` (kept apart by PDF extraction) on request
TEXT_FIELDS: tuple[TextField, ...] = ("title", "abstract", "body", "acknowledgments", "grants")


class Label(StrEnum):
    science = "science"
    instrumentation = "instrumentation"
    mention = "mention"
    not_telescope = "not_telescope"


LABELS: tuple[Label, ...] = tuple(Label)


class Paper(BaseModel):
    """One paper. Any text field may be empty (TRACS JWST rows often have no body)."""

    model_config = ConfigDict(extra="forbid")

    bibcode: str = Field(min_length=1)
    title: str = ""
    abstract: str = ""
    body: str = ""
    acknowledgments: str = ""
    grants: str = ""
    year: int | None = None
    authors: list[str] = Field(default_factory=list)
    #: where the paper came from, e.g. ``papers.parquet#row=12`` or a PDF path
    source: str = ""
    #: reference list kept apart from the body (PDF extraction); not searched by default
    references: str = ""
    #: DOI, arXiv id, ... when known
    identifiers: dict[str, str] = Field(default_factory=dict)
    #: PDF input: per text field, ``(offset, page)`` where each page's text starts
    page_breaks: dict[str, list[tuple[int, int]]] = Field(default_factory=dict)

    def page_at(self, field: str, offset: int) -> int | None:
        """The PDF page holding ``offset`` of ``field`` (None when not from a PDF)."""
        page = None
        for start, number in self.page_breaks.get(field, ()):
            if start > offset:
                break
            page = number
        return page

    def text(self, field: TextField) -> str:
        return str(getattr(self, field))

    @property
    def char_count(self) -> int:
        return sum(len(self.text(f)) for f in TEXT_FIELDS)


class TelescopeLabels(BaseModel):
    """The four labels of one pair, with the TRACS precedence rules enforced.

    Precedence (tracs-task.md): science or instrumentation anywhere wins, and
    then mention and not_telescope are false; a real mention wins over false
    positives, so mention => not not_telescope. The validator normalises a
    conflicting combination rather than rejecting it; ``conflicts`` tells
    whether a raw combination needed it (the audit uses that for stored labels).
    All-false is allowed: it is the label of TRACS ``NONE`` rows.
    """

    model_config = ConfigDict(frozen=True)

    science: bool = False
    instrumentation: bool = False
    mention: bool = False
    not_telescope: bool = False

    @model_validator(mode="after")
    def _apply_precedence(self) -> TelescopeLabels:
        if self.science or self.instrumentation:
            object.__setattr__(self, "mention", False)
            object.__setattr__(self, "not_telescope", False)
        elif self.mention:
            object.__setattr__(self, "not_telescope", False)
        return self

    @staticmethod
    def conflicts(science: bool, instrumentation: bool, mention: bool, not_telescope: bool) -> bool:
        """True when a raw combination breaks precedence and would be normalised."""
        if science or instrumentation:
            return mention or not_telescope
        return mention and not_telescope

    @classmethod
    def only(cls, *labels: Label | str) -> TelescopeLabels:
        return cls(**{str(label): True for label in labels})

    def as_dict(self) -> dict[str, bool]:
        return {label.value: bool(getattr(self, label.value)) for label in LABELS}

    @property
    def positives(self) -> list[Label]:
        return [label for label in LABELS if getattr(self, label.value)]

    @property
    def primary(self) -> str:
        """A single display name: the first positive label, or ``none``."""
        positives = self.positives
        return positives[0].value if positives else "none"


class LabelConfidence(BaseModel):
    """Probability-like confidence (0..1) that each label is true."""

    science: float = Field(0.0, ge=0.0, le=1.0)
    instrumentation: float = Field(0.0, ge=0.0, le=1.0)
    mention: float = Field(0.0, ge=0.0, le=1.0)
    not_telescope: float = Field(0.0, ge=0.0, le=1.0)

    def of(self, label: Label | str) -> float:
        return float(getattr(self, str(label)))

    def decided(self, labels: TelescopeLabels) -> float:
        """Confidence of the decision as a whole: the weakest of the four calls."""
        return min(
            self.of(lab) if getattr(labels, lab.value) else 1.0 - self.of(lab) for lab in LABELS
        )


HitKind = Literal["alias", "instrument", "false_positive", "grant"]


class Hit(BaseModel):
    """One registry term found in a text field, with offsets into that field."""

    model_config = ConfigDict(frozen=True)

    telescope: str
    field: TextField
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    term: str
    kind: HitKind
    #: term also belongs to another telescope (e.g. FGS on HST and JWST)
    shared: bool = False
    #: the hit names software called after the telescope (WebbPSF): a real reference,
    #: never evidence of using the telescope's data on its own
    package: bool = False

    @property
    def is_real(self) -> bool:
        """A hit that may refer to the telescope itself (not a trap, not a grant)."""
        return self.kind in ("alias", "instrument")


class Snippet(BaseModel):
    """A window of sentences around one or more hits.

    ``text == paper.<field>[start:end]``: offsets point into the original,
    unmodified field so a quote can always be located and highlighted.
    """

    telescope: str
    field: TextField
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    hits: list[Hit]
    #: rank score set by the ranking stage (higher is more relevant)
    score: float = 0.0

    @property
    def real_hits(self) -> list[Hit]:
        return [h for h in self.hits if h.is_real and not h.shared]

    @property
    def only_false_positive(self) -> bool:
        return bool(self.hits) and all(h.kind == "false_positive" for h in self.hits)

    @property
    def only_grant(self) -> bool:
        return bool(self.hits) and all(h.kind == "grant" for h in self.hits)

    @property
    def kind(self) -> str:
        """``real``, ``false_positive``, ``grant`` or ``mixed`` (traps and grants only)."""
        if self.real_hits:
            return "real"
        if self.only_false_positive:
            return "false_positive"
        if self.only_grant:
            return "grant"
        return "mixed"


class Pair(BaseModel):
    """One unit of work: a paper and one candidate telescope, maybe with gold labels."""

    paper: Paper
    telescope: str = Field(min_length=1)
    gold: TelescopeLabels | None = None

    @property
    def pair_id(self) -> str:
        return pair_id(self.paper.bibcode, self.telescope)


def pair_id(bibcode: str, telescope: str) -> str:
    return f"{bibcode}_{telescope}"


def split_pair_id(value: str) -> tuple[str, str]:
    """Split a Kaggle ``Id`` on its LAST underscore: bibcodes may contain ``_``-free
    punctuation like ``&`` and ``.``, the suffix is always the telescope."""
    bibcode, sep, telescope = value.rpartition("_")
    if not sep or not bibcode or not telescope:
        raise ValueError(f"Id {value!r} is not of the form <bibcode>_<TELESCOPE>")
    return bibcode, telescope


class Evidence(BaseModel):
    """A quote supporting a verdict, located in the paper."""

    quote: str
    field: TextField | None = None
    start: int | None = None
    end: int | None = None
    #: the quote was found in the source text (after normalisation)
    verified: bool = False
    #: which label the quote supports, when the tier says so
    supports: Label | None = None


LinkKind = Literal["instrument", "programme", "obsid", "doi", "grant"]
#: the kinds a telescope bibliography records as data links (``grant`` is funding only)
DATA_LINK_KINDS: tuple[LinkKind, ...] = ("instrument", "programme", "obsid", "doi")
LinkSource = Literal["rules", "llm"]


class Link(BaseModel):
    """One bibliography link of a pair, with the quote it was read from.

    ``value`` is canonical: an instrument's registry name (``WFC3``), ``TELESCOPE:NUMBER``
    for programme, observation and grant ids (``HST:14915``, ``CHANDRA:1234``), a
    lower-cased DOI. ``quote == paper.<field>[start:end]`` and holds the value (as
    written: a spelled-out name, a DOI broken across lines); a link that cannot be
    verified so is never attached to a verdict.
    """

    model_config = ConfigDict(frozen=True)

    kind: LinkKind
    value: str = Field(min_length=1)
    quote: str
    field: TextField
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    #: the quote was found at its offsets and holds the value
    verified: bool = False
    #: which tier found it
    source: LinkSource = "rules"


class LLMCall(BaseModel):
    """One request to a model, as it was answered."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: prompt tokens the provider read from its prompt cache (part of ``prompt_tokens``)
    cached_tokens: int = 0
    #: prompt tokens the provider wrote to its prompt cache (Anthropic; part of ``prompt_tokens``)
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0


class Usage(BaseModel):
    """LLM usage of one pair (all zero for local tiers), with the calls it made."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: of ``prompt_tokens``, read from the provider's prompt cache (billed at its cached rate)
    cached_tokens: int = 0
    #: of ``prompt_tokens``, written to the provider's prompt cache (Anthropic)
    cache_write_tokens: int = 0
    cost_usd: float | None = 0.0
    #: every call behind these totals (a paper-mode call is listed on its first pair only)
    call_log: list[LLMCall] = Field(default_factory=list)


class ErrorInfo(BaseModel):
    kind: str
    message: str


class Classification(BaseModel):
    """The verdict for one pair, with everything needed to trust or audit it."""

    pair_id: str
    bibcode: str
    telescope: str
    #: None only when ``error`` is set
    labels: TelescopeLabels | None = None
    confidence: LabelConfidence = Field(default_factory=LabelConfidence)
    evidence: list[Evidence] = Field(default_factory=list)
    #: bibliography links (science/instrumentation pairs only), in order of first mention
    links: list[Link] = Field(default_factory=list)
    reason: str = ""
    #: provenance
    tier: str = "rules"
    model: str | None = None
    prompt_name: str | None = None
    prompt_hash: str | None = None
    registry_hash: str | None = None
    #: timing and usage
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    elapsed_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    n_snippets: int = 0
    error: ErrorInfo | None = None
    #: the stored labels, carried along when the input had them
    gold: TelescopeLabels | None = None
    source: str = ""

    @field_validator("telescope")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def ok(self) -> bool:
        return self.error is None and self.labels is not None

    def link_values(self, kind: LinkKind) -> list[str]:
        """The values of one kind of link, each once, in order."""
        return list(dict.fromkeys(link.value for link in self.links if link.kind == kind))

    @classmethod
    def failed(
        cls, pair_id_: str, bibcode: str, telescope: str, error: Exception, **extra: object
    ) -> Classification:
        kind = getattr(error, "kind", type(error).__name__)
        return cls(
            pair_id=pair_id_,
            bibcode=bibcode,
            telescope=telescope or "?",
            error=ErrorInfo(kind=str(kind), message=str(error)),
            **extra,
        )


#: a pair to classify, or an input row that already failed (kept in place, in order)
PairOrFailure = Pair | Classification
#: a pair with the snippets found for it (what the LLM tier and the cascade take)
PairSnippets = tuple[Pair, list[Snippet]]
