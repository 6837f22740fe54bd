"""What was computed from a paper's text, kept while the paper is being classified.

A paper's text is read by several stages for each of its telescopes: the
snippet windows, the evidence budget and the link judge split the same
paragraphs into sentences (``amc.snippets.sentences`` keeps its index of them
here). ``TextMemo`` keeps such results for the texts seen last, up to a number
of characters of text, so each is computed once per paper; ``key`` tells apart
several results of one text. It is safe to share between threads (two threads
may both compute a missing value: the same one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TextMemo(Generic[V]):
    """``get(text, key, compute)``: ``compute()``'s value for (text, key), remembered for
    the last texts up to ``max_chars`` characters of text in all."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._values: OrderedDict[tuple[str, Hashable], V] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, text: str, key: Hashable, compute: Callable[[], V]) -> V:
        entry = (text, key)  # a str caches its hash: a long text is hashed once
        with self._lock:
            if entry in self._values:
                self._values.move_to_end(entry)
                return self._values[entry]
        value = compute()
        with self._lock:
            if entry not in self._values:
                self._values[entry] = value
                self._chars += len(text)
            while self._chars > self.max_chars and len(self._values) > 1:
                (old, _), _ = self._values.popitem(last=False)
                self._chars -= len(old)
        return value

    def __len__(self) -> int:
        return len(self._values)
