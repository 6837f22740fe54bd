"""The LLM tier's links (``amc/classify/llm/links.py``): candidate ids shown in the same
request as the labels, the answer's instruments and id uses checked (an unknown one is
re-asked), turned into verified links with source ``llm``; v1 answers keep the rules'
links. Everything goes through the scripted OpenAI-compatible server over HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from llm_server import Reply, ScriptedLLMServer

from amc.classify.llm import classify_pairs_llm_sync
from amc.classify.llm.links import candidate_labels, id_candidates, with_candidate_sentences
from amc.domain.models import Classification, Pair, Paper
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets
from amc.snippets.budget import budget_sentences

BODY = (
    "Our targets were selected from the literature. We observed NGC 1234 with the Hubble "
    "Space Telescope using WFC3 in program GO 12345. The images were reduced as usual. "
    "Earlier ACS imaging by Smith et al. (2001) in program GO 9999 found no companion."
)
ACK = (
    "Support for program 15678 was provided by NASA through a grant from STScI. "
    + "This work made use of public software. " * 60
    + "The data are available at MAST: 10.17909/abcd-1234."
)
V1 = {"prompt_name": "classify_pair.v1", "paper_prompt_name": "classify_paper.v1"}
# the sentence numbers and candidate ids the request shows for this paper (asserted below)
WE_OBSERVED, EARLIER_ACS, FUNDING, DATA_DOI = 3, 5, 6, 7


def config(server: ScriptedLLMServer, **kw: Any) -> LLMSettings:
    values = {"model": "openai/local", "api_base": server.api_base, "backoff_s": 0.01,
              "timeout_s": 5, "prices": {"openai/local": {"input_per_mtok": 0.1,
                                                          "output_per_mtok": 0.4}}}  # fmt: skip
    return LLMSettings(**(values | kw))


def pair_of(registry: Registry, telescope: str = "HST") -> tuple[Pair, list[Any]]:
    paper = Paper(bibcode="2024LINK...1A", title="A study of clusters", body=BODY,
                  acknowledgments=ACK)  # fmt: skip
    return Pair(paper=paper, telescope=telescope), find_snippets(paper, registry.get(telescope))


def cited(instruments: list[str] | None, ids: list[str] | None, science: bool = True) -> dict:
    label = "science" if science else "mention"
    answer: dict[str, Any] = {
        "evidence": [{"sentence": WE_OBSERVED, "supports": label}],
        "reason": "test answer",
        "science": science, "instrumentation": False, "mention": not science,
        "not_telescope": False,
        "confidence": {"science": 90 if science else 10, "instrumentation": 2,
                       "mention": 10 if science else 90, "not_telescope": 1},
    }  # fmt: skip
    if instruments is not None:
        answer["instruments"] = instruments
    if ids is not None:
        answer["ids"] = ids
    return answer


def run(
    server: ScriptedLLMServer, registry: Registry, *replies: Reply, **kw: Any
) -> Classification:
    server.script(*replies)
    [result] = classify_pairs_llm_sync([pair_of(registry)], registry, config(server, **kw))
    assert result.ok, result.error
    return result


def test_the_request_lists_candidate_ids_with_their_sentences_and_the_instrument_names(
    server, registry
) -> None:
    run(server, registry, Reply.answer(cited([], [])))
    [request] = server.chat_requests
    user = request.messages[1]["content"]
    assert (
        "Telescope: HST (Hubble Space Telescope); short names: HST, Hubble, HLA, HUDF, HDF, "
        "HFF, HSC, WFPC, HSP, COSTAR; instruments: WFC3, ACS, STIS, COS, NICMOS, WFPC2, FGS, "
        "FOS, FOC, GHRS.\n" in user
    )
    assert (
        "Candidate ids: P1 HST:12345 (sentence 3); P2 HST:9999 (sentence 5); "
        "P3 HST:15678 (sentence 6); P4 10.17909/abcd-1234 (sentence 7)." in user
    )
    assert f"[{DATA_DOI}] The data are available at MAST: 10.17909/abcd-1234." in user
    assert f"[{WE_OBSERVED}] We observed NGC 1234" in user
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["ids"] == {"items": {"type": "string"}, "type": "array"}
    assert {"instruments", "ids"} <= set(schema["required"])  # strict: every field required


def test_links_come_from_the_answer_verified_with_source_llm(server, registry) -> None:
    answer = cited([f"WFC3:{WE_OBSERVED}"], ["P1:data", "P2:no", "P3:grant", "P4:data"])
    result = run(server, registry, Reply.answer(answer))
    assert len(server.chat_requests) == 1  # links in the same call as the labels
    got = [(k.kind, k.value, k.source, k.verified) for k in result.links]
    assert got == [
        ("instrument", "WFC3", "llm", True),
        ("programme", "HST:12345", "llm", True),
        ("doi", "10.17909/abcd-1234", "llm", True),
        ("grant", "HST:15678", "llm", True),
    ]  # HST:9999 (others' work) was rejected, though the rules read it as data
    paper = pair_of(registry)[0].paper
    for link in result.links:
        assert link.quote == paper.text(link.field)[link.start : link.end]
    wfc3, programme, doi, grant = result.links
    assert wfc3.quote.startswith("We observed NGC 1234") and wfc3.field == "body"
    assert "GO 12345" in programme.quote
    assert doi.field == "acknowledgments" and "10.17909/abcd-1234" in doi.quote
    assert grant.quote.startswith("Support for program 15678")


def test_an_instrument_whose_cited_sentence_does_not_name_it_is_not_stored(
    server, registry
) -> None:
    result = run(server, registry, Reply.answer(cited([f"STIS:{WE_OBSERVED}", "ACS:5"], [])))
    # STIS is a name of HST but not in sentence 3: no link; ACS is in sentence 5
    assert [(k.kind, k.value) for k in result.links] == [("instrument", "ACS")]
    assert result.links[0].quote.startswith("Earlier ACS imaging")


@pytest.mark.parametrize(
    ("instruments", "ids", "complaint"),
    [
        (["NIRSpec:3"], [], "'NIRSpec' is not an instrument name of HST"),
        (["WFC3:42"], [], "cites sentence 42, but the sentences shown are numbered 1 to"),
        (["WFC3 in sentence 3"], [], "is not NAME:SENTENCE"),
        ([], ["P9:data"], "'P9' is not a candidate id of HST; its candidate ids are ['P1',"),
        ([], ["P1:used"], "is not ID:USE"),
    ],
)
def test_an_unknown_instrument_sentence_or_candidate_is_reasked(
    server, registry, instruments: list[str], ids: list[str], complaint: str
) -> None:
    good = cited([f"WFC3:{WE_OBSERVED}"], ["P1:data"])
    result = run(server, registry, Reply.answer(cited(instruments, ids)), Reply.answer(good))
    assert len(server.chat_requests) == 2
    follow_up = server.chat_requests[1].messages[-1]["content"]
    assert complaint in follow_up
    assert [(k.value, k.source) for k in result.links] == [("WFC3", "llm"), ("HST:12345", "llm")]


def test_link_fields_that_stay_malformed_are_dropped_and_the_labels_stand(server, registry) -> None:
    """A small model may never write the link fields right: after the re-ask the labels and
    evidence stand and the links are the rules' (as for an answer without link fields)."""
    bad = Reply.answer(cited([], ["P7:data"]))
    server.script(bad, bad)
    [result] = classify_pairs_llm_sync([pair_of(registry)], registry, config(server))
    assert len(server.chat_requests) == 2
    assert "'P7' is not a candidate id" in server.chat_requests[1].messages[-1]["content"]
    assert result.ok and result.labels is not None and result.labels.science
    assert result.links and {k.source for k in result.links} == {"rules"}


def test_an_answer_that_stays_invalid_fails_the_pair_with_its_raw_output(server, registry) -> None:
    bad = Reply.truncated_json()
    server.script(bad, bad)
    [result] = classify_pairs_llm_sync([pair_of(registry)], registry, config(server))
    assert not result.ok and result.error is not None and result.error.kind == "llm_answer"
    assert '"mention": fal' in result.reason


def test_a_mention_verdict_gets_no_links_even_if_the_answer_lists_some(server, registry) -> None:
    result = run(server, registry, Reply.answer(cited([f"WFC3:{WE_OBSERVED}"], ["P1:data"], False)))
    assert result.labels is not None and result.labels.mention
    assert result.links == []


def test_v1_answers_and_answers_without_link_fields_keep_the_rules_links(server, registry) -> None:
    quote = "We observed NGC 1234 with the Hubble Space Telescope"
    v1_answer = {
        "science": True, "instrumentation": False, "mention": False, "not_telescope": False,
        "confidence": {"science": 0.9, "instrumentation": 0.0, "mention": 0.1,
                       "not_telescope": 0.0},
        "evidence": [{"quote": quote, "supports": "science"}], "reason": "v1 answer",
    }  # fmt: skip
    v1 = run(server, registry, Reply.answer(v1_answer), **V1)
    assert "Candidate ids" not in server.chat_requests[0].messages[1]["content"]
    rules = {(k.kind, k.value) for k in v1.links}
    assert {("instrument", "WFC3"), ("programme", "HST:12345"), ("grant", "HST:15678")} <= rules
    assert {k.source for k in v1.links} == {"rules"}
    # an answer to the v2 prompt written without the link fields (e.g. an earlier answer)
    plain = run(server, registry, Reply.answer(cited(None, None)))
    assert {(k.kind, k.value, k.source) for k in plain.links} == {
        (kind, value, "rules") for kind, value in rules
    }


def test_paper_mode_lists_candidates_per_telescope_and_links_each(server, registry) -> None:
    paper = Paper(bibcode="2024LINK...2A", title="A study of clusters",
                  body=BODY + " Future JWST spectra will extend this sample.",
                  acknowledgments=ACK)  # fmt: skip
    items = [(Pair(paper=paper, telescope=t), find_snippets(paper, registry.get(t)))
             for t in ("HST", "JWST")]  # fmt: skip
    server.script(Reply.answer({"results": [
        {"telescope": "HST", **cited([f"WFC3:{WE_OBSERVED}"], ["P1:data", "P3:grant"])},
        {"telescope": "JWST", **cited([], [], science=False)},
    ]}))  # fmt: skip
    results = classify_pairs_llm_sync(items, registry, config(server, mode="paper"))
    [request] = server.chat_requests
    user = request.messages[1]["content"]
    assert f"[{WE_OBSERVED}] We observed NGC 1234" in user
    assert "- HST: Hubble Space Telescope; short names: HST, Hubble" in user
    assert re.search(
        r"- JWST: James Webb Space Telescope; short names: .*; instruments: NIRCam", user
    )
    assert "Candidate ids: HST: P1 HST:12345 (sentence 3); P2 HST:9999 (sentence" in user
    by_telescope = {r.telescope: r for r in results}
    assert [(k.kind, k.value, k.source) for k in by_telescope["HST"].links] == [
        ("instrument", "WFC3", "llm"),
        ("programme", "HST:12345", "llm"),
        ("grant", "HST:15678", "llm"),
    ]
    assert by_telescope["JWST"].links == []


def test_a_candidate_sentence_the_budget_left_out_is_added_to_the_evidence(registry) -> None:
    pair, snippets = pair_of(registry)
    telescope = registry.get("HST")
    found = id_candidates(pair.paper, telescope, registry, snippets)
    assert [j.candidate.value for j in found] == [
        "HST:12345", "HST:9999", "HST:15678", "10.17909/abcd-1234"]  # fmt: skip
    tiny = budget_sentences(pair.paper, snippets, 20)  # a budget that keeps almost nothing
    shown = with_candidate_sentences(pair.paper, tiny, found)
    for j in found:
        c = j.candidate
        assert any(s.field == c.field and s.start <= c.start and c.end <= s.end for s in shown)
    assert list(candidate_labels([found[:2], found[2:]])[1]) == ["P3", "P4"]
