"""Tests for amc.models: label precedence, pair ids, failed classifications, confidence."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from amc.domain.errors import ClassificationError, UnknownTelescopeError
from amc.domain.models import (
    LABELS,
    Classification,
    Label,
    LabelConfidence,
    Pair,
    Paper,
    TelescopeLabels,
    pair_id,
    split_pair_id,
)

# --- TelescopeLabels precedence (tracs-task.md "Precedence") -----------------------------


@pytest.mark.parametrize("strong", ["science", "instrumentation"])
def test_science_or_instrumentation_clears_mention_and_not_telescope(strong: str) -> None:
    labels = TelescopeLabels(**{strong: True, "mention": True, "not_telescope": True})
    assert getattr(labels, strong) is True
    assert labels.mention is False
    assert labels.not_telescope is False


def test_science_and_instrumentation_can_both_be_true() -> None:
    labels = TelescopeLabels(science=True, instrumentation=True, mention=True)
    assert labels.science and labels.instrumentation
    assert not labels.mention


def test_mention_clears_not_telescope() -> None:
    labels = TelescopeLabels(mention=True, not_telescope=True)
    assert labels.mention is True
    assert labels.not_telescope is False


def test_not_telescope_alone_is_kept() -> None:
    labels = TelescopeLabels(not_telescope=True)
    assert labels.not_telescope is True
    assert labels.positives == [Label.not_telescope]


def test_all_false_is_allowed_for_none_rows() -> None:
    labels = TelescopeLabels()
    assert labels.as_dict() == dict.fromkeys(
        ("science", "instrumentation", "mention", "not_telescope"), False
    )
    assert labels.positives == []
    assert labels.primary == "none"


def test_labels_are_frozen() -> None:
    labels = TelescopeLabels(science=True)
    with pytest.raises(ValidationError):
        labels.science = False  # type: ignore[misc]


def test_only_and_primary() -> None:
    assert TelescopeLabels.only("mention") == TelescopeLabels(mention=True)
    assert TelescopeLabels.only(Label.science, Label.instrumentation).primary == "science"
    # precedence applies through ``only`` too
    assert TelescopeLabels.only("science", "mention").mention is False


@pytest.mark.parametrize("combo", list(itertools.product([False, True], repeat=4)))
def test_conflicts_matches_normalisation(combo: tuple[bool, bool, bool, bool]) -> None:
    """A raw combination conflicts exactly when the validator had to change it."""
    science, instrumentation, mention, not_telescope = combo
    normalised = TelescopeLabels(
        science=science,
        instrumentation=instrumentation,
        mention=mention,
        not_telescope=not_telescope,
    )
    changed = normalised.as_dict() != dict(zip([lab.value for lab in LABELS], combo, strict=True))
    assert TelescopeLabels.conflicts(*combo) is changed


def test_conflicts_examples() -> None:
    assert TelescopeLabels.conflicts(True, False, True, False)
    assert TelescopeLabels.conflicts(False, True, False, True)
    assert TelescopeLabels.conflicts(False, False, True, True)
    assert not TelescopeLabels.conflicts(True, True, False, False)
    assert not TelescopeLabels.conflicts(False, False, False, True)
    assert not TelescopeLabels.conflicts(False, False, False, False)


# --- pair ids (split on the LAST underscore) --------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DEV.2017_wasp107_ms_HST", ("DEV.2017_wasp107_ms", "HST")),
        ("2021A&A...650A..12K_JWST", ("2021A&A...650A..12K", "JWST")),
        ("2019ApJ...880...12S_CHANDRA", ("2019ApJ...880...12S", "CHANDRA")),
        ("2020MNRAS.491.1234X_NONE", ("2020MNRAS.491.1234X", "NONE")),
    ],
)
def test_split_pair_id_on_last_underscore(value: str, expected: tuple[str, str]) -> None:
    assert split_pair_id(value) == expected


@pytest.mark.parametrize("bad", ["", "HST", "2021ApJ...1..1X", "_HST", "2021ApJ...1..1X_", "_"])
def test_split_pair_id_rejects_bad_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="bibcode"):
        split_pair_id(bad)


def test_pair_id_round_trips() -> None:
    bibcode = "2021A&A...650A..12K"
    assert split_pair_id(pair_id(bibcode, "HST")) == (bibcode, "HST")
    pair = Pair(paper=Paper(bibcode=bibcode), telescope="JWST")
    assert pair.pair_id == "2021A&A...650A..12K_JWST"


def test_paper_requires_bibcode_and_forbids_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Paper(bibcode="")
    with pytest.raises(ValidationError):
        Paper(bibcode="X", bodyy="typo")  # type: ignore[call-arg]


def test_paper_char_count_sums_text_fields() -> None:
    paper = Paper(
        bibcode="B", title="abc", abstract="de", body="f", acknowledgments="", grants="gh"
    )
    assert paper.char_count == 8


# --- Classification.failed ---------------------------------------------------------------


def test_failed_keeps_error_kind_and_message() -> None:
    error = ClassificationError("the model returned no labels for 2021X_HST")
    result = Classification.failed("2021X_HST", "2021X", "hst", error)
    assert result.labels is None
    assert result.ok is False
    assert result.error is not None
    assert result.error.kind == "classification"
    assert result.error.message == "the model returned no labels for 2021X_HST"
    assert result.telescope == "HST"
    assert result.pair_id == "2021X_HST"


def test_failed_with_plain_exception_uses_type_name() -> None:
    result = Classification.failed("B_JWST", "B", "JWST", RuntimeError("boom"))
    assert result.error is not None
    assert result.error.kind == "RuntimeError"
    assert result.error.message == "boom"
    assert result.labels is None


def test_failed_unknown_telescope_kind() -> None:
    error = UnknownTelescopeError("SPITZER", ["HST", "JWST"])
    result = Classification.failed("B_SPITZER", "B", "SPITZER", error, tier="rules")
    assert result.error is not None
    assert result.error.kind == "unknown_telescope"
    assert "SPITZER" in result.error.message
    assert result.tier == "rules"


def test_failed_empty_telescope_gets_placeholder() -> None:
    result = Classification.failed("B_", "B", "", ValueError("bad id"))
    assert result.telescope == "?"
    assert not result.ok


def test_successful_classification_is_ok() -> None:
    result = Classification(
        pair_id="B_HST", bibcode="B", telescope="hst", labels=TelescopeLabels(science=True)
    )
    assert result.ok
    assert result.telescope == "HST"


# --- LabelConfidence -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [1.2, -0.1, 1.0000001])
def test_confidence_out_of_bounds_rejected(value: float) -> None:
    with pytest.raises(ValidationError):
        LabelConfidence(science=value)


def test_confidence_bounds_inclusive() -> None:
    conf = LabelConfidence(science=1.0, mention=0.0)
    assert conf.of("science") == 1.0
    assert conf.of(Label.mention) == 0.0


def test_decided_is_weakest_call() -> None:
    conf = LabelConfidence(science=0.9, instrumentation=0.2, mention=0.3, not_telescope=0.05)
    labels = TelescopeLabels(science=True)
    # science true: 0.9; instrumentation false: 0.8; mention false: 0.7; not_telescope: 0.95
    assert conf.decided(labels) == pytest.approx(0.7)


def test_decided_uses_probability_of_a_false_label_complement() -> None:
    conf = LabelConfidence(science=0.6, instrumentation=0.0, mention=0.0, not_telescope=0.0)
    # the science label was decided false although P(science)=0.6 -> only 0.4 confident
    assert conf.decided(TelescopeLabels(not_telescope=False)) == pytest.approx(0.4)
    # decided true -> 0.6 is the weakest (others are 1.0)
    assert conf.decided(TelescopeLabels(science=True)) == pytest.approx(0.6)


def test_decided_all_certain() -> None:
    conf = LabelConfidence(mention=1.0)
    assert conf.decided(TelescopeLabels(mention=True)) == 1.0
