"""The scripted server's answers: scripted ``Reply``s, rule-derived chat completions, and
yes/no answers with logprobs.

Used by ``llm_server.py``; also importable by tests that need to know what the
server answered (e.g. its token-usage rule).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

FENCE_OPEN = "<<<PAPER_SNIPPETS"
FENCE_CLOSE = "PAPER_SNIPPETS>>>"
_HEADER = re.compile(r"^\[snippet \d+ \| telescope: (?P<tel>[A-Z0-9\-]+) \| field: \w+.*\]$", re.M)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


@dataclass
class Reply:
    """One scripted answer. ``content`` is the assistant message; ``body`` replaces the
    whole HTTP body (for broken JSON); ``delay_s`` sleeps first (a hang when it is
    longer than the client timeout)."""

    status: int = 200
    content: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    usage: tuple[int, int] | None = None
    #: prompt tokens reported as read from the provider's prompt cache (part of the prompt)
    cached_tokens: int = 0

    @classmethod
    def answer(cls, obj: Any, **kw: Any) -> Reply:
        return cls(content=json.dumps(obj), **kw)

    @classmethod
    def rate_limited(cls, retry_after_s: float = 1.0) -> Reply:
        return cls(
            status=429,
            body=error_body("Rate limit reached, retry later", "rate_limit_exceeded"),
            headers={"Retry-After": f"{retry_after_s:g}"},
        )

    @classmethod
    def server_error(cls, status: int = 500, message: str = "internal error") -> Reply:
        return cls(status=status, body=error_body(message, "server_error"))

    @classmethod
    def json_schema_unsupported(cls) -> Reply:
        """What llama-cpp-python's server answers to ``response_format: json_schema``."""
        return cls.server_error(500, "response_format type 'json_schema' is not supported")

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        return cls(delay_s=seconds)

    @classmethod
    def invalid_json(cls) -> Reply:
        return cls(content="Sure! The telescope was used for science, I think.")

    @classmethod
    def truncated_json(cls) -> Reply:
        return cls(content='{"science": true, "instrumentation": false, "mention": fal')


def error_body(message: str, code: str) -> str:
    return json.dumps({"error": {"message": message, "type": code, "code": code}})


def chat_completion(
    request: dict[str, Any], content: str, usage: tuple[int, int] | None, cached_tokens: int = 0
) -> Any:
    """An OpenAI chat.completion object around ``content`` with token usage (``cached_tokens``
    of the prompt tokens reported under ``usage.prompt_tokens_details``, as OpenAI does)."""
    if usage is None:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
        usage = (max(1, prompt_chars // 4), max(1, len(content) // 4))
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "local"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def default_p_yes(snippet: str) -> float:
    """The reranker's scripted P(yes): high for a snippet that says "we observed"."""
    return 0.9 if "we observed" in snippet.lower() else 0.2


def yes_no_completion(request: dict[str, Any], p_yes: float, usage: Any) -> Any:
    """A one-token "Yes"/"No" chat.completion with OpenAI-style ``logprobs``."""
    token = "Yes" if p_yes >= 0.5 else "No"
    top = [
        {"token": "Yes", "logprob": math.log(max(p_yes, 1e-9)), "bytes": list(b"Yes")},
        {"token": "No", "logprob": math.log(max(1 - p_yes, 1e-9)), "bytes": list(b"No")},
    ]
    chosen = next(t for t in top if t["token"] == token)
    completion = chat_completion(request, token, usage)
    completion["choices"][0]["logprobs"] = {
        "content": [{**chosen, "top_logprobs": top[: int(request.get("top_logprobs") or 2)]}]
    }
    return completion


def fenced_text(request: dict[str, Any]) -> str:
    """The text between the fences of the first user message."""
    text = first_user_message(request)
    start, end = text.find(FENCE_OPEN), text.find(FENCE_CLOSE)
    return text[start + len(FENCE_OPEN) : end].strip() if 0 <= start < end else ""


def fenced_snippets(request: dict[str, Any]) -> dict[str, list[str]]:
    """Snippet texts per telescope, read from the fenced block of the first user message."""
    text = first_user_message(request)
    start, end = text.find(FENCE_OPEN), text.find(FENCE_CLOSE)
    if start < 0 or end < 0:
        return {}
    block = text[start + len(FENCE_OPEN) : end]
    headers = list(_HEADER.finditer(block))
    out: dict[str, list[str]] = {}
    for i, header in enumerate(headers):
        stop = headers[i + 1].start() if i + 1 < len(headers) else len(block)
        out.setdefault(header["tel"], []).append(block[header.end() : stop].strip())
    return out


def rule_answer(snippets: list[str]) -> dict[str, Any]:
    """science when a snippet says "we observed", else mention; quotes a real sentence."""
    sentences = [s.strip() for text in snippets for s in _SENTENCE.findall(text) if s.strip()]
    observed = [s for s in sentences if "we observed" in s.lower()]
    science = bool(observed)
    quote = (observed or sentences or [""])[0]
    label = "science" if science else "mention"
    return {
        "science": science,
        "instrumentation": False,
        "mention": not science,
        "not_telescope": False,
        "confidence": {
            "science": 0.9 if science else 0.1,
            "instrumentation": 0.05,
            "mention": 0.1 if science else 0.8,
            "not_telescope": 0.05,
        },
        "evidence": [{"quote": quote, "supports": label}] if quote else [],
        "reason": f"scripted rule: {label}",
    }


def wants_citations(request: dict[str, Any]) -> bool:
    """Whether the request's answer schema cites sentence numbers (v2 prompts and later)
    rather than quoting (v1): read from the structured-output schema, else from the system
    message."""
    schema = _schema(request)
    text = json.dumps(schema) if schema else json.dumps(request.get("messages", [])[:1])
    return '"sentence"' in text or compact_citations(request)


def compact_citations(request: dict[str, Any]) -> bool:
    """Whether citations are written ``"4:science"`` (v3 prompts) rather than objects."""
    schema = _schema(request)
    if not schema:
        return "NUMBER:LABEL" in json.dumps(request.get("messages", [])[:1])
    props = schema.get("properties", {})
    if "results" in props:
        props = props["results"].get("items", {}).get("properties", {})
    return bool(props.get("evidence", {}).get("items", {}).get("type") == "string")


def cite(number: int, label: str, compact: bool) -> Any:
    """One citation as the prompt asks for it."""
    return f"{number}:{label}" if compact else {"sentence": number, "supports": label}


def _schema(request: dict[str, Any]) -> dict[str, Any] | None:
    response_format = request.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get(
        "schema"
    )
    return schema if isinstance(schema, dict) else None


_NUMBERED = re.compile(r"^\[(\d+)\] (.*)$")
_HEADING = re.compile(r"^== (?P<tel>[A-Z0-9\-]+) ==$")
_PAIR_TELESCOPE = re.compile(r"^Telescope: (?P<tel>[A-Z0-9\-]+) \(", re.M)


def numbered_sentences(request: dict[str, Any]) -> dict[str, list[tuple[int, str]]]:
    """(number, sentence) per telescope, read from a v2 request's fenced block: the
    "== KEY ==" headings of paper mode, else the telescope of the "Telescope:" line."""
    text = first_user_message(request)
    pair_telescope = _PAIR_TELESCOPE.search(text)
    current = pair_telescope["tel"] if pair_telescope else "?"
    shown: dict[int, str] = {}
    out: dict[str, list[tuple[int, str]]] = {}
    for line in fenced_text(request).splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = heading["tel"]
            continue
        numbered = _NUMBERED.match(line)
        if numbered:
            number, sentence = int(numbered[1]), numbered[2]
            sentence = shown.get(number, sentence) if sentence == "(shown above)" else sentence
            shown[number] = sentence
            out.setdefault(current, []).append((number, sentence))
    return out


def cited_rule_answer(sentences: list[tuple[int, str]], compact: bool = False) -> dict[str, Any]:
    """``rule_answer`` for v2 and v3 prompts: the same labels, citing the sentence's number
    (``compact``: as ``"4:science"``)."""
    observed = [(n, s) for n, s in sentences if "we observed" in s.lower()]
    science = bool(observed)
    cited = (observed or sentences)[:1]
    label = "science" if science else "mention"
    answer = rule_answer([])
    answer.pop("evidence")
    return {
        "evidence": [cite(n, label, compact) for n, _ in cited],
        **answer,
        "science": science,
        "mention": not science,
        "confidence": {"science": 90 if science else 10, "instrumentation": 5,
                       "mention": 10 if science else 80, "not_telescope": 5},
        "reason": f"scripted rule: {label}",
    }  # fmt: skip


def default_answer(request: dict[str, Any]) -> str:
    """The rule-derived answer, shaped as a pair answer or a paper (``results``) answer,
    quoting (v1 prompts) or citing sentence numbers (v2 and v3 prompts)."""
    per_telescope: dict[str, Any]
    rule: Callable[[Any], dict[str, Any]]
    if wants_citations(request):
        per_telescope = numbered_sentences(request)
        rule = partial(cited_rule_answer, compact=compact_citations(request))
    else:
        per_telescope, rule = fenced_snippets(request), rule_answer
    if wants_paper_answer(request):
        results = [{"telescope": tel, **rule(found)} for tel, found in per_telescope.items()]
        return json.dumps({"results": results})
    return json.dumps(rule([x for found in per_telescope.values() for x in found]))


def request_telescopes(request: dict[str, Any]) -> list[str]:
    """The telescopes a classification request asks about, in the order it shows them
    (v2 prompts: the "Telescope:" line or the "== KEY ==" headings; v1: snippet headers)."""
    found = numbered_sentences(request) if wants_citations(request) else fenced_snippets(request)
    return list(found)


def wants_paper_answer(request: dict[str, Any]) -> bool:
    return '"results"' in first_user_message(request)


def first_user_message(request: dict[str, Any]) -> str:
    """The message with the paper (re-asks append later user messages)."""
    user = [m for m in request.get("messages", []) if m.get("role") == "user"]
    return str(user[0].get("content", "")) if user else ""
