"""Registry terms: a name to look for, and the regex helpers every registry entry uses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from amc.registry.patterns import PatternUnion


class Term(BaseModel):
    """A name to look for. A plain string in the file means a term with defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1)
    case_sensitive: bool = False
    word_boundary: bool = True
    #: the term is a regular expression rather than literal text
    regex: bool = False
    #: the term also names something of another telescope (FGS on HST and JWST);
    #: such hits are shown but never make a pair a candidate on their own
    shared: bool = False

    @model_validator(mode="after")
    def _check_regex(self) -> Term:
        if self.regex:
            try:
                re.compile(self.term)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.term!r}: {exc}") from None
        return self

    def core_pattern(self) -> str:
        """The term itself, without boundaries or case flags."""
        return self.term if self.regex else literal_pattern(self.term)


#: what separates the words of a literal term in the text: any run of white space,
#: hyphens, dashes or LaTeX's ``~``
WORD_GAP = r"[\s~\-\u2010-\u2013]+"
_TERM_GAP = re.compile(r"[\s\-\u2010-\u2013]+")


def literal_pattern(text: str) -> str:
    """Escape a literal term, letting any run of whitespace or a hyphen match flexibly."""
    return WORD_GAP.join(re.escape(p) for p in _TERM_GAP.split(text.strip()))


def first_word(text: str) -> str:
    """What ``literal_pattern(text)`` matches verbatim before its first word gap."""
    return _TERM_GAP.split(text.strip())[0]


def literal_trie(texts: Sequence[str]) -> str | None:
    """``(?:t1|t2|...)`` of ``literal_pattern`` terms, longest first, written as a trie
    (``h(?:ubble|st)``): the same matches, found in a third less time, since Python's
    ``re`` tries each alternative at each position and a trie shares their prefixes.
    None when a term holds a ``~`` (it and a word gap could match the same text, and the
    trie would not always take the longer)."""
    root: dict[str | None, Any] = {}
    for text in texts:
        parts = _TERM_GAP.split(text.strip())
        if any("~" in p or not p for p in parts):
            return None
        node = root
        for i, part in enumerate(parts):
            for token in ([None] if i else []) + list(part):  # None: a word gap
                node = node.setdefault(token, {})
        node[_END] = {}
    return "(?:" + _trie(root) + ")"


_END = "\0end"


def _trie(node: dict[str | None, Any]) -> str:
    """The pattern of a trie node: its branches (characters before a gap), then nothing
    if a term ends here; greedy, so the longest term that matches is taken."""
    characters = sorted(t for t in node if t is not None and t != _END)
    branches = [re.escape(t) + _trie(node[t]) for t in characters]
    if None in node:  # the word gap last
        branches.append(WORD_GAP + _trie(node[None]))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if _END in node else body


def check_regexes(patterns: list[str]) -> list[str]:
    """Every pattern compiles; the error names the item, so the file can be fixed."""
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"item {i}: invalid regular expression {pattern!r}: {exc}") from None
    return patterns


def as_term(value: Any) -> Any:
    return {"term": value} if isinstance(value, str) else value


def union_pattern(patterns: Sequence[str], flags: int = 0) -> PatternUnion | None:
    """The patterns searched as one alternation (None for an empty list), fast: for the
    lists searched in every hit's window (``amc.registry.patterns``)."""
    if not patterns:
        return None
    return PatternUnion(patterns, flags)


def regex_union(patterns: Sequence[str], flags: int = 0) -> re.Pattern[str] | None:
    """The patterns as one compiled alternation (None for an empty list), for callers that
    need ``re.Match`` objects (the rules tier's reading, link contexts)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), flags)
