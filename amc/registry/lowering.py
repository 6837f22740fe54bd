"""Lower-casing a case-insensitive regex as text, so that it runs case-sensitive (fast)
on lower-cased text: ``amc.registry.patterns`` runs its unions that way, and RE2 takes
them lower-cased (``amc.registry.re2_search``)."""

from __future__ import annotations

_SAFE_GROUPS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")


def lowers(pattern: str) -> bool:
    """Whether a case-insensitive union holding only patterns like this one runs
    lower-cased (the fast way)."""
    return lower_pattern(pattern) is not None


def lower_pattern(pattern: str, relax: bool = False) -> str | None:
    """``pattern`` with its literal letters lower-cased (escapes such as ``\\S``, and those
    naming an uncased character by number such as ``\\u2013``, kept); None for one that
    lower-casing could change: a group with flags or a name, an escape naming a cased
    character or a property, a back-reference, a class range from an upper-case letter
    to anything but one (``[A-z]``). With ``relax``, a ``(?-i:...)`` group outside every
    negative lookaround is lower-cased too: the result then matches lower-cased text
    wherever the case-insensitive original matches the text, and maybe elsewhere (a
    prefilter, never the matcher)."""
    out, i, in_class, first = [], 0, False, 0
    negative: list[bool] = []  # for each open group: whether it is a negative lookaround
    relaxed: list[bool] = []  # ... and whether it is a ``(?-i:...)`` lower-cased anyway
    previous = 0  # where the class member before the current one starts
    while i < len(pattern):
        c = pattern[i]
        if in_class and c != "-":
            previous = i
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            width = _ESCAPE_WIDTH.get(nxt, 0)
            if width and _uncased_code(pattern[i + 2 : i + 2 + width], width):
                out.append(pattern[i : i + 2 + width])
                i += 2 + width
                continue
            if nxt and nxt in "xuUNpP0123456789":
                return None
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "-" and first < i < len(pattern) - 1 and pattern[i + 1] != "]":
                lo, hi = _member_at(pattern, previous), _member_at(pattern, i + 1)
                if lo is None or hi is None or not _lowers_alike(lo, hi):
                    return None
        elif c == "[":
            in_class = True
            if any(relaxed) and pattern[i + 1 : i + 2] == "^":
                return None  # "(?-i:[^a-z])" matches "A"; lower-cased, no longer "a"
            opening = "[^" if pattern[i + 1 : i + 2] == "^" else "["
            first = i + len(opening)  # the class's first member: a "-" there is literal
            if pattern[first : first + 1] == "]":
                out.append(opening + "]")  # "[]...]", "[^]...]": that "]" is a member
                i = first + 1
                continue
            out.append(opening)
            i = first
            continue
        elif c == "(" and pattern[i + 1 : i + 2] == "?" and not pattern.startswith(_SAFE_GROUPS, i):
            if not (relax and pattern.startswith("(?-i:", i) and not any(negative)):
                return None
            out.append("(?:")
            negative.append(False)
            relaxed.append(True)
            i += 5
            continue
        elif c == "(":
            negative.append(pattern.startswith(("(?!", "(?<!"), i))
            relaxed.append(False)
        elif c == ")" and negative:
            negative.pop()
            relaxed.pop()
        out.append(c.lower())
        i += 1
    return "".join(out)


def _member_at(pattern: str, i: int) -> str | None:
    """The character the class member at ``i`` names (``a``, ``\\-``, ``\\u2013``); None
    for a class escape (``\\w``) or one not read here."""
    if pattern[i] != "\\":
        return pattern[i]
    nxt = pattern[i + 1 : i + 2]
    width = _ESCAPE_WIDTH.get(nxt, 0)
    if width and (char := _code_char(pattern[i + 2 : i + 2 + width], width)) is not None:
        return char
    return nxt if nxt and not nxt.isalnum() else None


def _lowers_alike(lo: str, hi: str) -> bool:
    """Whether the class range ``lo-hi`` means the same lower-cased: from a letter to a
    letter of the same case, or over no ASCII letter (``[0-a]`` holds "A"-"Z", and so
    "b"-"z" ignoring case, but lower-cased only "a")."""
    if lo.isalpha() and hi.isalpha() and lo.isascii() and hi.isascii():
        return lo.isupper() == hi.isupper()
    return not any(chr(x).isalpha() for x in range(ord(lo), min(ord(hi), 127) + 1))


_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}


def _code_char(digits: str, width: int) -> str | None:
    """The character ``width`` hex digits name, or None (not such digits, no character)."""
    if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
        return None
    code = int(digits, 16)
    return chr(code) if code <= 0x10FFFF else None


def _uncased_code(digits: str, width: int) -> bool:
    """Whether ``digits`` are ``width`` hex digits naming a character without case."""
    char = _code_char(digits, width)
    return char is not None and char.lower() == char == char.upper()
