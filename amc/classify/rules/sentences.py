"""Sentences around a hit, and where their words point: clauses, groups of telescope
names, which name a phrase belongs to. Part of the rules tier (``amc.classify.rules``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import pairwise

from amc.domain.models import Hit, Snippet
from amc.registry.patterns import Matcher, match_spans
from amc.snippets.sentences import sentence_spans

#: at most this many characters either side of a hit count as its sentence
NEAR_CHARS = 300
#: what may stand between two telescope names read as one group ("HST and Spitzer")
_CONNECTOR = re.compile(
    r"[\s,;/&+()\[\]\-–~]*(?:(?:and|or|plus|as\s+well\s+as|with)\b[\s,;/&+()\-–~]*)?(?:the\s+)?",
    re.IGNORECASE,
)
_CONNECTOR_CHARS = 25
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n\s*\n")

Span = tuple[int, int]


#: where a sentence's clauses part: "; ", ", and", ", but", ", while", ", whereas"
_CLAUSE_BREAK = re.compile(r";\s+|,\s+(?:and|but|while|whereas|although|though)\b|\s+whereas\b")


def clause_of(text: str, ours: list[Span]) -> str:
    """The clauses of a sentence that hold this telescope's names, other clauses blanked
    (same length, so offsets still hold)."""
    bounds = [0, *(m.start() for m in _CLAUSE_BREAK.finditer(text)), len(text)]
    kept = [
        (a, b) for a, b in pairwise(bounds)
        if any(a <= start < b for start, _ in ours)
    ]  # fmt: skip
    if len(kept) == len(bounds) - 1:
        return text
    chars = [" "] * len(text)
    for a, b in kept:
        chars[a:b] = text[a:b]
    return "".join(chars)


def names_in(
    ours: list[Span], others: list[Span], text: str, clause: str
) -> tuple[list[Span], list[Span]]:
    """The names that are still in ``clause`` (not blanked)."""

    def kept(spans: list[Span]) -> list[Span]:
        return [(a, b) for a, b in spans if clause[a:b] == text[a:b]]

    return kept(ours), kept(others)


def hit_sentences(snippet: Snippet) -> list[tuple[Span, list[Hit]]]:
    """The sentences (offsets into the snippet) that hold real hits, each with its hits.

    Split by the same offline splitter as the snippet windows, which knows "et al.",
    "e.g." and "Fig.": "observed by Reddy et al. (2012) with HST" is one sentence.
    """
    spans = sentence_spans(snippet.text)
    starts = [a for a, _ in spans]
    out: dict[Span, list[Hit]] = {}
    for hit in snippet.real_hits:
        i = bisect_right(starts, hit.start - snippet.start) - 1
        if 0 <= i < len(spans) and hit.start - snippet.start < spans[i][1]:
            span = spans[i]
        else:  # between sentences (white space a splitter dropped): its own reach
            span = quote_span(
                snippet, hit.start - snippet.start, hit.end - snippet.start, NEAR_CHARS
            )
        out.setdefault(span, []).append(hit)
    return list(out.items())


def local_span(hit: Hit, snippet: Snippet, a: int) -> Span:
    return hit.start - snippet.start - a, hit.end - snippet.start - a


def name_groups(text: str, ours: list[Span], others: list[Span]) -> list[tuple[Span, bool]]:
    """Names of telescopes in a sentence, chained into groups when only connectors
    stand between them ("HST and Spitzer", "HST/WFC3"); each group's span and whether
    it holds this telescope."""
    names = sorted([(s, True) for s in ours] + [(s, False) for s in others])
    groups: list[tuple[Span, bool]] = []
    for (start, end), mine in names:
        if groups and _joined(text, groups[-1][0][1], start):
            (lo, hi), has_mine = groups[-1]
            groups[-1] = ((lo, max(hi, end)), has_mine or mine)
        else:
            groups.append(((start, end), mine))
    return groups


def _joined(text: str, end: int, start: int) -> bool:
    if start <= end:
        return True
    gap = text[end:start]
    return len(gap) <= _CONNECTOR_CHARS and _CONNECTOR.fullmatch(gap) is not None


def attributed(pattern: Matcher | None, text: str, groups: list[tuple[Span, bool]]) -> int:
    """Matches of ``pattern`` whose nearest group of telescope names holds this one."""
    found = 0
    for span in match_spans(pattern, text):
        nearest = min(groups, key=lambda g: (_distance(span, g[0]), not g[1]))
        found += nearest[1]
    return found


def _distance(a: Span, b: Span) -> int:
    if a[0] < b[1] and b[0] < a[1]:
        return 0
    return b[0] - a[1] if a[1] <= b[0] else a[0] - b[1]


def spans(pattern: Matcher | None, text: str) -> list[Span]:
    return list(match_spans(pattern, text))


def has(pattern: Matcher | None, text: str) -> bool:
    return next(match_spans(pattern, text), None) is not None


def count(pattern: Matcher | None, text: str) -> int:
    return sum(1 for _ in match_spans(pattern, text))


def count_outside(pattern: Matcher | None, text: str, skip: list[Span]) -> int:
    return sum(1 for s, _ in match_spans(pattern, text) if not any(a <= s < b for a, b in skip))


def quote_span(snippet: Snippet, start: int, end: int, reach: int = 220) -> Span:
    """Grow [start, end) to the enclosing sentence, at most ``reach`` characters each way."""
    text = snippet.text
    left = max(0, start - reach)
    ends = [m.end() for m in _SENTENCE_END.finditer(text, left, start)]
    lo = ends[-1] if ends else left
    m = _SENTENCE_END.search(text, end, min(len(text), end + reach))
    hi = m.end() if m else _word_end(text, min(len(text), end + reach))
    if not ends and lo > 0:  # no sentence start in reach: do not begin mid-word either
        lo = _word_start(text, lo, start)
    while lo < start and text[lo].isspace():
        lo += 1
    return lo, max(hi, end)


def _word_end(text: str, pos: int) -> int:
    while pos < len(text) and not text[pos].isspace():
        pos += 1
    return pos


def _word_start(text: str, pos: int, limit: int) -> int:
    while pos < limit and not text[pos - 1].isspace():
        pos += 1
    return pos
