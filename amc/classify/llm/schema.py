"""The shape of the model's answer, as pydantic models and a strict JSON schema.

Labels and telescope keys are ``Literal`` types, so the schema sent to the
model already restricts what it may answer. All fields are required and no
extra keys are allowed: that is what OpenAI's ``strict`` structured output
demands, and what a llama.cpp grammar built from the schema enforces.
Precedence between the labels is applied afterwards by ``TelescopeLabels``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    create_model,
)

M = TypeVar("M", bound=BaseModel)
LabelName = Literal["science", "instrumentation", "mention", "not_telescope"]
_STRICT = ConfigDict(extra="forbid")


class AnswerConfidence(BaseModel):
    """The model's probability (0..1) that each label is true."""

    model_config = _STRICT

    science: float = Field(ge=0.0, le=1.0)
    instrumentation: float = Field(ge=0.0, le=1.0)
    mention: float = Field(ge=0.0, le=1.0)
    not_telescope: float = Field(ge=0.0, le=1.0)

    def probability(self, label: str) -> float:
        return float(getattr(self, label))


class PercentConfidence(BaseModel):
    """The model's probability, in per cent (0..100), that each label is true: a whole
    number is one token where "0.93" is three."""

    model_config = _STRICT

    science: int = Field(ge=0, le=100)
    instrumentation: int = Field(ge=0, le=100)
    mention: int = Field(ge=0, le=100)
    not_telescope: int = Field(ge=0, le=100)

    def probability(self, label: str) -> float:
        return float(getattr(self, label)) / 100


class AnswerQuote(BaseModel):
    """A verbatim quote from the snippets and the label it supports."""

    model_config = _STRICT

    quote: str = Field(max_length=600)
    supports: LabelName


class PairAnswer(BaseModel):
    """The answer for one (paper, telescope) pair."""

    model_config = _STRICT

    science: bool
    instrumentation: bool
    mention: bool
    not_telescope: bool
    confidence: AnswerConfidence
    evidence: list[AnswerQuote] = Field(max_length=6)
    reason: str = Field(max_length=800)


class TelescopeAnswer(PairAnswer):
    """A pair answer inside a paper answer; ``telescope`` is narrowed per request."""

    telescope: str


class PaperAnswer(BaseModel):
    """The answer for all candidate telescopes of one paper (``mode="paper"``)."""

    model_config = _STRICT

    results: list[TelescopeAnswer]


@cache
def paper_answer_model(telescopes: tuple[str, ...]) -> type[PaperAnswer]:
    """A ``PaperAnswer`` whose ``telescope`` field only admits ``telescopes``."""
    key_type: Any = Literal[telescopes]
    item = create_model("TelescopeAnswer", __base__=TelescopeAnswer, telescope=(key_type, ...))
    return create_model("PaperAnswer", __base__=PaperAnswer, results=(list[item], ...))


# --- answers that cite numbered sentences (prompt files with ``evidence: sentences``) -----

#: longest reason accepted (the prompt asks for one short sentence)
CITED_REASON_CHARS = 300
#: most citations accepted per telescope
MAX_CITATIONS = 5
#: most instruments and candidate ids accepted per telescope
MAX_INSTRUMENTS = 4
MAX_IDS = 6


class Citation(BaseModel):
    """A sentence of the prompt, by its number, and the label it supports."""

    model_config = _STRICT

    sentence: int = Field(description="the number in [brackets] before a sentence of the paper")
    supports: LabelName


#: an instrument used and the sentence that shows it: ``"WFC3:4"``
INSTRUMENT_USE = re.compile(r"^\s*(?P<name>[^:]+?)\s*:\s*(?P<sentence>\d+)\s*$")
#: a candidate id and its use: ``"P1:data"``, ``"P2:grant"``, ``"P3:no"``
ID_USE = re.compile(r"^\s*(?P<id>P\d+)\s*:\s*(?P<use>data|grant|no)\s*$")


class CitedPairAnswer(BaseModel):
    """The answer for one pair, citing sentence numbers instead of copying quotes (fewer
    answer tokens; the cited sentence is the quote, located by construction). Evidence
    and reason come first: the model writes down what it read before it decides.

    ``instruments`` (``"WFC3:4"``: a canonical instrument name and the sentence that
    shows it) and ``ids`` (``"P1:data"``: a candidate id of the prompt and its use,
    ``data``, ``grant`` or ``no``) are the pair's bibliography links (science and
    instrumentation only), checked by ``links.check_links``. They are strings rather
    than objects because the schema is sent twice with every request and the answer is
    a third of the bill: a list of objects costs about twice the tokens. The schema
    sent requires them (strict structured output); an answer without them (written to
    an earlier prompt) validates with None, and its verdict gets the rules' links."""

    model_config = _STRICT

    evidence: list[Citation] = Field(
        max_length=MAX_CITATIONS,
        description="up to 5 sentences that decide the labels, most telling first",
    )
    reason: str = Field(
        max_length=CITED_REASON_CHARS, description="one short sentence (at most 25 words)"
    )
    science: bool
    instrumentation: bool
    mention: bool
    not_telescope: bool
    confidence: PercentConfidence
    instruments: list[str] | None = Field(default=None, max_length=MAX_INSTRUMENTS)
    ids: list[str] | None = Field(default=None, max_length=MAX_IDS)

    @property
    def gives_links(self) -> bool:
        """Whether the answer has the link fields (answers to earlier prompts do not)."""
        return self.instruments is not None or self.ids is not None


class CitedTelescopeAnswer(CitedPairAnswer):
    """A cited pair answer inside a paper answer. ``telescope`` is a plain string, not an
    enum of the paper's telescopes: the schema is part of the prompt prefix providers
    cache, so it must be the same in every request; ``check_paper_answer`` then wants
    exactly the paper's telescopes."""

    telescope: str


class CitedPaperAnswer(BaseModel):
    """The answer for all candidate telescopes of one paper, citing sentence numbers."""

    model_config = _STRICT

    results: list[CitedTelescopeAnswer]


#: a citation written ``"4:science"``: the sentence's number and the label it supports
_LABELS = "|".join(get_args(LabelName))
CITATION_PATTERN = rf"^\d+:({_LABELS})$"
#: what amc accepts as one (a bracketed number, spaces around the colon)
CITATION = re.compile(rf"^\s*\[?(?P<sentence>\d+)\]?\s*:\s*(?P<supports>{_LABELS})\s*$")


def _citation(value: Any) -> Any:
    """A ``"4:science"`` string as a ``Citation``'s fields (anything else as it is)."""
    if not isinstance(value, str):
        return value
    m = CITATION.match(value)
    if m is None:
        raise ValueError(f"{value!r} is not SENTENCE:LABEL, e.g. '4:science'")
    return {"sentence": int(m["sentence"]), "supports": m["supports"]}


#: a citation the model writes as a string and amc reads as a ``Citation``
CompactCitation = Annotated[
    Citation,
    BeforeValidator(_citation),
    WithJsonSchema({"type": "string", "pattern": CITATION_PATTERN}),
]


class CompactPairAnswer(CitedPairAnswer):
    """``CitedPairAnswer`` whose citations are strings, ``"4:science"`` (prompts with
    ``citations: compact``): an object costs about twice the answer tokens."""

    evidence: list[CompactCitation] = Field(
        max_length=MAX_CITATIONS,
        description="up to 5 sentences that decide the labels, most telling first",
    )


class CompactTelescopeAnswer(CompactPairAnswer):
    """A compact pair answer inside a paper answer (see ``CitedTelescopeAnswer``)."""

    telescope: str


class CompactPaperAnswer(CitedPaperAnswer):
    """The answer for all candidate telescopes of one paper, with compact citations."""

    results: list[CompactTelescopeAnswer]  # type: ignore[assignment]


#: a pair's answer, with quotes (v1 prompts) or with sentence numbers
AnyPairAnswer = PairAnswer | CitedPairAnswer
#: a paper's answer, with quotes (v1 prompts) or with sentence numbers
AnyPaperAnswer = PaperAnswer | CitedPaperAnswer


def answer_token_cap(model: type[BaseModel], telescopes: int = 1) -> int:
    """Enough answer tokens for the longest valid answer of ``model`` for ``telescopes``
    telescopes (the request's ``max_tokens``): the widest instance pretty-printed (a model
    may indent its JSON), at 3.4 characters a token (JSON punctuation and indentation
    tokenise densely), plus a margin."""
    return math.ceil(len(_widest(model)) * telescopes / 3.4) + 32


@cache
def _widest(model: type[BaseModel]) -> str:
    """JSON of a widest valid answer: the longest strings and lists the schema admits."""
    compact = issubclass(model, CompactPairAnswer | CompactPaperAnswer)
    pair = _widest_pair(compact)
    widest = {"results": [pair]} if "results" in model.model_fields else pair
    return json.dumps(widest, indent=2)


def _widest_pair(compact: bool = False) -> dict[str, Any]:
    labels = dict.fromkeys(("science", "instrumentation", "mention", "not_telescope"), False)
    widest: dict[str, Any] = {"sentence": 999, "supports": "instrumentation"}
    citation = "999:instrumentation" if compact else widest
    return {
        "evidence": [citation] * MAX_CITATIONS,
        "reason": "x" * CITED_REASON_CHARS,
        **labels,
        "confidence": dict.fromkeys(labels, 100),
        "instruments": ["NIRSpec:999"] * MAX_INSTRUMENTS,
        "ids": ["P99:grant"] * MAX_IDS,
        "telescope": "TELESCOPE",
    }


def answer_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with ``$ref``s inlined (llama.cpp grammars and some
    providers do not follow references) and titles dropped (noise for the model). The
    schemas of cited answers are compact too: no descriptions, number or list bounds (the
    prompt explains the fields; pydantic checks the bounds on the way back), because the
    schema is sent with every request, in the system message and as the structured-output
    format."""
    schema: dict[str, Any] = json.loads(_answer_schema_json(model))  # a fresh copy per call
    return schema


@cache
def _answer_schema_json(model: type[BaseModel]) -> str:
    # pydantic takes ~3 ms to build a schema: once per answer model, not once per request
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    compact = issubclass(model, CitedPairAnswer | CitedPaperAnswer)
    inlined = _inline(schema, defs, _COMPACT_DROPPED if compact else _DROPPED_KEYWORDS)
    return json.dumps(_all_required(inlined) if compact else inlined)


def _all_required(node: Any) -> Any:
    """Strict structured output wants every property required and no null-able extras:
    an optional field (``list[X] | None = None``) is sent as a required ``list[X]``."""
    if isinstance(node, list):
        return [_all_required(v) for v in node]
    if not isinstance(node, dict):
        return node
    options = node.get("anyOf")
    if options is not None and {"type": "null"} in options and len(options) == 2:
        [kept] = [o for o in options if o != {"type": "null"}]
        return _all_required(kept)
    out = {k: _all_required(v) for k, v in node.items() if k != "default"}
    if "properties" in out:
        out["required"] = list(out["properties"])
    return out


#: ``title`` is noise for the model; OpenAI strict mode rejects ``maxLength`` (pydantic still
#: checks it on the way back, so an overlong quote leads to a re-ask)
_DROPPED_KEYWORDS = frozenset({"title", "maxLength"})
_COMPACT_DROPPED = _DROPPED_KEYWORDS | {"description", "minimum", "maximum", "maxItems"}


def _inline(node: Any, defs: dict[str, Any], dropped: frozenset[str] = _DROPPED_KEYWORDS) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs, dropped)
        out = {k: _inline(v, defs, dropped) for k, v in node.items() if k not in dropped}
        if "const" in out:  # a one-telescope Literal; "enum" is the more widely supported form
            out["enum"] = [out.pop("const")]
        return out
    if isinstance(node, list):
        return [_inline(v, defs, dropped) for v in node]
    return node


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def parse_answer(text: str, model: type[M]) -> M:
    """Validate the model's text as ``model``. Tolerates a Markdown code fence and prose
    around one JSON object; raises ``ValueError`` with a message fit to send back."""
    body = _FENCE.sub("", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start < 0:
        raise ValueError("the answer contains no JSON object")
    if end <= start:
        raise ValueError(
            "the answer's JSON object is cut off before its end (truncated answer): "
            "answer with the complete JSON object"
        )
    try:
        return model.model_validate_json(body[start : end + 1])
    except ValidationError as exc:
        raise ValueError(_validation_summary(exc)) from None


def _validation_summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(answer)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def check_paper_answer(answer: AnyPaperAnswer, telescopes: Sequence[str]) -> None:
    """Every requested telescope answered exactly once, and no other, or ``ValueError``."""
    seen = [r.telescope for r in answer.results]
    missing = [t for t in telescopes if t not in seen]
    repeated = sorted({t for t in seen if seen.count(t) > 1})
    unasked = sorted({t for t in seen if t not in telescopes})
    if missing or repeated or unasked:
        raise ValueError(
            f"results must hold one entry per telescope {list(telescopes)}; "
            f"missing {missing}, repeated {repeated}, not asked for {unasked}"
        )


def example_json(model: type[BaseModel]) -> str:
    """Compact schema text for prompts of servers without structured output."""
    return json.dumps(answer_schema(model), separators=(",", ":"))
