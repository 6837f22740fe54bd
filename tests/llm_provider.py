"""What a real provider adds to the scripted server: automatic prompt caching, real token
counts, and answers of the size a frontier model writes to amc's prompts.

Used by ``llm_server.ScriptedLLMServer(provider=True)`` (the tests of prompt caching and
``bench/llm_cost.py``), so the benchmark and the tests share one simulation.

Tokens: the o200k tokenizer of the gpt-4o / gpt-4.1 family (litellm ships it). A request
is its structured-output schema, which OpenAI places before the system message, then
each message (role and content). ``prompt_tokens`` counts them all.

Prompt caching, as OpenAI's automatic caching bills it: when the first N tokens of a
request equal the first N tokens of an earlier request and N >= 1,024, the longest such
N, rounded down to a multiple of 128, is reported as
``usage.prompt_tokens_details.cached_tokens``. Cache entries do not expire here (a
provider's live for minutes of inactivity, which a busy run never reaches).

Answers (``frontier_answer``): the labels follow simple cues (science when a sentence
says the authors observed, obtained, reduced or analysed data; not_telescope when
every match is a registry trap or grant; else mention); what makes them realistic is
their size, which follows what the prompt asks for. To a quoting prompt (v1) the model
copies up to three sentences whole and writes two sentences of reason, about 190
tokens in all, the size measured for a frontier model on today's prompts (issue #17);
to a citing prompt (v2) it gives the same sentences' numbers and one short sentence,
and, when the prompt asks for links, the instruments named in its science sentences
(each citing one) and a use for every candidate id listed (data when its sentence
reads as data use, grant when as funding, else no).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from functools import cache
from typing import Any

from llm_answers import (
    cite,
    compact_citations,
    fenced_snippets,
    first_user_message,
    numbered_sentences,
    wants_citations,
    wants_paper_answer,
)

#: a prefix shorter than this is never cached; longer ones in steps of ``CACHE_STEP``
CACHE_MIN_TOKENS = 1024
CACHE_STEP = 128


@cache
def _encoding() -> Any:
    # litellm's price map from its own wheel, never fetched (as amc/__init__.py sets it)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm.litellm_core_utils.token_counter import openai_tokenizer_encoding

    return openai_tokenizer_encoding("gpt-4.1-mini")


def tokens(text: str) -> list[int]:
    """o200k token ids of ``text``."""
    return list(_encoding().encode(text, disallowed_special=()))


def request_text(request: dict[str, Any]) -> str:
    """The request as the model reads it: the output schema first, then the messages."""
    response_format = request.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get(
        "schema"
    )
    parts = [json.dumps(schema, separators=(",", ":"))] if schema else []
    for message in request.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):  # content blocks (Anthropic-style cache_control)
            content = "".join(str(block.get("text", "")) for block in content)
        parts.append(f"<|{message.get('role')}|>{content}<|end|>")
    return "".join(parts)


class PromptCache:
    """Prefixes seen so far, as a hash chain over 128-token blocks (thread-safe)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, request: dict[str, Any]) -> tuple[int, int]:
        """(prompt tokens, cached tokens) of ``request``; remembers its prefixes."""
        ids = tokens(request_text(request))
        chain = _block_chain(ids)
        with self._lock:
            cached = 0
            for blocks, digest in enumerate(chain, start=1):
                if digest not in self._seen:
                    break
                if blocks * CACHE_STEP >= CACHE_MIN_TOKENS:
                    cached = blocks * CACHE_STEP
            self._seen.update(chain)
        return len(ids), cached


def _block_chain(ids: list[int]) -> list[str]:
    """The digest of each whole-block prefix: ``chain[k]`` names ``ids[: (k + 1) * 128]``."""
    out, digest = [], ""
    for start in range(0, len(ids) - CACHE_STEP + 1, CACHE_STEP):
        block = ",".join(map(str, ids[start : start + CACHE_STEP]))
        digest = hashlib.sha256(f"{digest}|{block}".encode()).hexdigest()
        out.append(digest)
    return out


# -- answers of a realistic size ---------------------------------------------------

_SCIENCE = re.compile(
    r"\b(?:we|our)\b[^.]{0,80}?\b(?:observ|obtain|reduc|analy[sz]|use[ds]?\b|measur|extract)"
    r"|\b(?:data|observations|spectra|images)\s+(?:were|was)\s+(?:obtained|taken|retrieved"
    r"|reduced|acquired)|\bbased on observations\b|\bprogram(?:me)?\s+(?:GO|GTO|ID)\b",
    re.I,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_NOTE = re.compile(r"\[(\d+)\] \"[^\"]*\"(?: \(([A-Z0-9\-]+)\))?: (?:known false positive|grant)")


def frontier_answer(request: dict[str, Any]) -> str:
    """The answer a frontier model gives to ``request``, in the size it gives it."""
    citing = wants_citations(request)
    compact = compact_citations(request)
    if citing:
        found: dict[str, list[tuple[int, str]]] = numbered_sentences(request)
        traps = _noted(request)
    else:
        found = {t: _split(snippets) for t, snippets in fenced_snippets(request).items()}
        traps = {}
    answers = {
        t: _answer(t, sentences, traps.get(t, set()), citing, compact)
        for t, sentences in found.items()
    }
    if citing and "; instruments: " in first_user_message(request):
        for t, answer in answers.items():
            answer.update(_links(request, t, found[t], answer["science"]))
    if wants_paper_answer(request):
        return json.dumps({"results": [{"telescope": t, **a} for t, a in answers.items()]})
    return json.dumps(next(iter(answers.values()), _answer("?", [], set(), citing)))


def _split(snippets: list[str]) -> list[tuple[int, str]]:
    texts = [s.strip() for text in snippets for s in _SENTENCE.findall(text) if s.strip()]
    return list(enumerate(texts, start=1))


def _noted(request: dict[str, Any]) -> dict[str, set[int]]:
    """Sentence numbers the registry notes mark as traps or grants, per telescope."""
    text = first_user_message(request)
    notes = text[text.rfind("Registry notes:") :]
    pair = re.search(r"^Telescope: ([A-Z0-9\-]+) \(", text, re.M)
    out: dict[str, set[int]] = {}
    for match in _NOTE.finditer(notes):
        telescope = match[2] or (pair[1] if pair else "?")
        out.setdefault(telescope, set()).add(int(match[1]))
    return out


def _answer(
    telescope: str,
    sentences: list[tuple[int, str]],
    traps: set[int],
    citing: bool,
    compact: bool = False,
) -> dict[str, Any]:
    science = [(n, s) for n, s in sentences if _SCIENCE.search(s)]
    named = [(n, s) for n, s in sentences if telescope.lower() in s.lower() and n not in traps]
    trap_only = bool(traps) and not named
    label = "science" if science else "not_telescope" if trap_only else "mention"
    chosen = (science + [x for x in named if x not in science])[:3] or sentences[:1]
    if citing:
        evidence: list[Any] = [cite(n, label, compact) for n, _ in chosen]
    else:
        evidence = [{"quote": s[:300], "supports": label} for _, s in chosen]
    confidence = {"science": 0.04, "instrumentation": 0.02, "mention": 0.06, "not_telescope": 0.03}
    confidence[label] = 0.93
    if citing:  # the v2 prompts ask for per cent
        confidence = {k: round(100 * v) for k, v in confidence.items()}
    answer = {
        "evidence": evidence,
        "reason": _reason(telescope, label, short=citing),
        **{k: k == label for k in ("science", "instrumentation", "mention", "not_telescope")},
        "confidence": confidence,
    }
    return answer


_REASONS = {
    "science": (
        "The authors analyse {t} observations of their own targets to obtain new results.",
        "Other passages that cite earlier {t} studies do not change this, since the paper "
        "itself reduces and interprets the {t} data.",
    ),
    "mention": (
        "The paper only refers to {t} when discussing earlier results and future prospects.",
        "None of the passages shows the authors using {t} data or describing the telescope "
        "itself, so this is a mention.",
    ),
    "not_telescope": (
        "Every match of {t} is a name shared with something else, such as a constant or a grant.",
        "There is no sign that the authors use {t} data or discuss the telescope itself.",
    ),
}


def _reason(telescope: str, label: str, short: bool) -> str:
    first, second = _REASONS[label]
    return first.format(t=telescope) if short else f"{first} {second}".format(t=telescope)


_INSTRUMENTS = re.compile(
    r"^(?:Telescope: |- )(?P<key>[A-Z0-9\-]+)[: ].*?; instruments: (?P<names>[^\n]*?)\.?$", re.M
)
_CANDIDATE = re.compile(r"(?:([A-Z0-9\-]+): )?(P\d+) \S+?(?: \(sentence (\d+)\))?(?=; |\.$)")
_FUNDING = re.compile(r"\b(?:grant|support|award|fund)", re.I)
_DATA = re.compile(r"\b(?:data|archive|MAST|observations?)\b", re.I)


def _links(
    request: dict[str, Any], telescope: str, sentences: list[tuple[int, str]], science: bool
) -> dict[str, Any]:
    """The link fields of a science answer: instruments and candidate uses; empty otherwise."""
    if not science:
        return {"instruments": [], "ids": []}
    text = first_user_message(request)
    names = [n for m in _INSTRUMENTS.finditer(text) if m["key"] == telescope
             for n in m["names"].split(", ") if n != "none"]  # fmt: skip
    shown = dict(sentences)
    used = [n for n, s in sentences if _SCIENCE.search(s)]
    instruments = []
    for name in names:
        cited = [n for n in used if re.search(rf"\b{re.escape(name)}\b", shown[n])]
        if cited:
            instruments.append(f"{name}:{cited[0]}")
    ids = []
    listing = text[text.rfind("Candidate ids:") :].split("\n", 1)[0]
    current = telescope
    for match in _CANDIDATE.finditer(listing):
        current = match[1] or current
        if current != telescope:
            continue
        sentence = shown.get(int(match[3])) if match[3] else None
        use = (
            "grant" if sentence and _FUNDING.search(sentence)
            else "data" if sentence and (_SCIENCE.search(sentence) or _DATA.search(sentence))
            else "no"
        )  # fmt: skip
        ids.append(f"{match[2]}:{use}")
    return {"instruments": instruments[:2], "ids": ids}
