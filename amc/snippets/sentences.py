"""Offline sentence splitting with character offsets into the original text.

blingfire's bundled model handles "et al.", "Fig." and "i.e." and needs no
download. It does not break at blank lines, so paragraphs (and LaTeX/PDF
section breaks) are split first; over-long "sentences" (tables, reference
dumps, text without punctuation) are cut at white space so that a snippet
never swallows a whole page.
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Iterable, Iterator

import blingfire

Span = tuple[int, int]

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
MAX_SENTENCE_CHARS = 1000


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` as ``(start, end)`` offsets into ``text``."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    for p_start, p_end in _paragraphs(text, start, end):
        chunk = text[p_start:p_end]
        if not chunk.strip():
            continue
        for s, e in _split(chunk):
            spans.extend(_cap(text, p_start + s, p_start + e))
    return spans


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
