"""The trained tier: per-label scikit-learn models on snippet text plus rule features.

``amc train --data PATH`` fits, for each of the four labels, a class-weighted
logistic regression (calibrated with Platt scaling when the label has enough
positives) on TF-IDF of the pair's ranked snippets, the rules tier's features
and the telescope. It records cross-validated metrics and per-label decision
thresholds chosen on the out-of-fold probabilities, and saves a versioned
artifact. The same cross-validation gives the out-of-fold probabilities the
label audit (``eval.audit``) needs.

The artifact is a directory (``manifest.json`` + ``model.joblib``; see
``amc._artifact``). Security: unpickling runs code. ``load_model`` only reads
the path the user configured (``--model`` / ``AMC_MODEL_PATH``), refuses a
model file every user can write, and checks the manifest and the file's
sha256 before unpickling, which catches a stale, swapped or corrupted file
but not a forged manifest: only load artifacts you (or your team) trained.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from amc._artifact import (
    FORMAT_VERSION,
    MODEL_FILE,
    ModelArtifactError,
    library_versions,
    load_artifact,
    save_artifact,
)
from amc._features import FeatureBuilder, PairInputs, pair_inputs
from amc.errors import AmcError
from amc.models import (
    LABELS,
    NONE_TELESCOPE,
    Classification,
    LabelConfidence,
    Pair,
    TelescopeLabels,
)
from amc.pipeline import classify_pair
from amc.registry import Registry
from amc.settings import Settings

TIER = "trained"
#: fewest labelled pairs ``amc train`` accepts (cross-validation needs a few per fold)
MIN_TRAIN_PAIRS = 20
_THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


class TrainingError(AmcError):
    """The labelled data cannot train a model (too few pairs, no labels)."""

    kind = "training"


# --- fitting ---------------------------------------------------------------------------


@dataclass
class LabelModel:
    """One label's classifier, or a constant when training saw a single class."""

    estimator: Any | None
    constant: float = 0.0

    def predict_proba(self, x: Any) -> np.ndarray:
        if self.estimator is None:
            return np.full(x.shape[0], self.constant)
        return np.asarray(self.estimator.predict_proba(x)[:, 1], dtype=float)


def fit_label_model(x: Any, y: np.ndarray, seed: int = 0) -> LabelModel:
    """Class-weighted logistic regression, Platt-calibrated when both classes have >= 2 rows.

    A label with no positives (or no negatives) in this training set gets a
    smoothed constant, so a fold without any instrumentation pair still works.
    """
    positives, n = int(y.sum()), len(y)
    if positives in (0, n):
        return LabelModel(None, (positives + 0.5) / (n + 1.0))
    base = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, solver="liblinear")
    folds = min(3, positives, n - positives)
    model: Any = base
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        model = CalibratedClassifierCV(base, method="sigmoid", cv=cv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return LabelModel(model)


@dataclass
class TrainedModel:
    """Feature builder + one model per label (``LABELS`` order) + manifest."""

    features: FeatureBuilder
    label_models: list[LabelModel]
    thresholds: list[float] = field(default_factory=lambda: [0.5] * len(LABELS))
    manifest: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, inputs: Sequence[PairInputs]) -> np.ndarray:
        """Probabilities ``(n, 4)`` that each label is true."""
        x = self.features.transform(inputs)
        return np.column_stack([m.predict_proba(x) for m in self.label_models])


def fit_model(inputs: Sequence[PairInputs], labels: np.ndarray, seed: int = 0) -> TrainedModel:
    """Fit the feature builder and the four label models on ``inputs``/``labels`` (n, 4)."""
    builder = FeatureBuilder()
    x = builder.fit_transform(inputs)
    models = [fit_label_model(x, labels[:, j], seed) for j in range(labels.shape[1])]
    return TrainedModel(builder, models)


def cross_val_pred_probs(
    inputs: Sequence[PairInputs], labels: np.ndarray, n_splits: int = 5, seed: int = 0
) -> np.ndarray:
    """Out-of-fold probabilities ``(n, 4)``: each row predicted by a model that never saw it.

    Folds are stratified on the label combination so rare labels spread over folds.
    """
    labels = np.asarray(labels, dtype=bool)
    strata = label_strata(labels)
    smallest = int(np.bincount(strata).min()) if len(strata) else 0
    n_splits = max(2, min(n_splits, len(labels) // 2))
    if smallest < n_splits:  # sklearn warns; rare combinations are simply spread as it can
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
    folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    out = np.zeros(labels.shape, dtype=float)
    for train, test in folds.split(np.zeros(len(labels)), strata):
        model = fit_model([inputs[i] for i in train], labels[train], seed)
        out[test] = model.predict_proba([inputs[i] for i in test])
    return out


def label_strata(labels: np.ndarray) -> np.ndarray:
    """An integer per row naming its label combination (for stratified folds)."""
    weights = 1 << np.arange(labels.shape[1])
    return np.asarray(labels, dtype=int) @ weights


def best_thresholds(labels: np.ndarray, probs: np.ndarray) -> list[float]:
    """Per label, the grid threshold with the best binary F1 (0.5 for a label with no positives)."""
    out = []
    for j in range(labels.shape[1]):
        y = labels[:, j].astype(bool)
        if not y.any():
            out.append(0.5)
            continue
        f1 = [_f1(y, probs[:, j] >= t) for t in _THRESHOLD_GRID]
        out.append(float(_THRESHOLD_GRID[int(np.argmax(f1))]))
    return out


def _f1(y: np.ndarray, guess: np.ndarray) -> float:
    true_pos = int(np.sum(y & guess))
    total = int(y.sum() + guess.sum())
    return 2 * true_pos / total if total else 0.0


# --- decoding --------------------------------------------------------------------------


def decode_labels(probs: Sequence[float], thresholds: Sequence[float]) -> TelescopeLabels:
    """Labels from one row of probabilities, with the TRACS precedence.

    Science/instrumentation when over their thresholds; otherwise the pair is a
    mention or not_telescope, whichever is more likely (a telescope pair that
    was kept always has one of the four).
    """
    science = probs[0] >= thresholds[0]
    instrumentation = probs[1] >= thresholds[1]
    if science or instrumentation:
        return TelescopeLabels(science=bool(science), instrumentation=bool(instrumentation))
    if probs[2] >= probs[3]:
        return TelescopeLabels(mention=True)
    return TelescopeLabels(not_telescope=True)


def decode_matrix(
    probs: np.ndarray, thresholds: Sequence[float], telescopes: Sequence[str]
) -> np.ndarray:
    """``decode_labels`` over every row (all-false for ``NONE`` rows); bool matrix (n, 4)."""
    rows = [
        TelescopeLabels() if tel == NONE_TELESCOPE else decode_labels(row, thresholds)
        for row, tel in zip(probs, telescopes, strict=True)
    ]
    return np.array([[getattr(r, lab.value) for lab in LABELS] for r in rows], dtype=bool).reshape(
        len(rows), len(LABELS)
    )


def confidence_of(probs: Sequence[float]) -> LabelConfidence:
    return LabelConfidence(
        **{lab.value: round(float(p), 4) for lab, p in zip(LABELS, probs, strict=True)}
    )


# --- training from pairs ---------------------------------------------------------------


@dataclass
class TrainingResult:
    """A fitted model with its out-of-fold probabilities and cross-validated scores."""

    model: TrainedModel
    oof_probs: np.ndarray
    labels: np.ndarray
    telescopes: list[str]
    cv_report: dict[str, Any]


def gold_matrix(pairs: Sequence[Pair]) -> np.ndarray:
    """Stored labels of the pairs as a bool matrix (n, 4); every pair must have them."""
    missing = [p.pair_id for p in pairs if p.gold is None]
    if missing:
        raise TrainingError(
            f"{len(missing)} pair(s) have no stored labels (e.g. {missing[0]!r}); "
            "training and auditing need the four label columns on every row"
        )
    return np.array([[getattr(p.gold, lab.value) for lab in LABELS] for p in pairs], dtype=bool)


def train_model(
    pairs: Sequence[Pair],
    registry: Registry,
    settings: Settings,
    n_splits: int = 5,
    seed: int = 0,
) -> TrainingResult:
    """Cross-validate, choose thresholds on the out-of-fold probabilities, then fit on all."""
    from eval.scoring import score_arrays

    if len(pairs) < MIN_TRAIN_PAIRS:
        raise TrainingError(
            f"only {len(pairs)} labelled pair(s); training needs at least {MIN_TRAIN_PAIRS}"
        )
    labels = gold_matrix(pairs)
    inputs = [pair_inputs(p, registry, settings) for p in pairs]
    oof = cross_val_pred_probs(inputs, labels, n_splits, seed)
    thresholds = best_thresholds(labels, oof)
    telescopes = [p.telescope for p in pairs]
    predicted = decode_matrix(oof, thresholds, telescopes)
    report = score_arrays(np.array(telescopes, dtype=str), labels, predicted)
    model = fit_model(inputs, labels, seed)
    model.thresholds = thresholds
    model.manifest = _manifest(registry, settings, labels, telescopes, report.to_dict(), n_splits)
    model.manifest["thresholds"] = dict(zip([lab.value for lab in LABELS], thresholds, strict=True))
    return TrainingResult(model, oof, labels, telescopes, model.manifest["cv_metrics"])


def _manifest(
    registry: Registry,
    settings: Settings,
    labels: np.ndarray,
    telescopes: list[str],
    cv: dict[str, Any],
    n_splits: int,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "registry_hash": registry.content_hash,
        "window_sentences": settings.window_sentences,
        "include_references": settings.include_references,
        "versions": library_versions(),
        "n_pairs": len(labels),
        "label_counts": {lab.value: int(labels[:, j].sum()) for j, lab in enumerate(LABELS)},
        "telescopes": sorted(set(telescopes)),
        "cv_folds": n_splits,
        "cv_metrics": {k: cv[k] for k in ("cell_macro_f1", "sklearn_macro_f1", "micro_f1")}
        | {"per_label": cv["per_label"], "note": "thresholds tuned on these out-of-fold "
           "probabilities, so slightly optimistic"},
    }  # fmt: skip


# --- the artifact (format and checks in ``amc._artifact``) ------------------------------


def save_model(model: TrainedModel, path: Path | str) -> Path:
    """Write the artifact directory: the pickled model and a manifest naming its sha256."""
    parts = {"features": model.features, "labels": model.label_models,
             "thresholds": model.thresholds}  # fmt: skip
    return save_artifact(Path(path), parts, model.manifest)


def load_model(path: Path | str, registry: Registry, settings: Settings) -> TrainedModel:
    """Load and check an artifact; raises ``ModelArtifactError`` saying what differs."""
    parts, manifest = load_artifact(Path(path), registry, settings)
    return TrainedModel(parts["features"], parts["labels"], parts["thresholds"], manifest)


# --- the tier --------------------------------------------------------------------------

_loaded: dict[tuple[str, int, str, int], TrainedModel] = {}


def configured_model(registry: Registry, settings: Settings) -> TrainedModel:
    """The model of ``settings.model_path``, loaded once per file version and registry."""
    if settings.model_path is None:
        raise ModelArtifactError(
            "the trained tier needs a model: set --model-path DIR or AMC_MODEL_PATH "
            "(train one with `amc train --data LABELLED --model-path DIR`)"
        )
    model_file = Path(settings.model_path) / MODEL_FILE
    mtime = model_file.stat().st_mtime_ns if model_file.exists() else 0
    key = (str(settings.model_path), mtime, registry.content_hash, settings.window_sentences)
    if key not in _loaded:
        _loaded[key] = load_model(settings.model_path, registry, settings)
    return _loaded[key]


def classify_pairs_trained(
    pairs: Sequence[Pair],
    registry: Registry,
    settings: Settings,
    model: TrainedModel | None = None,
) -> list[Classification]:
    """Classify pairs with the trained model; evidence quotes and errors come from the rules."""
    model = model or configured_model(registry, settings)
    first = [classify_pair(p, registry, settings) for p in pairs]
    todo = [i for i, c in enumerate(first) if c.ok and pairs[i].telescope != NONE_TELESCOPE]
    if not todo:
        return [c.model_copy(update={"tier": TIER}) for c in first]
    probs = model.predict_proba([pair_inputs(pairs[i], registry, settings) for i in todo])
    for i, row in zip(todo, probs, strict=True):
        labels = decode_labels(row, model.thresholds)
        first[i] = first[i].model_copy(
            update={
                "labels": labels,
                "confidence": confidence_of(row),
                "reason": f"trained model: {_probs_text(row)}; rules said {first[i].reason}",
            }
        )
    return [c.model_copy(update={"tier": TIER}) for c in first]


def _probs_text(row: Sequence[float]) -> str:
    return ", ".join(f"P({lab.value})={p:.2f}" for lab, p in zip(LABELS, row, strict=True))
