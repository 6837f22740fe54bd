"""RE2 for a ``PatternUnion``'s lower-cased searches: the same matches, 3-5x sooner.

A registry union (cue phrases, traps, grant patterns) run lower-cased on lower-cased
ASCII text (``amc.registry.patterns``) is searched many times a pair: snippet ranking
counts five of them in every snippet, the trap and grant unions are run around every
term hit, the evidence budget looks for cues in every sentence it offers. Python's
``re`` tries each alternative at each position (~10 ns a character for these unions);
RE2 runs an automaton (~2 ns). RE2 finds the match Python's ``re`` finds (leftmost,
alternatives and quantifiers in Perl's order of preference) for the syntax the two
share and read alike; everything else stays with ``re``:

- a pattern RE2 refuses (look-arounds, back-references, counts over 1,000,
  possessive quantifiers): RE2 is not used for that union;
- syntax RE2 accepts but reads differently: ``$`` (``re`` also matches it before a
  final newline), ``{,n}`` (a literal for RE2), ``[:alpha:]`` classes (a set of
  characters for ``re``): not used either;
- ``\\s``: RE2's leaves out the vertical tab (``\\v``), so a text holding one is
  searched with ``re``;
- only ASCII text: offsets are the same in bytes and characters;
- an empty match: RE2 is only used for unions that cannot match the empty string,
  so a run of matches steps from one match's end to the next search, as ``finditer``,
  and that repeat no part that can (``(?:a|b??)+``: the engines stop such loops
  differently); a count with a leading zero (``a{01}``, a literal for RE2) neither.

``tests/test_registry_patterns.py`` compares the spans with ``re`` on adversarial
text. Without the ``google-re2`` package everything runs on ``re``, only slower.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from amc.registry.regex_shape import can_match_empty, repeats_what_may_be_empty

try:
    import re2 as _re2
except ImportError:  # pragma: no cover - an install without the wheel: ``re`` only
    _re2 = None

Span = tuple[int, int]

#: syntax RE2 accepts and reads unlike ``re`` (see the module docstring)
_READ_OTHERWISE = re.compile(r"\$|\{,|\[:|\{0\d|,0\d")


_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")


def without_lookarounds(pattern: str) -> str | None:
    """``pattern`` with its look-around groups left out: it matches wherever ``pattern``
    does (an assertion dropped only lets more through), so it can tell where ``pattern``
    cannot match (a prefilter, never the matcher). None when a quantifier follows a
    look-around or the groups do not close."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        elif in_class:
            in_class = c != "]"
            out.append(c)
            i += 1
        elif c == "[":
            in_class = True
            j = _after_opening(pattern, i)
            out.append(pattern[i:j])
            i = j
        elif pattern.startswith(_LOOKAROUNDS, i):
            end = _group_end(pattern, i)
            if end is None or pattern[end : end + 1] in ("*", "+", "?", "{"):
                return None
            out.append("(?:)")  # keeps its neighbours apart: "a{(?=2)2}" is no count
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _after_opening(pattern: str, i: int) -> int:
    """Past the opening of the class at ``i``: "[", "[^", and a "]" right after them (in
    "[]...]" and "[^]...]" that "]" is a member)."""
    j = i + 1 + (pattern[i + 1 : i + 2] == "^")
    return j + (pattern[j : j + 1] == "]")


def _group_end(pattern: str, start: int) -> int | None:
    """The index after the ``)`` closing the group opened at ``start``."""
    depth, i, n, in_class = 0, start, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i = _after_opening(pattern, i)
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


#: an escaped backslash, or ``re``'s escape of a character by its code (``\u2013``), which
#: RE2 writes ``\x{2013}``
_CODE_ESCAPE = re.compile(r"\\\\|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")


def _re2_escape(match: re.Match[str]) -> str:
    code = match.group(1) or match.group(2)
    return match.group() if code is None else f"\\x{{{code}}}"


class Re2Union:
    """A lower-cased union compiled by RE2, for lower-cased ASCII text (``usable``)."""

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    @classmethod
    def of(cls, patterns: Sequence[str]) -> Re2Union | None:
        """The alternation of ``patterns`` (lower-cased already, compiled case-sensitive
        with ASCII rules by ``re``), or None when RE2 cannot stand in for ``re``."""
        if _re2 is None or not patterns:
            return None
        source = "|".join(f"(?:{p})" for p in patterns)
        if (
            _READ_OTHERWISE.search(source)
            or can_match_empty(source, re.ASCII) is not False
            or repeats_what_may_be_empty(source, re.ASCII) is not False
        ):
            return None
        source = _CODE_ESCAPE.sub(_re2_escape, source)
        options = _re2.Options()
        options.log_errors = False  # a refused pattern is expected: ``re`` takes it
        options.never_capture = True
        try:
            return cls(_re2.compile(source.encode("utf-8"), options))
        except (_re2.error, UnicodeEncodeError):  # refused, or a lone surrogate
            return None

    @staticmethod
    def usable(text: str) -> bool:
        """Whether RE2 finds ``re``'s matches in ``text``: ASCII without ``\\v``."""
        return text.isascii() and "\v" not in text

    def search(self, text: str, pos: int = 0) -> Span | None:
        """``re``'s ``search(text, pos)`` span for ``usable`` text (the whole text is the
        context, as for ``re``: a ``\\b`` at ``pos`` sees the character before it)."""
        found = self._compiled.search(text.encode("ascii"), pos)
        return None if found is None else found.span()

    def spans(self, text: str, pos: int = 0) -> Iterator[Span]:
        """``re``'s ``finditer(text, pos)`` spans for ``usable`` text."""
        return (m.span() for m in self._compiled.finditer(text.encode("ascii"), pos))

    def count(self, text: str, cap: int) -> int:
        """Matches in ``usable`` text, as ``finditer`` steps, counting at most ``cap``."""
        found = 0
        if cap > 0:
            for _ in self._compiled.finditer(text.encode("ascii")):
                found += 1
                if found >= cap:
                    break
        return found
