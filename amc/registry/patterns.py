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
- needles: when no alternative's required literal ("archival", "pipeline") is in the
  text, nothing can match and nothing is run.

``tests/test_registry_patterns.py`` compares them with the plain union on seeded
adversarial text. Callers get spans, never match objects (the matched text may be
the proxy text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

_parser: Any = getattr(re, "_parser", None)  # the regex parser of the running Python
_c: Any = getattr(re, "_constants", None)

Span = tuple[int, int]
Needles = frozenset[str]

#: non-ASCII characters that ``re.IGNORECASE`` matches to an ASCII letter
_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"
_FOLDING = re.compile(f"[{_FOLDS_TO_ASCII}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_WORD, _DIGIT, _SPACE = re.compile(r"\w"), re.compile(r"\d"), re.compile(r"\s")
#: proxy candidates, in order of preference, for each kind of non-ASCII character
_PROXIES = {
    "word": "_qjxzvkwyfbgpmhucdlrsntoiea",
    "digit": "7385926140",
    "space": "\v\f\r\t ",
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
        fast = _hoisted(self.patterns, flags)
        self._unicode = re.compile(fast, flags)
        self._fold = bool(self._unicode.flags & re.IGNORECASE)
        named = _named_chars(self.pattern, flags)
        self._ascii = _ascii_union(fast, flags, named)
        #: characters before the searched part that a match may read (\b, look-behinds)
        self._behind = 1 + _lookbehind_width(self.pattern, flags)
        self._proxies = _proxies(named[0], named[1]) if self._ascii and named else {}
        self._named = named[0] if named else frozenset()
        needles = [required_literals(p, flags) for p in self.patterns]
        #: literals one of which every match contains; None when some alternative has none
        self._needles: tuple[str, ...] | None = (
            None if any(n is None for n in needles) else tuple({x for n in needles if n for x in n})
        )
        self._proxy_of: dict[str, str | None] = {}

    @property
    def ascii_rules(self) -> bool:
        """Whether texts are searched with ASCII rules (through proxies) when possible."""
        return self._ascii is not None

    def spans(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[Span]:
        """The ``(start, end)`` of every match in ``text[pos:endpos]``, as ``finditer``."""
        end = len(text) if endpos is None else endpos
        if not self._may_match(text, pos, end):
            return iter(())
        # only the searched part is given proxies, with the characters before it that a
        # match may look at (\b, look-behinds): a window of a long paper costs its size
        start = max(0, pos - self._behind)
        piece = text[start:end] if start or end < len(text) else text
        proxy = self._ascii_proxy(piece)
        if proxy is None:
            return (m.span() for m in self._unicode.finditer(text, pos, end))
        assert self._ascii is not None
        found = self._ascii.finditer(proxy, pos - start, end - start)
        return ((m.start() + start, m.end() + start) for m in found)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Span | None:
        """The span of the first match, or None."""
        return next(self.spans(text, pos, endpos), None)

    def count(self, text: str, cap: int | None = None) -> int:
        """Matches in ``text`` (non-overlapping, as ``finditer``), counting at most ``cap``."""
        return sum(1 for _ in islice(self.spans(text), cap))

    def _may_match(self, text: str, pos: int, end: int) -> bool:
        """False when no alternative's needles are in ``text[pos:end]``."""
        if self._needles is None:
            return True
        window = text[pos:end] if pos or end < len(text) else text
        if self._fold:
            if not window.isascii() and _FOLDING.search(window):
                return True  # lower() would not show the ASCII letter it matches as
            window = window.lower()
        return any(n in window for n in self._needles)

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


def _hoisted(patterns: Sequence[str], flags: int) -> str:
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
        split = _after_boundary(pattern, flags)
        if split is None:
            flush()
            parts.append(f"(?:{pattern})")
        else:
            run.append(split)
    flush()
    return "|".join(parts)


def _after_boundary(pattern: str, flags: int) -> tuple[str, bool] | None:
    """For ``\\b<rest>`` (no top-level ``|``): ``rest`` and whether its matches start with
    a word character; None for any other pattern."""
    if not pattern.startswith("\\b") or _parser is None or _c is None:
        return None
    try:
        items = list(_parser.parse(pattern, flags))
        re.compile(pattern[2:], flags)
    except Exception:  # an internal API: any surprise means "leave it as it is"
        return None
    if not items or items[0] != (_c.AT, _c.AT_BOUNDARY):
        return None
    word, nullable = _first_char_is_word(items[1:])
    return pattern[2:], word and not nullable


def _first_char_is_word(items: list[tuple[Any, Any]]) -> tuple[bool, bool]:
    """(whether the first character a sequence consumes is always an ASCII word character,
    whether the sequence can match the empty string)."""
    for op, av in items:
        word, nullable = _item_first(op, av)
        if not word:
            return False, False
        if not nullable:
            return True, False
    return True, True


def _item_first(op: Any, av: Any) -> tuple[bool, bool]:
    if op is _c.LITERAL:
        return _ascii_word(av), False
    if op is _c.IN:
        return all(_member_is_word(item_op, item) for item_op, item in av), False
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return True, True
    if op is _c.SUBPATTERN:
        return _first_char_is_word(list(av[3]))
    if op is _c.BRANCH:
        firsts = [_first_char_is_word(list(b)) for b in av[1]]
        return all(w for w, _ in firsts), any(n for _, n in firsts)
    if op in _REPEATS:
        word, nullable = _first_char_is_word(list(av[2]))
        return word, nullable or av[0] == 0
    return False, False


def _member_is_word(op: Any, item: Any) -> bool:
    if op is _c.LITERAL:
        return _ascii_word(item)
    if op is _c.RANGE:
        return all(_ascii_word(c) for c in range(item[0], item[1] + 1))
    return op is _c.CATEGORY and item in (_c.CATEGORY_WORD, _c.CATEGORY_DIGIT)


def _ascii_word(code: int) -> bool:
    return code < 128 and (chr(code).isalnum() or code == ord("_"))


# -- ASCII rules ------------------------------------------------------------------------


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


def _lookbehind_width(pattern: str, flags: int) -> int:
    """The widths of the pattern's look-behinds added up (how far back of where it is
    tried a match may read); 0 when it cannot be told (then the Unicode path is used)."""
    if _parser is None or _c is None:
        return 0
    total = 0

    def walk(items: Any) -> None:
        nonlocal total
        for op, av in items:
            if op in (_c.ASSERT, _c.ASSERT_NOT) and av[0] < 0:
                total += int(av[1].getwidth()[1])
            for sub in _children_or_none(op, av):
                walk(sub)

    try:
        walk(_parser.parse(pattern, flags))
    except Exception:  # an internal API: the Unicode path never needs it
        return 0
    return total


def _children_or_none(op: Any, av: Any) -> list[Any]:
    try:
        return _children(op, av)
    except _NeedsUnicode:
        return []


def _inert(char: str) -> bool:
    """Neither a word character, nor a space, nor cased: ASCII rules treat it alike."""
    return not (_WORD.match(char) or _SPACE.match(char) or char.lower() != char.upper())


def _named_chars(pattern: str, flags: int) -> tuple[frozenset[str], list[Span]] | None:
    """Every character the pattern names (literals, class members) and its class ranges;
    None when it cannot be told (back-references, an unknown construct)."""
    if _parser is None or _c is None:
        return None
    try:
        parsed = _parser.parse(pattern, flags)
    except Exception:  # an internal API: any surprise means "use the Unicode path"
        return None
    chars: set[int] = set()
    ranges: list[Span] = []
    try:
        _walk(list(parsed), chars, ranges)
    except _NeedsUnicode:
        return None
    return frozenset(map(chr, chars)), ranges


def _walk(items: list[tuple[Any, Any]], chars: set[int], ranges: list[Span]) -> None:
    """Collect the characters ``items`` name; ``_NeedsUnicode`` on a construct proxies
    cannot serve."""
    for op, av in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL):
            chars.add(av)
        elif op is _c.IN:
            for item_op, item in av:
                if item_op is _c.LITERAL:
                    chars.add(item)
                elif item_op is _c.RANGE:
                    ranges.append(item)
                elif item_op not in (_c.NEGATE, _c.CATEGORY):
                    raise _NeedsUnicode
        elif op not in (_c.AT, _c.ANY):
            for sub in _children(op, av):
                _walk(list(sub), chars, ranges)


def _children(op: Any, av: Any) -> list[Any]:
    """The sub-sequences of a compound item; raises on constructs not handled here."""
    if op is _c.BRANCH:
        return list(av[1])
    if op is _c.SUBPATTERN:
        return [av[3]]
    if op in _REPEATS:
        return [av[2]]
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [av[1]]
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return [av]
    raise _NeedsUnicode  # back-references, conditionals and anything unknown


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


_REPEATS = tuple(
    op
    for op in (getattr(_c, n, None) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"))
    if op is not None
)


# -- needles ----------------------------------------------------------------------------


def required_literals(pattern: str, flags: int = 0) -> Needles | None:
    """Literal texts one of which every match of ``pattern`` contains, or None when no such
    set is known. Lower-cased (and ASCII only) when the pattern ignores case."""
    if _parser is None or _c is None:
        return None
    try:
        parsed = _parser.parse(pattern, flags)
        fold = bool(parsed.state.flags & re.IGNORECASE)
        needles = _sequence(list(parsed), fold)
    except Exception:  # an internal API: any surprise means "no needles", never an error
        return None
    if needles is None:
        return None
    if fold:
        if not all(n.isascii() for n in needles):
            return None
        needles = frozenset(n.lower() for n in needles)
    return needles


def _sequence(items: list[tuple[Any, Any]], fold: bool) -> Needles | None:
    """The most selective needles of a sequence of parsed regex items (the set whose
    shortest member is longest): a run of literals, or the needles of a group or
    alternation every match must go through."""
    best: Needles | None = None
    run: list[str] = []

    def consider(candidate: Needles | None) -> None:
        nonlocal best
        if (candidate and all(candidate)) and (
            best is None or min(map(len, candidate)) > min(map(len, best))
        ):
            best = candidate

    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: the literals around it are adjacent in the text
        consider(frozenset(["".join(run)]) if run else None)
        run = []
        if op is _c.SUBPATTERN:
            if av[1] & re.IGNORECASE and not fold:
                continue  # case rules change inside: no needles from it
            consider(_sequence(list(av[3]), fold))
        elif op is _c.BRANCH:
            branches = [_sequence(list(b), fold) for b in av[1]]
            if all(b is not None for b in branches):
                consider(frozenset(n for b in branches if b is not None for n in b))
        elif op in _REPEATS and av[0] >= 1:
            consider(_sequence(list(av[2]), fold))
    consider(frozenset(["".join(run)]) if run else None)
    return best
