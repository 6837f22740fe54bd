"""``json.dumps`` of chat requests, with the messages every request repeats encoded once.

Each request of a run carries the same system message (instructions, label definitions
and the answer schema: ~5 KB), and it was encoded to JSON twice per request: for the
answer cache's key and for the HTTP body (about 1 % of the CPU of a TRACS-scale run).
``JsonEncoder`` gives exactly ``json.dumps``'s text (``tests/test_classify_llm_request``
compares them on many requests), but keeps the JSON of the last ``KEPT`` system messages
(by their text) and answer schemas (a field named ``schema``: by identity, since
``request.py`` gives all the requests of an answer model one schema object, never
changed) and writes those again from memory.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

#: system messages (of at least ``MIN_CHARS`` characters) and schemas whose JSON is kept
KEPT = 8
MIN_CHARS = 1_000
#: request fields followed into dicts this deep and this small (``response_format``)
MAX_DEPTH = 3
SMALL_DICT = 8


class JsonEncoder:
    """``json.dumps(value, sort_keys=..., ensure_ascii=...)`` of a request or its parts.
    Safe to share between threads."""

    def __init__(self, *, sort_keys: bool = False, ensure_ascii: bool = True) -> None:
        self.sort_keys = sort_keys
        self.ensure_ascii = ensure_ascii
        # what ``json.dumps`` makes for each call, made once (a call cost ~2 us)
        self._encoder = json.JSONEncoder(sort_keys=sort_keys, ensure_ascii=ensure_ascii)
        self._string = encode_basestring_ascii if ensure_ascii else encode_basestring
        self._kept: OrderedDict[Hashable, tuple[object, str]] = OrderedDict()
        self._lock = threading.Lock()

    def dumps(self, value: Any) -> str:
        if type(value) is str:
            return self._string(value)
        return self._encoder.encode(value)

    def request(self, fields: Mapping[str, Any]) -> str:
        """``dumps(fields)`` for a dict of request fields: its ``messages`` through
        ``messages``, its ``schema`` (also in small dicts within: ``response_format``,
        ``params``) encoded once."""
        return self._dict(fields, 0)

    def _dict(self, value: Mapping[str, Any], depth: int) -> str:
        if type(value) is not dict or not all(type(k) is str for k in value):
            return self.dumps(value)
        items = sorted(value.items()) if self.sort_keys else value.items()
        return (
            "{" + ", ".join(f"{self.dumps(k)}: {self._field(k, v, depth)}" for k, v in items) + "}"
        )

    def _field(self, key: str, value: Any, depth: int) -> str:
        if key == "messages":
            return self.messages(value)
        if key == "schema" and type(value) is dict:
            return self._kept_as(("schema", id(value)), value)
        if type(value) is dict and depth < MAX_DEPTH and len(value) <= SMALL_DICT:
            return self._dict(value, depth + 1)
        return self.dumps(value)

    def messages(self, messages: Any) -> str:
        """``dumps(messages)``, a long system message of only strings encoded once (the
        user messages differ from request to request)."""
        if type(messages) is not list:
            return self.dumps(messages)
        return "[" + ", ".join(self._message(m) for m in messages) + "]"

    def _message(self, message: Any) -> str:
        if (
            type(message) is not dict
            or message.get("role") != "system"
            or not all(type(k) is str and type(v) is str for k, v in message.items())
        ):
            return self.dumps(message)
        key = tuple(message.items())  # a str keeps its hash: a long content is hashed once
        if sum(len(v) for _, v in key) < MIN_CHARS:
            return self.dumps(message)
        return self._kept_as(key, message)

    def _kept_as(self, key: Hashable, value: object) -> str:
        """``dumps(value)``, or what it gave for ``key`` among the last ``KEPT`` (each kept
        with its value: an object's id is not reused while it is kept)."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept[1]
        encoded = self.dumps(value)
        with self._lock:
            self._kept[key] = (value, encoded)
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return encoded
