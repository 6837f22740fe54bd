"""The trained tier's model: per-label logistic regressions over snippet text and rule
features, fitted, cross-validated and decoded into labels with the TRACS precedence."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from amc.classify.trained.features import FeatureBuilder, PairInputs
from amc.domain.metrics import binary_f1, label_matrix
from amc.domain.models import LABELS, NONE_TELESCOPE, LabelConfidence, TelescopeLabels

_THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


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
        f1 = [binary_f1(y, probs[:, j] >= t) for t in _THRESHOLD_GRID]
        out.append(float(_THRESHOLD_GRID[int(np.argmax(f1))]))
    return out


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
    return label_matrix(rows)


def confidence_of(probs: Sequence[float]) -> LabelConfidence:
    return LabelConfidence(
        **{lab.value: round(float(p), 4) for lab, p in zip(LABELS, probs, strict=True)}
    )
