"""What a regex's parse tree tells about its matches, for ``PatternUnion``'s shortcuts:
where a leading ``\\b`` is and whether matches start with a word character, which
characters it names, how far back its look-behinds read, and literal texts every
match contains.

It reads Python's own regex parser (``re._parser``, internal): any surprise there means
"not known", never an error, and the union then takes its plain path.
"""

from __future__ import annotations

import re
from typing import Any

_parser: Any = getattr(re, "_parser", None)  # the regex parser of the running Python
_c: Any = getattr(re, "_constants", None)

Span = tuple[int, int]
Needles = frozenset[str]


class _Unsupported(Exception):
    """A construct the analysis does not follow (back-references, conditionals, ...)."""


def after_boundary(pattern: str, flags: int) -> tuple[str, bool] | None:
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


def named_chars(pattern: str, flags: int) -> tuple[frozenset[str], list[Span]] | None:
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
    except _Unsupported:
        return None
    return frozenset(map(chr, chars)), ranges


def _walk(items: list[tuple[Any, Any]], chars: set[int], ranges: list[Span]) -> None:
    """Collect the characters ``items`` name; ``_Unsupported`` on a construct proxies
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
                    raise _Unsupported
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
    raise _Unsupported  # back-references, conditionals and anything unknown


def _children_or_none(op: Any, av: Any) -> list[Any]:
    try:
        return _children(op, av)
    except _Unsupported:
        return []


def lookbehind_width(pattern: str, flags: int) -> int:
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


def can_match_empty(pattern: str, flags: int = 0) -> bool | None:
    """Whether ``pattern`` can match the empty string; None when that is not known."""
    if _parser is None:
        return None
    try:
        return bool(_parser.parse(pattern, flags).getwidth()[0] == 0)
    except Exception:  # an internal API: any surprise means "not known"
        return None


def repeats_what_may_be_empty(pattern: str, flags: int = 0) -> bool | None:
    """Whether ``pattern`` repeats (more than once) a part that can match the empty string,
    as ``(?:a|b??)+``: engines differ on when such a loop stops; None when not known."""
    if _parser is None or _c is None:
        return None
    found = False

    def walk(items: Any) -> None:
        nonlocal found
        for op, av in items:
            if op in _REPEATS and av[1] > 1 and av[2].getwidth()[0] == 0:
                found = True
            for sub in _children_or_none(op, av):
                walk(sub)

    try:
        walk(_parser.parse(pattern, flags))
    except Exception:  # an internal API: any surprise means "not known"
        return None
    return found


def leading_digits(pattern: str, flags: int = 0) -> int:
    """How many ASCII digits (``0``-``9``) every match of ``pattern`` starts with: 4 for
    ``[1-9][0-9]{3,4}``; 0 when none or not known (``\\d`` also takes other scripts'
    digits, so it counts as not known)."""
    if _parser is None or _c is None:
        return 0
    try:
        items = list(_parser.parse(pattern, flags))
    except Exception:  # an internal API: any surprise means "not known"
        return 0
    count = 0
    for op, av in items:
        if _is_digit_set(op, av):
            count += 1
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and len(av[2]) == 1 and _is_digit_set(*av[2][0]):
            count += av[0]
            if av[0] != av[1]:
                break  # the digits after it may be more or fewer
        else:
            break
    return count


def _is_digit_set(op: Any, av: Any) -> bool:
    """Whether one parsed item matches exactly one character, and only ASCII digits."""
    zero, nine = ord("0"), ord("9")
    if op == _c.LITERAL:
        return bool(zero <= av <= nine)
    if op != _c.IN:
        return False
    for kind, value in av:
        if kind == _c.LITERAL and zero <= value <= nine:
            continue
        if kind == _c.RANGE and zero <= value[0] <= value[1] <= nine:
            continue
        return False
    return True


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


def case_exact_literals(pattern: str, flags: int = 0) -> Needles | None:
    """Literal texts, in the case written, one of which every match of ``pattern`` contains,
    taken only from its case-sensitive parts (``(?-i:GO|GTO)`` in a pattern that ignores
    case); None when no such set is known."""
    if _parser is None or _c is None:
        return None
    try:
        parsed = _parser.parse(pattern, flags)
        return _sequence(list(parsed), bool(parsed.state.flags & re.IGNORECASE), exact=True)
    except Exception:  # an internal API: any surprise means "no needles", never an error
        return None


def _sequence(items: list[tuple[Any, Any]], fold: bool, exact: bool = False) -> Needles | None:
    """The most selective needles of a sequence of parsed regex items (the set whose
    shortest member is longest): a run of literals, or the needles of a group or
    alternation every match must go through. With ``exact``, only literals matched
    case-sensitively count (``fold``: the items ignore case)."""
    best: Needles | None = None
    run: list[str] = []

    def consider(candidate: Needles | None) -> None:
        nonlocal best
        if (candidate and all(candidate)) and (
            best is None or min(map(len, candidate)) > min(map(len, best))
        ):
            best = candidate

    for op, av in items:
        if op is _c.LITERAL and not (exact and fold):
            run.append(chr(av))
            continue
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue  # zero-width: the literals around it are adjacent in the text
        consider(frozenset(["".join(run)]) if run else None)
        run = []
        if op is _c.SUBPATTERN:
            if exact:
                inner = (fold or bool(av[1] & re.IGNORECASE)) and not av[2] & re.IGNORECASE
                consider(_sequence(list(av[3]), inner, exact))
            elif av[1] & re.IGNORECASE and not fold:
                continue  # case rules change inside: no needles from it
            else:
                consider(_sequence(list(av[3]), fold))
        elif op is _c.BRANCH:
            branches = [_sequence(list(b), fold, exact) for b in av[1]]
            if all(b is not None for b in branches):
                consider(frozenset(n for b in branches if b is not None for n in b))
        elif op in _REPEATS and av[0] >= 1:
            consider(_sequence(list(av[2]), fold, exact))
    consider(frozenset(["".join(run)]) if run else None)
    return best


_REPEATS = tuple(
    op
    for op in (getattr(_c, n, None) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"))
    if op is not None
)
