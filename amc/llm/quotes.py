"""Find the model's quotes in the paper, with offsets into the original text.

Models copy quotes imperfectly in harmless ways (curly quotes, dashes,
ligatures, case, line breaks, words hyphenated at a line end), so quote and
source are both normalised before searching; the source keeps a map from
every normalised character back to its original offset, so a found quote
becomes ``Evidence(field, start, end, verified=True)`` that highlights the
right characters. A quote with ``...`` is found when its parts appear in
order within a short distance. Anything else is ``verified=False``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from amc.models import TEXT_FIELDS, Evidence, Label, Paper, TextField

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "~": " ",  # LaTeX non-breaking space left in converted sources
    }
)
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|\u2026|\[\s*\.\.\.\s*\])\s*")
#: most characters between two parts of an elided quote
_MAX_GAP = 400
#: quotes shorter than this (normalised) are too unspecific to count as evidence
MIN_QUOTE_CHARS = 12


@dataclass(frozen=True)
class NormalisedText:
    """A normalised text and, for each of its characters, the original offset."""

    text: str
    offsets: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.offsets[start], self.offsets[end - 1] + 1


def normalise(text: str) -> NormalisedText:
    """NFKC, ASCII quotes/dashes, lower case, whitespace runs to one space, and
    line-end hyphenation ("spectro-\\ngraph") joined; offsets map back to ``text``."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        for out in unicodedata.normalize("NFKC", char).translate(_TRANSLATE).lower():
            if out.isspace() or unicodedata.category(out) == "Cf":
                if out.isspace() and chars and chars[-1] != " ":
                    chars.append(" ")
                    offsets.append(i)
                continue
            chars.append(out)
            offsets.append(i)
    joined, kept = _join_hyphenation("".join(chars), offsets, text)
    return NormalisedText(joined, tuple(kept))


def _join_hyphenation(text: str, offsets: list[int], original: str) -> tuple[str, list[int]]:
    """Drop "- " between two letters when the original had a line break there."""
    drop: set[int] = set()
    for m in re.finditer(r"(?<=[a-z])- (?=[a-z])", text):
        if "\n" in original[offsets[m.start()] : offsets[m.start() + 1] + 1]:
            drop.update((m.start(), m.start() + 1))
    if not drop:
        return text, offsets
    keep = [i for i in range(len(text)) if i not in drop]
    return "".join(text[i] for i in keep), [offsets[i] for i in keep]


def normalise_quote(quote: str) -> str:
    """The quote normalised like the source (hyphenation inside a quote is kept)."""
    return normalise(quote).text.strip(" \"'")


class QuoteLocator:
    """Finds quotes in one paper; each field is normalised once, on first use."""

    def __init__(self, paper: Paper, fields: tuple[TextField, ...] = TEXT_FIELDS) -> None:
        self.paper = paper
        self.fields = fields
        self._norm: dict[str, NormalisedText] = {}

    def locate(self, quote: str, supports: Label | str | None = None) -> Evidence:
        """An ``Evidence`` for ``quote``: verified with original offsets, or unverified."""
        label = Label(supports) if supports else None
        parts = [normalise_quote(p) for p in _ELLIPSIS.split(quote)]
        parts = [p for p in parts if p]
        if sum(len(p) for p in parts) >= MIN_QUOTE_CHARS:
            for field in self.fields:
                span = self._find(field, parts)
                if span is not None:
                    return Evidence(
                        quote=quote, field=field, start=span[0], end=span[1],
                        verified=True, supports=label,
                    )  # fmt: skip
        return Evidence(quote=quote, verified=False, supports=label)

    def _find(self, field: TextField, parts: list[str]) -> tuple[int, int] | None:
        source = self._normalised(field)
        if not source.text:
            return None
        first = source.text.find(parts[0])
        while first >= 0:
            end = self._find_rest(source.text, parts, first + len(parts[0]))
            if end is not None:
                return source.original_span(first, end)
            first = source.text.find(parts[0], first + 1)
        return None

    @staticmethod
    def _find_rest(text: str, parts: list[str], pos: int) -> int | None:
        for part in parts[1:]:
            found = text.find(part, pos, pos + _MAX_GAP + len(part))
            if found < 0:
                return None
            pos = found + len(part)
        return pos

    def _normalised(self, field: TextField) -> NormalisedText:
        if field not in self._norm:
            self._norm[field] = normalise(self.paper.text(field))
        return self._norm[field]
