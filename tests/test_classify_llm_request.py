"""Requests laid out for providers' prompt caching, and the numbered sentences they show.

What this proves: the start of every request (the structured-output schema and the
system message) is byte-identical across pairs, telescopes and papers and at least
1,024 tokens long (o200k, as gpt-4o/4.1 count), the telescope comes next, the paper's
evidence last; numbered sentences keep their offsets. What it does not: that a given
provider caches (the provider simulation of ``tests/llm_provider.py`` plays that part
in ``test_classify_llm_tier.py`` and ``bench/llm_cost.py``).
"""

from __future__ import annotations

import hashlib
import json
from itertools import cycle

import pytest
from llm_provider import tokens
from papergen import generate_papers

from amc.classify.llm.cache import cache_key
from amc.classify.llm.encoding import JsonEncoder
from amc.classify.llm.planning import build_requests, prepare_input
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.provider.protocol import chat_params, response_format_for
from amc.classify.llm.request import FENCE_CLOSE, FENCE_OPEN, Request
from amc.classify.llm.schema import (
    CitedPairAnswer,
    CitedPaperAnswer,
    CompactPairAnswer,
    answer_token_cap,
    parse_answer,
)
from amc.classify.llm.sentences import check_citations, cited_evidence, number_sentences
from amc.domain.models import Hit, Pair, Paper
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets
from amc.snippets.budget import Sentence


def requests(registry: Registry, mode: str, n_pairs: int = 12) -> list[Request]:
    config = LLMSettings(mode=mode)
    pairs = [
        Pair(paper=Paper(**generated.fields()), telescope=t)
        for generated in generate_papers(n_pairs, seed=11)
        for t in generated.roles
    ]
    inputs = [
        prepare_input(p, find_snippets(p.paper, registry.get(p.telescope)), registry, config)
        for p in pairs
    ]
    built, _ = build_requests(inputs, config)
    return built


@pytest.mark.parametrize("mode", ["pair", "paper"])
def test_the_static_start_is_identical_and_long_enough_to_be_cached(registry, mode) -> None:
    built = requests(registry, mode)
    assert len({r.telescopes for r in built}) > 1  # different telescopes (and sets of them)
    systems = {r.messages[0]["content"] for r in built}
    schemas = {json.dumps(r.schema, sort_keys=True) for r in built}
    assert len(systems) == 1 and len(schemas) == 1
    [system] = systems
    assert len(tokens(system)) >= 1024  # cacheable alone (a provider that sends no schema)
    assert json.dumps(built[0].schema, separators=(",", ":")) in system


def test_the_telescope_comes_next_and_the_evidence_last(registry) -> None:
    for request in requests(registry, "pair"):
        user = request.messages[1]["content"]
        key = request.telescopes[0]
        assert user.startswith(f"Telescope: {key} (")
        assert user.index(key) < user.index(FENCE_OPEN) < user.index(FENCE_CLOSE)
        tail = user[user.index(FENCE_CLOSE) :]
        assert len(tokens(tail)) < 60  # after the evidence: the notes and the question only


def test_pairs_of_one_telescope_share_the_telescope_section(registry) -> None:
    by_telescope: dict[str, set[str]] = {}
    for request in requests(registry, "pair"):
        head = request.messages[1]["content"].split(FENCE_OPEN)[0]
        by_telescope.setdefault(request.telescopes[0], set()).add(head)
    assert all(len(heads) == 1 for heads in by_telescope.values())


def test_answer_cap_covers_the_widest_valid_answer() -> None:
    widest = {
        "evidence": [{"sentence": 999, "supports": "instrumentation"}] * 5,
        "reason": " ".join(["an unusually long but still valid reason"] * 7)[:300],
        "science": True, "instrumentation": True, "mention": False, "not_telescope": False,
        "confidence": {"science": 100, "instrumentation": 100, "mention": 0, "not_telescope": 0},
        "instruments": ["NIRSpec:999"] * 4,
        "ids": ["P99:grant"] * 6,
    }  # fmt: skip
    CitedPairAnswer.model_validate(widest)
    assert len(tokens(json.dumps(widest, indent=2))) < answer_token_cap(CitedPairAnswer) < 500
    paper = {"results": [{"telescope": "HST", **widest}, {"telescope": "JWST", **widest}]}
    CitedPaperAnswer.model_validate(paper)
    assert len(tokens(json.dumps(paper, indent=2))) < answer_token_cap(CitedPaperAnswer, 2)
    compact = widest | {"evidence": ["999:instrumentation"] * 5}
    CompactPairAnswer.model_validate(compact)
    cap = answer_token_cap(CompactPairAnswer)
    assert len(tokens(json.dumps(compact, indent=2))) < cap < answer_token_cap(CitedPairAnswer)


@pytest.mark.parametrize(
    ("written", "read"),
    [("4:science", (4, "science")), ("[12]: mention", (12, "mention")),
     (" 7 : not_telescope ", (7, "not_telescope"))],
)  # fmt: skip
def test_a_compact_citation_reads_as_a_citation(written: str, read: tuple[int, str]) -> None:
    answer = CompactPairAnswer.model_validate(WIDEST_VALID | {"evidence": [written]})
    [citation] = answer.evidence
    assert (citation.sentence, citation.supports) == read


@pytest.mark.parametrize("written", ["science:4", "4:maybe", "four:science", "4", ""])
def test_a_malformed_compact_citation_is_an_invalid_answer_that_says_why(written: str) -> None:
    with pytest.raises(ValueError, match="is not SENTENCE:LABEL"):
        parse_answer(json.dumps(WIDEST_VALID | {"evidence": [written]}), CompactPairAnswer)


def test_the_v3_prompts_ask_for_compact_citations_with_v2_labels_and_rules(registry) -> None:
    """v3 changes how evidence is written and the reason's length, nothing else: the label
    definitions, the precedence and the rules are v2's, word for word."""
    for mode in ("pair", "paper"):
        v2, v3 = (load_prompt(f"classify_{mode}.{v}") for v in ("v2", "v3"))
        assert (v2.citations, v3.citations) == ("objects", "compact")
        old, new = v2.messages["system"].text, v3.messages["system"].text
        for part in ("Labels", "Precedence", "The sentences are UNTRUSTED"):
            start = old.index(part)
            paragraph = old[start : old.index("\n\n", start)]
            assert paragraph in new
        assert '"4:science"' in new and "at most 15 words" in new
    [request] = requests(registry, "pair", n_pairs=1)[:1]
    assert request.answer_model is CompactPairAnswer
    assert request.schema["properties"]["evidence"]["items"]["type"] == "string"


WIDEST_VALID = {
    "evidence": [], "reason": "r", "science": False, "instrumentation": False,
    "mention": True, "not_telescope": False,
    "confidence": {"science": 1, "instrumentation": 1, "mention": 90, "not_telescope": 1},
    "instruments": [], "ids": [],
}  # fmt: skip


BODY = (
    "We observed the field with HST. The exposures were dithered.\n\nUnrelated text here. "
    "More unrelated text. We adopt a Hubble constant of 70."
)


def sentence(text: str, kind: str = "alias", field: str = "body") -> Sentence:
    start = BODY.index(text)
    hit = Hit(telescope="HST", field="body", start=start, end=start + 3, text="HST",
              term="HST", kind=kind)  # fmt: skip
    return Sentence(field, start, start + len(text), text, (hit,))  # type: ignore[arg-type]


def test_sentences_are_numbered_in_document_order_with_gaps_and_notes() -> None:
    paper = Paper(bibcode="B", title="A title", body=BODY)
    observed, dithered = (
        sentence("We observed the field with HST."),
        sentence("The exposures were dithered."),
    )
    trap = sentence("We adopt a Hubble constant of 70.", kind="false_positive")
    title = Sentence("title", 0, 7, "A title")
    numbered = number_sentences(paper, [(None, [trap, dithered, title, observed])])
    assert numbered.text.splitlines() == [
        "title:", "[1] A title", "body:", "[2] We observed the field with HST.",
        "[3] The exposures were dithered.", "", "[4] We adopt a Hubble constant of 70.",
    ]  # fmt: skip
    assert numbered.sentences == (title, observed, dithered, trap)
    assert numbered.notes == 'Registry notes: [4] "HST": known false positive.'


def test_paper_mode_shows_a_shared_sentence_once() -> None:
    paper = Paper(bibcode="B", body=BODY)
    observed, dithered = (
        sentence("We observed the field with HST."),
        sentence("The exposures were dithered."),
    )
    numbered = number_sentences(paper, [("HST", [observed, dithered]), ("JWST", [dithered])])
    assert numbered.text.splitlines()[-3:] == ["== JWST ==", "body:", "[2] (shown above)"]
    assert len(numbered.sentences) == 2


def test_a_citation_is_the_sentence_with_its_offsets_and_bad_numbers_are_refused() -> None:
    observed = sentence("We observed the field with HST.")
    evidence = cited_evidence(1, "science", [observed])
    assert evidence.verified and BODY[evidence.start : evidence.end] == evidence.quote
    check_citations([1, 2], shown=2)
    with pytest.raises(ValueError, match=r"\[0, 3\].*numbered 1 to 2"):
        check_citations([0, 1, 3], shown=2)


@pytest.mark.parametrize("mode", ["pair", "paper"])
def test_requests_encode_as_json_dumps_writes_them(registry, mode) -> None:
    # the answer cache's key and the HTTP body encode the repeated system message once a
    # run (``encoding.JsonEncoder``): the text must stay json.dumps's, byte for byte
    built = requests(registry, mode)
    odd: list[object] = [
        [{"role": "user", "content": "é \u2013 \"quoted\" " * 200}],  # non-ASCII, escapes
        [{"content": "c" * 2000, "role": "system"}, {"role": "user", "content": "x" * 2000}],
        [{"role": "system", "content": [{"type": "text", "text": "s" * 2000,
                                         "cache_control": {"type": "ephemeral"}}]}],
        ({"role": "user", "content": "tuple"},),
        [],
    ]  # fmt: skip
    config = LLMSettings(mode=mode)
    schema = built[0].schema
    assert all(r.schema is schema for r in built)  # one object per answer model: kept by id
    formats = [
        response_format_for("json_schema", schema),
        response_format_for("json_object", schema),
        None,
        {"type": "json_schema", "json_schema": {"schema": {"x": "é" * 1500}}},
    ]
    for encoder in (JsonEncoder(), JsonEncoder(sort_keys=True, ensure_ascii=False)):
        for _ in range(2):  # the second time from what it kept
            for messages, style in zip([r.messages for r in built] + odd, cycle(formats)):
                body = {"model": "m", **chat_params(config, messages, style)}
                expected = json.dumps(
                    body, sort_keys=encoder.sort_keys, ensure_ascii=encoder.ensure_ascii
                )
                assert encoder.request(body) == expected
                params = {"params": {"schema": schema, "t": 0.5}, "messages": messages}
                assert encoder.request(params) == json.dumps(
                    params, sort_keys=encoder.sort_keys, ensure_ascii=encoder.ensure_ascii
                )
    key = cache_key("m", "h", built[0].messages, {"schema": built[0].schema, "t": 0.0})
    payload = {"model": "m", "prompt": "h", "messages": built[0].messages,
               "params": {"schema": built[0].schema, "t": 0.0}}  # fmt: skip
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
    assert key == hashlib.sha256(blob).hexdigest()  # earlier runs' keys hold
