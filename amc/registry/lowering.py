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
    out, i, in_class = [], 0, False
    negative: list[bool] = []  # for each open group: whether it is a negative lookaround
    while i < len(pattern):
        c = pattern[i]
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
            elif c == "-" and i + 1 < len(pattern) and out and out[-1] != "[":
                lo, hi = pattern[i - 1], pattern[i + 1]
                if lo.isupper() != hi.isupper():
                    return None
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":  # "[]...]": the first "]" is a member
                out.append("[]")
                i += 2
                continue
        elif c == "(" and pattern[i + 1 : i + 2] == "?" and not pattern.startswith(_SAFE_GROUPS, i):
            if not (relax and pattern.startswith("(?-i:", i) and not any(negative)):
                return None
            out.append("(?:")
            negative.append(False)
            i += 5
            continue
        elif c == "(":
            negative.append(pattern.startswith(("(?!", "(?<!"), i))
        elif c == ")" and negative:
            negative.pop()
        out.append(c.lower())
        i += 1
    return "".join(out)


_ESCAPE_WIDTH = {"x": 2, "u": 4, "U": 8}


def _uncased_code(digits: str, width: int) -> bool:
    """Whether ``digits`` are ``width`` hex digits naming a character without case."""
    if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
        return False
    code = int(digits, 16)
    if code > 0x10FFFF:
        return False
    char = chr(code)
    return char.lower() == char == char.upper()
