"""Offline sentence splitting with character offsets into the original text.

blingfire's bundled model handles "et al.", "Fig." and "i.e." and needs no
download. It does not break at blank lines, so paragraphs (and LaTeX/PDF
section breaks) are split first; over-long "sentences" (tables, reference
dumps, text without punctuation) are cut at white space so that a snippet
never swallows a whole page.

A paper's text is split once, wherever it is asked for: the snippet windows,
the evidence budget and the link judge all ask for sentences around the same
hits, for each telescope of the paper. A text gets an index of its blocks
(paragraphs; a paragraph longer than ``BLOCK_CHARS``, as PDF text without
blank lines often is, cut at line ends) whose sentences are split the first
time any range asks for them; the last texts' indexes are kept, up to
``INDEX_CHARS`` characters of text.
"""

from __future__ import annotations

import ctypes
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator

import blingfire

from amc.domain.memo import TextMemo

Span = tuple[int, int]

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
MAX_SENTENCE_CHARS = 1000
#: the unit of splitting in a long text: a paragraph, or a stretch of a longer one
BLOCK_CHARS = 4000
#: characters of text whose indexes are kept (the papers being classified)
INDEX_CHARS = 32_000_000


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as ``(start, end)`` offsets into ``text``; a
    sentence cut by the range's ends is cut to it."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for a, b in _index(text).sentences(start, end):
        a, b = max(a, start), min(b, end)
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append((a, b))
    return spans


def sentences_near(text: str, positions: Iterable[int], n: int) -> list[Span]:
    """For each position, the sentence holding it (the last before it, when it falls
    between sentences) and ``n`` sentences either side: their spans in text order,
    each once. Only the paragraphs these lie in are split."""
    index = _index(text)
    return sorted({span for pos in positions for span in index.near(pos, n, n)})


def sentence_window(text: str, pos: int, before: int = 0, after: int = 0) -> list[Span]:
    """The sentence holding ``pos`` (the last before it, when it falls between
    sentences; the first, when none is before it), with ``before`` sentences before it
    and ``after`` after it, in text order."""
    return _index(text).near(pos, before, after)


def _split_range(text: str, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    for p_start, p_end in _paragraphs(text, start, end):
        chunk = text[p_start:p_end]
        if not chunk.strip():
            continue
        for s, e in _split(chunk):
            spans.extend(_cap(text, p_start + s, p_start + e))
    return spans


class _Index:
    """The blocks of one text and the sentences of those split so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks = list(_blocks(text))
        self.starts = [a for a, _ in self.blocks]
        self._split: dict[int, tuple[list[Span], list[int]]] = {}

    def block(self, i: int) -> tuple[list[Span], list[int]]:
        """Block ``i``'s sentences and their starts (split on first use; another thread
        may split it too: the same result)."""
        found = self._split.get(i)
        if found is None:
            spans = _split_range(self.text, *self.blocks[i])
            found = self._split[i] = (spans, [a for a, _ in spans])
        return found

    def sentences(self, start: int, end: int) -> Iterator[Span]:
        """The sentences of the blocks overlapping ``[start, end)`` that do too."""
        i = max(0, bisect_right(self.starts, start) - 1)
        while i < len(self.blocks) and self.blocks[i][0] < end:
            yield from (s for s in self.block(i)[0] if s[1] > start and s[0] < end)
            i += 1

    def near(self, pos: int, before: int, after: int) -> list[Span]:
        """The sentence holding ``pos`` (or the last before it) and the ones around it."""
        i = max(0, bisect_right(self.starts, pos) - 1)
        k = bisect_right(self.block(i)[1], pos) - 1
        anchor = (i, k) if k >= 0 else self._step(i, 0, -1) or self._step(i, -1, 1)
        if anchor is None:
            return []
        out = [anchor]
        for direction, n in ((-1, before), (1, after)):
            at = anchor
            for _ in range(n):
                step = self._step(at[0], at[1], direction)
                if step is None:
                    break
                out.append(at := step)
        return [self.block(b)[0][k] for b, k in sorted(out)]

    def _step(self, i: int, k: int, direction: int) -> tuple[int, int] | None:
        """The sentence before (``direction`` -1) or after (+1) sentence ``k`` of block
        ``i``, across blocks; None at the text's start or end."""
        k += direction
        while 0 <= i < len(self.blocks):
            if 0 <= k < len(self.block(i)[0]):
                return i, k
            i += direction
            if 0 <= i < len(self.blocks):
                k = 0 if direction > 0 else len(self.block(i)[0]) - 1
        return None


def _blocks(text: str) -> Iterator[Span]:
    """Paragraphs, a longer one cut near every ``BLOCK_CHARS`` characters where a
    sentence most likely ends: a line end after a full stop, else a line end, else a
    full stop before a capital letter, else white space."""
    for a, b in _paragraphs(text, 0, len(text)):
        while b - a > BLOCK_CHARS:
            cut = _cut(text, a + BLOCK_CHARS // 2, a + BLOCK_CHARS)
            yield a, cut
            a = cut
        yield a, b


_CUTS = (
    re.compile(r"[.!?:;]\)?[ \t]*\n"),
    re.compile(r"\n"),
    re.compile(r"[.!?]\)?\s+(?=[A-Z(\[])"),
    re.compile(r"\s"),
)


def _cut(text: str, lo: int, hi: int) -> int:
    """The end of the last and likeliest sentence end in ``[lo, hi)`` (``hi`` if none)."""
    for pattern in _CUTS:
        ends = [m.end() for m in pattern.finditer(text, lo, hi)]
        if ends:
            return ends[-1]
    return hi


#: the indexes of the texts being classified
_INDEXES: TextMemo[_Index] = TextMemo(INDEX_CHARS)


def _index(text: str) -> _Index:
    return _INDEXES.get(text, None, lambda: _Index(text))


def _split(chunk: str) -> list[Span]:
    """blingfire sentences of one paragraph, located in it.

    ``text_to_sentences`` is C all the way; its sibling that returns offsets
    maps them in a Python loop over bytes and is ~10x slower. Newlines become
    spaces first (same length) so each sentence is found verbatim; should one
    not be, the slow, exact function is used for this paragraph.
    """
    flat = chunk.replace("\n", " ")
    spans: list[Span] = []
    pos = 0
    for sentence in _text_to_sentences(flat).split("\n"):
        if not sentence:
            continue
        found = flat.find(sentence, pos)
        if found < 0:
            return list(blingfire.text_to_sentences_and_offsets(chunk)[1])
        spans.append((found, found + len(sentence)))
        pos = found + len(sentence)
    return spans


#: the loaded blingfire library (its Python wrapper allocates a new ctypes buffer type for
#: every call, a quarter of the splitting's CPU; this module keeps one buffer per thread)
_LIBRARY = getattr(blingfire, "blingfire", None)
_buffers = threading.local()


def _text_to_sentences(text: str) -> str:
    """``blingfire.text_to_sentences`` (sentences one per line) with a reused buffer."""
    if _LIBRARY is None or not hasattr(_LIBRARY, "TextToSentences"):
        return str(blingfire.text_to_sentences(text))
    data = text.encode("utf-8")
    buffer = getattr(_buffers, "buffer", None)
    if buffer is None or len(buffer) < 2 * len(data) + 1:  # blingfire's own sizing, grown
        buffer = _buffers.buffer = ctypes.create_string_buffer(max(1 << 16, 4 * len(data)))
    size = len(buffer)
    written = _LIBRARY.TextToSentences(
        ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(buffer), ctypes.c_int(size)
    )
    if written == -1 or written > size:
        return ""
    return bytes(buffer.value).decode("utf-8")


def _paragraphs(text: str, start: int, end: int) -> Iterator[Span]:
    pos = start
    for match in PARAGRAPH_BREAK.finditer(text, start, end):
        yield pos, match.start()
        pos = match.end()
    yield pos, end


def _cap(text: str, start: int, end: int) -> Iterator[Span]:
    """Cut a sentence longer than ``MAX_SENTENCE_CHARS`` at white space."""
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def regions(positions: Iterable[int], margin: int, length: int) -> list[Span]:
    """Spans of +/- ``margin`` characters around the positions, merged where they overlap."""
    regions: list[list[int]] = []
    for pos in sorted(positions):
        a, b = max(0, pos - margin), min(length, pos + margin)
        if regions and a <= regions[-1][1]:
            regions[-1][1] = max(regions[-1][1], b)
        else:
            regions.append([a, b])
    return [(a, b) for a, b in regions]
