"""Count several ``PatternUnion``s' matches in one text with one scan.

Snippet ranking counts five cue lists in every snippet. ``count_each`` runs a lookahead
of all their alternatives once: it gives every position where any of them matches, and
each union's ``finditer`` is replayed over those positions only (its leftmost match
from any offset is at one of them). ``tests/test_registry_patterns.py`` compares the
counts with each union's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from amc.registry.lowering import lower_pattern
from amc.registry.patterns import PatternUnion, hoisted
from amc.registry.re2_search import Re2Union
from amc.registry.regex_shape import can_match_empty


def count_each(unions: Sequence[PatternUnion], text: str, cap: int) -> list[int]:
    """``[u.count(text, cap) for u in unions]``: on ASCII text, RE2 counts the unions it
    takes (``PatternUnion.fast``), and one scan of the text serves the others that run
    lower-cased: a lookahead of all their alternatives finds every position where one of
    them matches, and each union's ``finditer`` is replayed over those positions only
    (its leftmost match from any offset is at one of them)."""
    if text.isascii() and any(u.fast is not None for u in unions):
        lowered = text.lower()
        if Re2Union.usable(lowered):
            # RE2 counts a union's matches sooner than a ``re`` scan finds them; the
            # others are counted together as below
            rest = [u for u in unions if u.fast is None]
            counted = iter(count_each(rest, text, cap) if rest else ())
            return [next(counted) if u.fast is None else u.fast.count(lowered, cap)
                    for u in unions]  # fmt: skip
    merged = _merged_lookahead(tuple(unions)) if text.isascii() else None
    if merged is None:
        return [u.count(text, cap) for u in unions]
    scan, members = merged
    lowered = text.lower()
    positions = [m.start() for m in scan.finditer(lowered)]
    counts = []
    for union in unions:
        if union not in members:
            counts.append(union.count(text, cap))
            continue
        assert union.lowered is not None
        found, pos = 0, 0
        for p in positions:
            if found >= cap:
                break
            if p < pos:
                continue
            m = union.lowered.match(lowered, p)
            if m is not None:
                found, pos = found + 1, m.end()
        counts.append(found)
    return counts


def prepare_counts(unions: Sequence[PatternUnion]) -> None:
    """Compile the scans ``count_each`` runs for these unions (in this order) now: the one
    of them all, and the one of those RE2 does not count."""
    _merged_lookahead(tuple(unions))
    _merged_lookahead(tuple(u for u in unions if u.fast is None))


def _may_be_empty(pattern: re.Pattern[str]) -> bool:
    return can_match_empty(pattern.pattern, pattern.flags) is not False


@lru_cache(maxsize=256)
def _merged_lookahead(
    unions: tuple[PatternUnion, ...],
) -> tuple[re.Pattern[str], frozenset[PatternUnion]] | None:
    """The lookahead scan of ``count_each`` and the unions it serves: those that run
    lower-cased with the same flags and cannot match the empty string (a replayed
    ``finditer`` would step differently); None for fewer than two."""
    members = [u for u in unions if u.lowered is not None and not _may_be_empty(u.lowered)]
    flags = {u.lowered.flags for u in members if u.lowered is not None}
    if len(members) < 2 or len(flags) > 1:
        return None
    lowered = [lower_pattern(p) for u in members for p in u.patterns]
    source = hoisted([p for p in lowered if p is not None], 0)
    return re.compile(f"(?={source})", flags.pop()), frozenset(members)
