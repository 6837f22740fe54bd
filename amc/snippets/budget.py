"""An evidence budget: the sentences of a pair's ranked snippets that fit a token budget.

A snippet is a window of +/- N sentences around hits, and most of a window is
context. Sending whole windows in rank order spends the budget on the context
of the first snippets and drops the hits of the later ones. Here the budget is
filled sentence by sentence, most telling first: sentences that hold a hit and
an evidence cue (the rules tier's science and instrumentation cue phrases, the
telescope's own evidence patterns: "we observed", "the data were reduced",
programme ids, pipelines), then cue sentences next to a hit, then the other hit
sentences, then rings of plain context, one sentence further out each round, up
to the window; within a round, snippets go in rank order. Each sentence is sent
once: a sentence that repeats one
already chosen (an abstract sentence restated in the body, an acknowledgment
duplicated by a PDF's running text), exactly or nearly, is skipped. The
paper's title comes first when the paper has one: it says what the paper is
about for a few tokens. Every chosen sentence keeps its field and offsets
into the original text, so a citation of it is evidence located by
construction.

Tokens are estimated as characters / ``CHARS_PER_TOKEN`` (no tokenizer needed;
within a few per cent of GPT tokenizers on paper text, see ``bench/llm_cost.py``).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from amc.domain.models import TEXT_FIELDS, Hit, Paper, Snippet, TextField
from amc.registry import Cues, Telescope
from amc.registry.lowering import lowers
from amc.registry.patterns import Matcher, PatternUnion
from amc.snippets.sentences import sentence_spans

#: characters per token of English paper text for GPT-style tokenizers (measured)
CHARS_PER_TOKEN = 4.0
#: a longer sentence (a table row run-on, a reference dump) is cut to this many characters
MAX_SENTENCE_CHARS = 600
#: word-set overlap (Jaccard) at or above which two sentences count as the same one
NEAR_DUPLICATE = 0.8
#: sentences with fewer distinct words are only skipped when repeated exactly
_MIN_WORDS_NEAR = 6
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Sentence:
    """One sentence chosen for the prompt: ``text == paper.<field>[start:end]``."""

    field: TextField
    start: int
    end: int
    text: str
    #: registry hits inside the sentence (any kind), for the prompt's notes
    hits: tuple[Hit, ...] = ()

    @property
    def key(self) -> tuple[int, int, int]:
        """Document order: field, then offset."""
        return (_FIELD_ORDER.get(self.field, len(_FIELD_ORDER)), self.start, self.end)


_FIELD_ORDER = {field: i for i, field in enumerate((*TEXT_FIELDS, "references"))}


def approx_tokens(text: str) -> int:
    """Estimated tokens of ``text`` (characters / ``CHARS_PER_TOKEN``, rounded up)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def evidence_patterns(telescope: Telescope, cues: Cues | None) -> tuple[Matcher, ...]:
    """The patterns that make a sentence an evidence cue for ``telescope``, as few unions
    as keep each fast (``_merged``): a sentence is searched once or twice, not once per
    list."""
    compiled = cues.unions if cues is not None else {}
    # the rules tier's data-use phrases: generic ones, first-person ones ("we observed"),
    # re-analysis and the acknowledgment formulae (``amc/data/telescopes.yaml``, cues)
    lists = ("science", "own_data", "reprocessing", "boilerplate", "instrumentation")
    found = (*(compiled.get(name) for name in lists),
             telescope.compiled.science, telescope.compiled.instrumentation)  # fmt: skip
    return _merged(tuple(p for p in found if p is not None))


@lru_cache(maxsize=256)
def _merged(patterns: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
    """The patterns as few unions as keep each fast: those that run lower-cased (most
    cue phrases) in one, the others (``(?-i:GO)`` ids, "I observed") in another. A
    sentence is a cue when any of them matches, however they are grouped."""
    unions = [p for p in patterns if isinstance(p, PatternUnion)]
    if len(unions) < 2 or len(unions) < len(patterns) or len({p.flags for p in unions}) > 1:
        return patterns
    groups: dict[bool, list[str]] = {True: [], False: []}  # lower-cased or not
    for pattern in (x for p in unions for x in p.patterns):
        groups[lowers(pattern)].append(pattern)
    return tuple(PatternUnion(group, unions[0].flags) for group in groups.values() if group)


def budget_sentences(
    paper: Paper,
    ranked: Sequence[Snippet],
    budget_tokens: int,
    patterns: Sequence[Matcher] = (),
    window: int = 3,
) -> list[Sentence]:
    """The sentences to send for one pair, in document order, within ``budget_tokens``.

    ``ranked`` are the pair's snippets best first (``amc.snippets.ranking``) and
    ``patterns`` the evidence cues (``evidence_patterns``). The title leads; then hit
    sentences with a cue, cue sentences next to a hit, the other hit sentences, and
    rings of context up to ``window`` sentences away. The best snippet whose hits are
    all traps or grants goes second in every round, so the model sees that a "Hubble"
    of the paper is the Hubble constant even when the budget is small.
    """
    chosen: list[Sentence] = []
    seen = _Seen()
    used = 0
    # a sentence offered again (a hit sentence with a cue comes back in the round of all
    # hit sentences; snippets of one paper can share one) gets the same answer as the
    # first time: it was taken, or it repeated one taken, or it did not fit (and the
    # budget left only shrinks): it is skipped before its words are read again
    offered: set[tuple[str, int, int]] = set()
    for sentence in _candidates(paper, ranked, window, patterns):
        if used >= budget_tokens:
            break  # full: no sentence costs nothing
        key = (sentence.field, sentence.start, sentence.end)
        if key in offered:
            continue
        offered.add(key)
        cost = approx_tokens(sentence.text)
        if used + cost > budget_tokens:
            continue  # a shorter later sentence may still fit
        words = _words(sentence.text)
        if seen.repeats(words):
            continue
        chosen.append(sentence)
        seen.add(words)
        used += cost
    return sorted(chosen, key=lambda s: s.key)


def _candidates(
    paper: Paper, ranked: Sequence[Snippet], window: int, patterns: Sequence[Matcher]
) -> Iterator[Sentence]:
    """Every sentence worth sending, most telling first (may repeat; the caller skips)."""
    if paper.title.strip():
        yield _capped("title", paper.title, 0, len(paper.title))
    rings = [_Rings(paper, snippet, window) for snippet in _trap_second(ranked)]

    cued_by: dict[tuple[str, int, int], bool] = {}

    def cue(sentence: Sentence) -> bool:  # each sentence searched once, whatever the round
        key = (sentence.field, sentence.start, sentence.end)
        if key not in cued_by:
            cued_by[key] = any(p.search(sentence.text) is not None for p in patterns)
        return cued_by[key]

    # (distance from a hit, whether it must carry a cue) of each round
    for distance, cued in (
        (0, True),
        (1, True),
        (0, False),
        *((d, False) for d in range(1, window + 1)),
    ):
        for ring in rings:
            yield from (s for s in ring.get(distance) if not cued or cue(s))


def _trap_second(ranked: Sequence[Snippet]) -> list[Snippet]:
    """``ranked`` with the best trap/grant-only snippet moved up to second place."""
    order = list(ranked)
    other = next((i for i, s in enumerate(order) if not s.real_hits), None)
    if other is not None and other > 1:
        order.insert(1, order.pop(other))
    return order


class _Rings:
    """A snippet's sentences by distance (in sentences) from the nearest hit sentence; at
    equal distance the one nearer the snippet's first hit first. A distance's sentences
    are built when a round first asks for them: most budgets fill in the first rounds."""

    def __init__(self, paper: Paper, snippet: Snippet, window: int) -> None:
        self.snippet, self.text = snippet, paper.text(snippet.field)
        spans = sentence_spans(self.text, snippet.start, snippet.end)
        self.spans = spans or [(snippet.start, snippet.end)]
        with_hit = _with_hit(self.spans, sorted(h.start for h in snippet.hits)) or [0]
        self.first = with_hit[0]
        #: the sentences at each distance up to the window, nearer the first hit first
        self.at: dict[int, list[int]] = {}
        for i, d in enumerate(_distances(len(self.spans), with_hit)):
            if d <= window:
                self.at.setdefault(d, []).append(i)
        self._built: dict[int, list[Sentence]] = {}

    def get(self, distance: int) -> list[Sentence]:
        if distance not in self._built:
            self._built[distance] = self._build(distance)
        return self._built[distance]

    def _build(self, distance: int) -> list[Sentence]:
        out = []
        field, hits = self.snippet.field, self.snippet.hits
        for i in sorted(self.at.get(distance, ()), key=lambda i: abs(i - self.first)):
            a, b = self.spans[i]
            inside = tuple(h for h in hits if a <= h.start < b)
            sentence = _capped(field, self.text, a, b, inside, toward=self.first - i)
            if sentence.text.strip():
                out.append(sentence)
        return out


def _with_hit(spans: Sequence[tuple[int, int]], starts: Sequence[int]) -> list[int]:
    """Indexes of the spans (in text order) holding one of ``starts`` (sorted)."""
    out, j = [], 0
    for i, (a, b) in enumerate(spans):
        j = bisect_left(starts, a, j)
        if j < len(starts) and starts[j] < b:
            out.append(i)
    return out


def _distances(n: int, marked: Sequence[int]) -> list[int]:
    """For each of ``n`` positions, how far the nearest of ``marked`` (sorted) is."""
    out = [n] * n  # farther than any of them can be
    for i in marked:
        if 0 <= i < n:
            out[i] = 0
    for i in range(1, n):  # from the left, then from the right
        out[i] = min(out[i], out[i - 1] + 1)
    for i in range(n - 2, -1, -1):
        out[i] = min(out[i], out[i + 1] + 1)
    return out


def _capped(
    field: TextField,
    text: str,
    start: int,
    end: int,
    hits: tuple[Hit, ...] = (),
    toward: int = 0,
) -> Sentence:
    """``text[start:end]`` as a sentence, stripped of surrounding white space and cut to
    ``MAX_SENTENCE_CHARS``: around its first hit, or at the end facing the hits
    (``toward`` > 0: they come after it, keep its end)."""
    a, b = start, end
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b - a > MAX_SENTENCE_CHARS:
        if hits:
            a = max(a, min(hits[0].start - MAX_SENTENCE_CHARS // 3, b - MAX_SENTENCE_CHARS))
        elif toward > 0:
            a = b - MAX_SENTENCE_CHARS
        b = a + MAX_SENTENCE_CHARS if b - a > MAX_SENTENCE_CHARS else b
        a, b = _word_bounds(text, a, b)
    return Sentence(field, a, b, text[a:b], hits)


def _word_bounds(text: str, a: int, b: int) -> tuple[int, int]:
    """[a, b) moved inwards to white space so no word is cut in half."""
    lo, hi = a, b
    if lo > 0 and not text[lo - 1].isspace():
        while lo < hi and not text[lo].isspace():
            lo += 1
        while lo < hi and text[lo].isspace():
            lo += 1
    if hi < len(text) and not text[hi].isspace():
        while hi > lo and not text[hi - 1].isspace():
            hi -= 1
        while hi > lo and text[hi - 1].isspace():
            hi -= 1
    return (lo, hi) if hi > lo else (a, b)


class _Seen:
    """Sentences already chosen, to skip exact and near repeats."""

    def __init__(self) -> None:
        self.exact: set[str] = set()
        #: (size, words) of each chosen sentence with enough distinct words
        self.word_sets: list[tuple[int, frozenset[str]]] = []

    def repeats(self, words: list[str]) -> bool:
        """Whether a sentence of these words (``_words``) repeats one already chosen."""
        if " ".join(words) in self.exact:
            return True
        distinct = frozenset(words)
        n = len(distinct)
        if n < _MIN_WORDS_NEAR:
            return False
        # Jaccard >= t needs the smaller set to be at least t times the larger
        lo, hi = n * NEAR_DUPLICATE, n / NEAR_DUPLICATE
        return any(
            lo <= size <= hi and _jaccard(distinct, other) >= NEAR_DUPLICATE
            for size, other in self.word_sets
        )

    def add(self, words: list[str]) -> None:
        self.exact.add(" ".join(words))
        distinct = frozenset(words)
        if len(distinct) >= _MIN_WORDS_NEAR:
            self.word_sets.append((len(distinct), distinct))


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)
