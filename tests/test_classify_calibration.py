"""The cascade's calibration: isotonic fit, the threshold for a target agreement, storage,
and the cascade deciding with it. Planted truth: synthetic confidences whose chance of
agreeing with the reference is a known increasing function."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from amc.classify.calibration import (
    ARTIFACT_MANIFEST,
    NEVER,
    CalibrationError,
    artifact_calibration,
    fit_cascade_calibration,
    fit_isotonic,
    save_calibration,
    store_in_artifact,
)
from amc.classify.cascade import needs_llm
from amc.domain.models import Classification, LabelConfidence, Pair, Paper, TelescopeLabels
from amc.settings import load_settings


def planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences uniform on [0, 1]; agreement with probability 0.5 + 0.5 * c. Pairs kept
    above t agree 0.5 + 0.5 * (1 + t) / 2 of the time: 90 % from t = 0.6 (40 % kept)."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0, 1, n)
    return confidence, rng.uniform(0, 1, n) < 0.5 + 0.5 * confidence


def test_isotonic_pools_violators_into_a_monotone_step_function() -> None:
    x, y = fit_isotonic(np.array([4.0, 1.0, 3.0, 2.0, 2.0]), np.array([1.0, 1.0, 1.0, 0.0, 0.0]))
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert y.tolist() == pytest.approx([1 / 3, 1 / 3, 1.0, 1.0])  # (1 + 0 + 0) / 3 pooled
    xs, ys = fit_isotonic(*planted(2000, 0))
    assert np.all(np.diff(ys) >= 0) and np.all(np.diff(xs) > 0)


def test_the_threshold_meets_the_target_on_pairs_it_never_saw() -> None:
    confidence, agree = planted(6000, 1)
    calibration = fit_cascade_calibration(
        confidence, agree, 0.9, tier="rules", reference="planted", raw_threshold=0.8
    )
    assert calibration.agreement >= 0.9 and 0.25 < calibration.decided_share < 0.55
    fresh_confidence, fresh_agree = planted(20000, 2)
    kept = np.interp(fresh_confidence, calibration.x, calibration.y) >= calibration.threshold
    assert [calibration.decides(c) for c in fresh_confidence[:50]] == kept[:50].tolist()
    assert fresh_agree[kept].mean() >= 0.885  # holds out of sample (some slack for noise)
    assert 0.25 < kept.mean() < 0.55  # about the 40 % the planted truth allows
    assert calibration.raw_decided_share == pytest.approx((confidence >= 0.8).mean())


def test_an_unreachable_target_sends_every_pair_to_the_llm() -> None:
    confidence, agree = planted(500, 3)
    calibration = fit_cascade_calibration(confidence, agree & (confidence < 0), 0.98,
                                          tier="rules", reference="planted")  # fmt: skip
    assert calibration.threshold == NEVER and calibration.decided_share == 0.0
    assert not calibration.decides(1.0)


def test_too_few_pairs_is_an_error_that_says_how_many() -> None:
    with pytest.raises(CalibrationError, match="at least 10 pairs"):
        fit_cascade_calibration(np.ones(3), np.ones(3, bool), 0.98, tier="rules", reference="x")


def unsure_rules_verdict(confidence: float) -> tuple[Classification, Pair]:
    pair = Pair(paper=Paper(bibcode="B", body="We observed it with HST."), telescope="HST")
    c = Classification(
        pair_id=pair.pair_id, bibcode="B", telescope="HST", labels=TelescopeLabels(mention=True),
        confidence=LabelConfidence(mention=confidence), n_snippets=1,
    )  # fmt: skip
    return c, pair


def test_the_cascade_decides_with_the_calibration_instead_of_the_raw_threshold(
    tmp_path: Path,
) -> None:
    confidence, agree = planted(3000, 4)
    calibration = fit_cascade_calibration(confidence, agree, 0.85, tier="rules", reference="x")
    path = save_calibration(calibration, tmp_path / "cal.json")
    verdict, pair = unsure_rules_verdict(0.7)  # kept: 0.7 < 0.8 but P(agree) is ~0.85 there
    assert calibration.decides(0.7)
    raw = load_settings(environ={}, tier="cascade")
    assert needs_llm(verdict, pair, raw)
    assert not needs_llm(verdict, pair, load_settings(environ={}, cascade_calibration=path))
    shaky, _ = unsure_rules_verdict(0.2)
    assert needs_llm(shaky, pair, load_settings(environ={}, cascade_calibration=path))


def test_a_trained_models_calibration_lives_in_its_manifest(tmp_path: Path) -> None:
    from amc.classify.trained.artifact import MANIFEST_FILE

    assert ARTIFACT_MANIFEST == MANIFEST_FILE
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"format_version": 1, "thresholds": {}}))
    assert artifact_calibration(tmp_path) is None
    confidence, agree = planted(1000, 5)
    calibration = fit_cascade_calibration(confidence, agree, 0.9, tier="trained", reference="x")
    store_in_artifact(calibration, tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["format_version"] == 1 and "thresholds" in manifest  # the rest is kept
    assert artifact_calibration(tmp_path) == calibration
    verdict, pair = unsure_rules_verdict(0.7)
    settings = load_settings(environ={}, model_path=tmp_path)
    assert needs_llm(verdict, pair, settings) is not calibration.decides(0.7)
    wrong = load_settings(
        environ={}, cascade_calibration=save_calibration(calibration, tmp_path / "c.json")
    )
    with pytest.raises(CalibrationError, match="made for the trained tier"):
        needs_llm(verdict, pair, wrong)
