"""A union of registry regexes (cues, traps, grant patterns) searched fast and exactly.

Cue phrases, traps and grant patterns are lists of case-insensitive regexes
searched as one alternation. With Unicode rules (``\\w``, ``\\b``, case folding)
Python's ``re`` spends 100-700 ns a character on such a union: ranking a pair's
snippets with the cue lists was a third of the LLM tier's CPU. Three exact
shortcuts, each leaving every match span unchanged:

- the leading ``\\b`` of consecutive alternatives is tested once for all of them, and
  only at word starts when each of them begins with a word character;
- ASCII rules: the union compiled with ``re.ASCII`` is 2-4x faster, and matches the
  same spans on a text whose non-ASCII characters are replaced by ASCII *proxies*
  that behave like them for this union (a word character no pattern names for a
  letter, a space for a space, an unnamed symbol for the rest; characters the
  patterns name, such as an en dash, are kept). A union naming non-ASCII letters or
  using back-references, and a text with a character whose case folds to ASCII
  (İ, ı, ſ, the Kelvin sign), take the Unicode path;
- lower case: a case-insensitive union whose patterns can be lower-cased as text (no
  scoped flags such as ``(?-i:GO)``, no escapes that name cased characters by number)
  runs lower-cased and case-sensitive on the lower-cased ASCII text, 2x faster: ``re``
  skips an alternative whose first character is a literal that does not match only
  when it is case-sensitive. One with ``(?-i:...)`` groups (traps: "Chandra" the
  name, not "chandra") is first searched that way with those groups lower-cased too
  (through RE2, below, without its look-arounds), which finds at least its matches:
  where that finds nothing, it is not run;
- needles: when no alternative's required literal ("archival", "pipeline") is in the
  text, nothing can match and nothing is run (kept only by unions whose needles
  spare the search in at least half the texts: looking for them costs about as much);
- RE2: a lower-cased union, and the prefilter of one with ``(?-i:...)`` groups (its
  patterns without their look-arounds), run through RE2 where RE2 finds what ``re``
  finds (``amc.registry.re2_search``: an automaton, 3-5x faster on these unions).

``amc.registry.counting.count_each`` counts several unions' matches in one text with
one scan (snippet ranking's five cue lists).

``tests/test_registry_patterns.py`` compares them with the plain union on seeded
adversarial text. Callers get spans, never match objects (the matched text may be
the proxy text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import TypeAlias

from amc.registry.lowering import lower_pattern
from amc.registry.re2_search import Re2Union, without_lookarounds
from amc.registry.regex_shape import (
    after_boundary,
    lookbehind_width,
    named_chars,
    required_literals,
)

Span = tuple[int, int]

#: texts a union's needles are tried on before it decides whether they are worth it, and
#: the share of those that must have had none (the union not run) for it to keep them
NEEDLE_TRIAL = 200
NEEDLE_PRUNED = 0.5
#: non-ASCII characters that ``re.IGNORECASE`` matches to an ASCII letter
_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"
_FOLDING = re.compile(f"[{_FOLDS_TO_ASCII}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_WORD, _DIGIT, _SPACE = re.compile(r"\w"), re.compile(r"\d"), re.compile(r"\s")
#: proxy candidates, in order of preference, for each kind of non-ASCII character
_PROXIES = {
    "word": "_qjxzvkwyfbgpmhucdlrsntoiea",
    "digit": "7385926140",
    # not the vertical tab first: RE2's \s leaves it out, and such text runs on ``re``
    "space": "\f\r\t\v ",
    "other": "".join(map(chr, [*range(1, 9), *range(14, 32), 127])) + "`~^|@#$%&!?;:,.",
}


class _NeedsUnicode(Exception):
    """A character of the text has no proxy."""


class PatternUnion:
    """Regexes searched as one alternation (``(?:p1)|(?:p2)|...``) with ``flags``."""

    def __init__(self, patterns: Sequence[str], flags: int = 0) -> None:
        self.patterns = tuple(patterns)
        self.flags = flags
        self.pattern = "|".join(f"(?:{p})" for p in self.patterns)
        fast = hoisted(self.patterns, flags)
        self._unicode = re.compile(fast, flags)
        self._fold = bool(self._unicode.flags & re.IGNORECASE)
        named = named_chars(self.pattern, flags)
        self._ascii = _ascii_union(fast, flags, named)
        #: characters before the searched part that a match may read (\b, look-behinds)
        self._behind = 1 + lookbehind_width(self.pattern, flags)
        self._proxies = _proxies(named[0], named[1]) if self._ascii and named else {}
        #: the ASCII union lower-cased and case-sensitive, for lower-cased proxy text
        self.lowered = _lowered_union(self.patterns, flags) if self._ascii is not None else None
        #: a union kept from running lower-cased only by ``(?-i:...)`` groups: itself with
        #: those lower-cased too, a prefilter on lower-cased ASCII text (no match it misses)
        self._relaxed = (
            _lowered_union(self.patterns, flags, relax=True)
            if self._ascii is not None and self.lowered is None
            else None
        )
        #: ``lowered`` and ``_relaxed`` compiled by RE2 (the same matches, sooner; None
        #: where RE2 cannot stand in: ``amc.registry.re2_search``)
        self.fast = self._re2(relax=False) if self.lowered is not None else None
        #: for a union that runs with ASCII rules but not lower-cased (traps: ``(?-i:...)``
        #: groups), a prefilter on lower-cased text: RE2 of its patterns without their
        #: look-arounds and with those groups lower-cased (finds at least its matches)
        self._prefilter = (
            self._re2(relax=True, strip=True)
            if self._ascii is not None and self.lowered is None
            else None
        )
        self._named = named[0] if named else frozenset()
        needles = [required_literals(p, flags) for p in self.patterns]
        #: literals one of which every match contains; None when some alternative has none
        self._needles: tuple[str, ...] | None = (
            None if any(n is None for n in needles) else tuple({x for n in needles if n for x in n})
        )
        self._proxy_of: dict[str, str | None] = {}
        #: texts checked for needles, and how many had none (the union was not run)
        self._checked = self._pruned = 0

    def _re2(self, relax: bool, strip: bool = False) -> Re2Union | None:
        """The union lower-cased for RE2 (``lower_pattern``; ``strip``: without its
        look-arounds), or None when one of its patterns cannot be."""
        if self.flags != re.IGNORECASE:  # case-sensitive, verbose, ...: ``re`` only
            return None
        patterns = [without_lookarounds(p) for p in self.patterns] if strip else self.patterns
        lowered = [lower_pattern(p, relax) if p is not None else None for p in patterns]
        if any(p is None for p in lowered):
            return None
        return Re2Union.of([p for p in lowered if p is not None])

    @property
    def ascii_rules(self) -> bool:
        """Whether texts are searched with ASCII rules (through proxies) when possible."""
        return self._ascii is not None

    def spans(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Span]:
        """The ``(start, end)`` of every match in ``text[pos:endpos]``, as ``finditer``."""
        prepared = self._prepared(text, pos, endpos)
        if prepared is None:
            return iter(())
        pattern, target, a, b, offset = prepared
        if (fast := self._fast_for(pattern, target, b)) is not None:
            return ((s + offset, e + offset) for s, e in fast.spans(target, a))
        return ((m.start() + offset, m.end() + offset) for m in pattern.finditer(target, a, b))

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Span | None:
        """The span of the first match, or None."""
        prepared = self._prepared(text, pos, endpos)
        if prepared is None:
            return None
        pattern, target, a, b, offset = prepared
        if (fast := self._fast_for(pattern, target, b)) is not None:
            span = fast.search(target, a)
            return None if span is None else (span[0] + offset, span[1] + offset)
        m = pattern.search(target, a, b)
        return None if m is None else (m.start() + offset, m.end() + offset)

    def _fast_for(self, pattern: re.Pattern[str], target: str, endpos: int) -> Re2Union | None:
        """RE2 for a search of ``target`` up to its end with the lower-cased union, when
        RE2 finds there what ``re`` finds."""
        if pattern is not self.lowered or self.fast is None or endpos != len(target):
            return None
        return self.fast if Re2Union.usable(target) else None

    def _prepared(
        self, text: str, pos: int, endpos: int | None
    ) -> tuple[re.Pattern[str], str, int, int, int] | None:
        """(compiled union, text to run it on, its pos and endpos there, the offset back to
        ``text``) for a search of ``text[pos:endpos]``; None when nothing can match."""
        end = len(text) if endpos is None else endpos
        if not self._may_match(text, pos, end):
            return None
        # only the searched part is given proxies, with the characters before it that a
        # match may look at (\b, look-behinds): a window of a long paper costs its size
        start = max(0, pos - self._behind)
        piece = text[start:end] if start or end < len(text) else text
        prefilter, relaxed = self._prefilter, self._relaxed
        if (prefilter is not None or relaxed is not None) and piece.isascii():
            lowered = piece.lower()
            if prefilter is not None and Re2Union.usable(lowered):
                missed = prefilter.search(lowered, pos - start) is None
            elif relaxed is not None:
                missed = relaxed.search(lowered, pos - start, end - start) is None
            else:
                missed = False
            if missed:
                return None
        proxy = self._ascii_proxy(piece)
        if proxy is None:
            return self._unicode, text, pos, end, 0
        assert self._ascii is not None
        if self.lowered is not None:
            return self.lowered, proxy.lower(), pos - start, end - start, start
        return self._ascii, proxy, pos - start, end - start, start

    def count(self, text: str, cap: int | None = None) -> int:
        """Matches in ``text`` (non-overlapping, as ``finditer``), counting at most ``cap``."""
        return sum(1 for _ in islice(self.spans(text), cap))

    def _may_match(self, text: str, pos: int, end: int) -> bool:
        """False when no alternative's needles are in ``text[pos:end]``. Looking for the
        needles costs about as much as running the union: a union whose needles are in
        most texts (common words: "data", "observed") stops looking after
        ``NEEDLE_TRIAL`` texts; one that mostly has none (traps) keeps on."""
        if self._needles is None:
            return True
        window = text[pos:end] if pos or end < len(text) else text
        if self._fold:
            if not window.isascii() and _FOLDING.search(window):
                return True  # lower() would not show the ASCII letter it matches as
            window = window.lower()
        found = any(n in window for n in self._needles)
        self._checked += 1  # not atomic: threads may lose a count, which only delays this
        self._pruned += not found
        if self._checked >= NEEDLE_TRIAL and self._pruned < NEEDLE_PRUNED * self._checked:
            self._needles = None
        return found

    def _ascii_proxy(self, text: str) -> str | None:
        """``text`` with its non-ASCII characters replaced by their proxies; None when the
        union or a character of the text needs Unicode rules."""
        if self._ascii is None:
            return None
        if text.isascii():
            return text
        try:
            return _NON_ASCII.sub(self._replace, text)
        except _NeedsUnicode:
            return None

    def _replace(self, match: re.Match[str]) -> str:
        char = match.group()
        if char not in self._proxy_of:
            self._proxy_of[char] = self._choose_proxy(char)
        proxy = self._proxy_of[char]
        if proxy is None:
            raise _NeedsUnicode
        return proxy

    def _choose_proxy(self, char: str) -> str | None:
        if char in _FOLDS_TO_ASCII:
            return None
        if char in self._named:  # named by a pattern, and neither a letter nor a space
            return char
        if _DIGIT.match(char):
            return self._proxies.get("digit")
        if _WORD.match(char):
            return self._proxies.get("word")
        if _SPACE.match(char):
            return self._proxies.get("space")
        return self._proxies.get("other")


# -- the union's source: leading \b tested once -----------------------------------------


#: what the registry compiles a list of regexes to: ``re`` alternation or ``PatternUnion``
Matcher: TypeAlias = "re.Pattern[str] | PatternUnion"


def match_spans(
    pattern: Matcher | None,
    text: str,
    pos: int = 0,
    endpos: int | None = None,
) -> Iterator[Span]:
    """``(start, end)`` of every match of a compiled regex or a ``PatternUnion`` in
    ``text[pos:endpos]``, as ``finditer`` finds them; none for no pattern."""
    if pattern is None:
        return iter(())
    if isinstance(pattern, PatternUnion):
        return pattern.spans(text, pos, endpos)
    found = pattern.finditer(text, pos, len(text) if endpos is None else endpos)
    return (m.span() for m in found)


def hoisted(patterns: Sequence[str], flags: int) -> str:
    """``(?:p1)|(?:p2)|...`` with each run of consecutive alternatives that start with
    ``\\b`` written ``\\b(?:(?:rest1)|(?:rest2))``, and ``\\b(?=\\w)(?:...)`` when every
    one of them must start with a word character. Same alternatives, same order."""
    parts: list[str] = []
    run: list[tuple[str, bool]] = []

    def flush() -> None:
        if run:
            words = all(word for _, word in run)
            body = "|".join(f"(?:{rest})" for rest, _ in run)
            parts.append(("\\b(?=\\w)" if words else "\\b") + f"(?:{body})")
            run.clear()

    for pattern in patterns:
        split = after_boundary(pattern, flags)
        if split is None:
            flush()
            parts.append(f"(?:{pattern})")
        else:
            run.append(split)
    flush()
    return "|".join(parts)


# -- ASCII rules ------------------------------------------------------------------------


def _lowered_union(
    patterns: Sequence[str], flags: int, relax: bool = False
) -> re.Pattern[str] | None:
    """The case-insensitive union lower-cased and compiled case-sensitive with ASCII
    rules (the same matches on lower-cased ASCII text; with ``relax``, those and maybe
    more: ``lower_pattern``); None when a pattern cannot be lower-cased safely or the
    union is case-sensitive."""
    if not flags & re.IGNORECASE:
        return None
    lowered = [lower_pattern(p, relax) for p in patterns]
    if any(p is None for p in lowered):
        return None
    plain = flags & ~re.IGNORECASE
    try:
        return re.compile(hoisted([p for p in lowered if p is not None], plain), plain | re.ASCII)
    except re.error:
        return None


def _ascii_union(
    source: str, flags: int, named: tuple[frozenset[str], list[Span]] | None
) -> re.Pattern[str] | None:
    """The union compiled with ASCII rules, when proxies can make it exact."""
    if named is None:
        return None
    chars, ranges = named
    if any(not _inert(c) for c in chars if not c.isascii()):
        return None  # a non-ASCII letter, digit or space: its behaviour depends on the rules
    for lo, hi in ranges:
        if hi > 127 and (hi - lo > 4096 or not all(_inert(chr(c)) for c in range(lo, hi + 1))):
            return None
    try:
        return re.compile(source, flags | re.ASCII)
    except re.error:
        return None


def _inert(char: str) -> bool:
    """Neither a word character, nor a space, nor cased: ASCII rules treat it alike."""
    return not (_WORD.match(char) or _SPACE.match(char) or char.lower() != char.upper())


def _proxies(chars: frozenset[str], ranges: list[Span]) -> dict[str, str]:
    """For each kind of character, an ASCII character of that kind the union never names,
    in either case (a pattern may ignore case in part)."""

    def free(candidate: str) -> bool:
        forms = {candidate, candidate.lower(), candidate.upper()}
        return not any(f in chars or any(lo <= ord(f) <= hi for lo, hi in ranges) for f in forms)

    chosen = {}
    for kind, candidates in _PROXIES.items():
        found = next((c for c in candidates if free(c)), None)
        if found is not None:
            chosen[kind] = found
    return chosen
