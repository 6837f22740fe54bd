"""Tier 0: decisions, confidences, evidence and features of the rules classifier."""

from __future__ import annotations

import pytest

from amc.classify.rules import classify_rules, rule_features
from amc.domain.models import Label, Pair, Paper
from amc.registry import load_registry
from amc.snippets import find_snippets

REGISTRY = load_registry()


def classify(telescope: str, **fields: str):  # type: ignore[no-untyped-def]
    paper = Paper(bibcode="2024TEST...1A", **fields)
    pair = Pair(paper=paper, telescope=telescope)
    tel = None if telescope == "NONE" else REGISTRY.get(telescope)
    snippets = find_snippets(paper, tel) if tel else []
    return classify_rules(pair, snippets, tel, REGISTRY)


def only(result, label: Label) -> bool:  # type: ignore[no-untyped-def]
    return result.labels is not None and result.labels.positives == [label]


def test_no_hit_is_not_telescope() -> None:
    result = classify("HST", body="A theoretical study of stellar winds.")
    assert only(result, Label.not_telescope)
    assert "not named" in result.reason and result.evidence == []


def test_traps_only_are_not_telescope_with_evidence_quoted() -> None:
    body = "We adopt a Hubble constant of 70 km/s/Mpc. The Hubble tension persists."
    result = classify("HST", body=body)
    assert only(result, Label.not_telescope)
    assert result.confidence.not_telescope >= 0.85
    assert "trap" in result.reason
    (evidence,) = result.evidence
    assert body[evidence.start : evidence.end] == evidence.quote
    assert "Hubble constant" in evidence.quote


def test_grant_only_is_not_telescope() -> None:
    result = classify(
        "HST",
        body="We model the dust emission of nearby galaxies.",
        acknowledgments="J.S. is supported by NASA Hubble Fellowship grant HST-HF2-51234.001-A.",
    )
    assert only(result, Label.not_telescope)
    assert "grant" in result.reason


def test_observations_with_the_telescope_are_science() -> None:
    result = classify(
        "HST",
        body="We observed the cluster with HST/WFC3 in the F140W filter (program GO 15000). "
        "The images were drizzled with AstroDrizzle.",
    )
    assert only(result, Label.science)
    assert result.confidence.science >= 0.8
    assert result.evidence and "HST/WFC3" in result.evidence[0].quote


def test_evidence_for_one_telescope_does_not_lend_itself_to_another() -> None:
    body = (
        "We observed four transits with the Hubble Space Telescope (program GO 14915) using "
        "the G141 grism. Future JWST observations will extend the spectrum."
    )
    assert only(classify("HST", body=body), Label.science)
    assert only(classify("JWST", body=body), Label.mention)


def test_citations_and_future_tense_are_a_mention() -> None:
    result = classify(
        "CHANDRA",
        body="Previous Chandra studies (Smith et al. 2019; Lee & Kim 2020) found hot gas, "
        "and future missions will probe it further.",
    )
    assert only(result, Label.mention)
    assert result.confidence.mention > result.confidence.science


def test_a_paper_about_the_instruments_software_is_instrumentation() -> None:
    result = classify(
        "JWST",
        title="A data reduction pipeline for JWST NIRSpec time-series observations",
        abstract="We present an open-source Python package that calibrates JWST NIRSpec "
        "detector data, models 1/f noise and the instrument systematics.",
        body="The pipeline corrects the detector's 1/f noise. Our software is on GitHub. "
        "Calibration of the NIRSpec PRISM flux is described in Section 3.",
    )
    assert result.labels is not None and result.labels.instrumentation
    assert not result.labels.mention and not result.labels.not_telescope


def test_none_pairs_are_all_false() -> None:
    result = classify("NONE", body="We observed with HST.")
    assert result.labels is not None and result.labels.positives == []
    assert result.n_snippets == 0


@pytest.mark.parametrize(
    "body",
    [
        "We observed with HST/WFC3.",
        "Earlier HST images (Smith 2001) showed this.",
        "The Hubble constant is 70.",
        "",
    ],
)
def test_confidences_are_probabilities_and_agree_with_the_labels(body: str) -> None:
    result = classify("HST", body=body)
    conf = result.confidence.model_dump()
    assert all(0.0 <= v <= 1.0 for v in conf.values())
    assert result.labels is not None
    for label in result.labels.positives:
        assert conf[label.value] == max(conf.values())
    assert result.tier == "rules" and result.registry_hash == REGISTRY.content_hash


def test_features_count_hits_by_kind_and_cues() -> None:
    paper = Paper(
        bibcode="x",
        title="HST imaging of NGC 1234",
        body="We observed NGC 1234 with HST/ACS. The Hubble constant is 70. See Webb et al. 2019.",
        acknowledgments="Support for program HST-GO-12345 was provided by NASA.",
    )
    tel = REGISTRY.get("HST")
    f = rule_features(Pair(paper=paper, telescope="HST"), find_snippets(paper, tel), tel, REGISTRY)
    assert f.real_hits == 3  # title HST, body HST and ACS
    assert f.instruments_named == 1 and f.title_hit == 1
    assert f.false_positive_hits == 1 and f.grant_hits == 1
    assert f.own_use_sentences == 1 and f.first_person_sentences == 1
    assert set(f.as_dict()) >= {"real_hits", "own_use_sentences", "mention_cues"}
