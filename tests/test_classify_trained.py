"""The trained tier: fitting, out-of-fold probabilities, the artifact and its checks, tiers."""

from __future__ import annotations

import json
import os
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from amc.classify.dispatch import classify_pairs
from amc.classify.trained import (
    ModelArtifactError,
    TrainingError,
    cross_val_pred_probs,
    decode_labels,
    gold_matrix,
    load_model,
    save_model,
    train_model,
)
from amc.classify.trained.artifact import FORMAT_VERSION
from amc.classify.trained.features import pair_inputs
from amc.classify.trained.model import fit_label_model
from amc.domain.models import NONE_TELESCOPE, Classification, Pair
from amc.links import pair_links
from amc.registry import load_registry
from amc.settings import load_settings
from eval.synthetic import make_labelled_pairs


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Pair], dict]:
    registry, settings = load_registry(), load_settings(environ={})
    pairs = make_labelled_pairs(300, seed=11)
    result = train_model(pairs, registry, settings, n_splits=4)
    folder = save_model(result.model, tmp_path_factory.mktemp("model") / "amc")
    return folder, pairs, result.cv_report


@pytest.mark.slow
def test_cross_validated_scores_are_recorded_and_good(trained: tuple) -> None:
    folder, _, cv = trained
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["n_pairs"] == 300
    assert manifest["label_sources"]["human"] == 300 and manifest["label_sources"]["llm"] == 0
    assert manifest["cv_metrics_by_source"]["human"]["n_pairs"] == 300
    assert manifest["registry_hash"] == load_registry().content_hash
    assert {"scikit-learn", "numpy", "python"} <= set(manifest["versions"])
    assert cv["cell_macro_f1"] > 0.9
    assert manifest["cv_metrics"]["cell_macro_f1"] == cv["cell_macro_f1"]


@pytest.mark.slow
def test_saved_model_predicts_like_the_fitted_one(trained: tuple) -> None:
    folder, pairs, _ = trained
    registry, settings = load_registry(), load_settings(environ={})
    model = load_model(folder, registry, settings)
    inputs = [pair_inputs(p, registry, settings) for p in pairs[:40]]
    probs = model.predict_proba(inputs)
    assert probs.shape == (40, 4) and ((probs >= 0) & (probs <= 1)).all()
    predicted = [decode_labels(row, model.thresholds) for row in probs]
    right = sum(
        p.gold == lab for p, lab in zip(pairs[:40], predicted, strict=True)
        if p.telescope != NONE_TELESCOPE
    )  # fmt: skip
    assert right >= 34  # these rows were in training: nearly all must come back


@pytest.mark.slow
def test_mismatched_registry_fails_with_a_clear_message(trained: tuple, tmp_path: Path) -> None:
    folder, _, _ = trained
    extra = tmp_path / "extra.yaml"
    extra.write_text("telescopes:\n  SPITZER:\n    name: Spitzer\n    aliases: [Spitzer]\n")
    other = load_registry([extra])
    with pytest.raises(ModelArtifactError, match=r"registry .* --registry files"):
        load_model(folder, other, load_settings(environ={}))


@pytest.mark.slow
def test_other_window_and_tampered_file_are_refused(trained: tuple, tmp_path: Path) -> None:
    folder, _, _ = trained
    registry = load_registry()
    with pytest.raises(ModelArtifactError, match="window_sentences"):
        load_model(folder, registry, load_settings(environ={}, window_sentences=1))
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "manifest.json").write_bytes((folder / "manifest.json").read_bytes())
    (copy / "model.joblib").write_bytes((folder / "model.joblib").read_bytes() + b"x")
    with pytest.raises(ModelArtifactError, match="sha256"):
        load_model(copy, registry, load_settings(environ={}))
    os.chmod(copy / "model.joblib", 0o666)
    with pytest.raises(ModelArtifactError, match="writable by every user"):
        load_model(copy, registry, load_settings(environ={}))
    with pytest.raises(ModelArtifactError, match="amc train"):
        load_model(tmp_path / "nothing", registry, load_settings(environ={}))


@pytest.mark.slow
def test_single_class_and_rare_labels_do_not_break_folds() -> None:
    x = np.random.default_rng(0).random((30, 3))
    constant = fit_label_model(x, np.zeros(30, dtype=bool))
    assert constant.estimator is None and constant.predict_proba(x).max() < 0.05
    registry, settings = load_registry(), load_settings(environ={})
    pairs = make_labelled_pairs(60, seed=5)
    labels = gold_matrix(pairs)
    labels[:, 1] = False
    labels[0, 1] = True  # one instrumentation positive: most folds never see one
    probs = cross_val_pred_probs([pair_inputs(p, registry, settings) for p in pairs], labels, 5)
    assert probs.shape == (60, 4) and np.isfinite(probs).all()


def test_training_needs_enough_labelled_pairs() -> None:
    pairs = make_labelled_pairs(10, seed=1)
    with pytest.raises(TrainingError, match="at least"):
        train_model(pairs, load_registry(), load_settings(environ={}))
    unlabelled = [p.model_copy(update={"gold": None}) for p in make_labelled_pairs(30)]
    with pytest.raises(TrainingError, match="no stored labels"):
        gold_matrix(unlabelled)


@pytest.mark.slow
def test_trained_tier_and_cascade_use_the_model(
    trained: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, pairs, _ = trained
    registry = load_registry()
    settings = load_settings(environ={}, tier="trained", model_path=folder)
    results = classify_pairs(pairs[:20], registry, settings)
    assert all(r.tier == "trained" and r.ok for r in results)
    assert all(r.labels == p.gold for r, p in zip(results, pairs[:20], strict=True))
    # links follow the model's labels (the rules' own when both say science)
    assert all(
        r.links == pair_links(p, r.labels, registry)
        for r, p in zip(results, pairs[:20], strict=True)
    )
    assert any(r.links for r in results)
    sent: list[str] = []

    class FakeSession:  # the LLM stage, answered by the trained tier
        stopped = False
        stop = None

        def __init__(self, *args: object) -> None:
            pass

        def submit(self, items: list) -> Future[list[Classification]]:
            sent.extend(pair.pair_id for pair, _ in items)
            done: Future[list[Classification]] = Future()
            done.set_result([classify_pairs([pair], registry, settings)[0] for pair, _ in items])
            return done

        def close(self) -> None:
            pass

    import amc.classify.dispatch

    monkeypatch.setattr(amc.classify.dispatch, "LLMSession", FakeSession)
    cascade = load_settings(environ={}, tier="cascade", model_path=folder, cascade_threshold=0.99)
    out = classify_pairs(pairs[:20], registry, cascade)
    unsure = {r.pair_id for r in results if r.labels and r.confidence.decided(r.labels) < 0.99}
    unsure -= {p.pair_id for p in pairs[:20] if p.telescope == NONE_TELESCOPE}
    assert set(sent) == unsure and len(out) == 20
    assert all(r.tier == "trained" for r in out)


def test_trained_tier_without_a_model_says_how_to_get_one() -> None:
    settings = load_settings(environ={}, tier="trained")
    with pytest.raises(ModelArtifactError, match="AMC_MODEL_PATH"):
        classify_pairs(make_labelled_pairs(2), load_registry(), settings)
