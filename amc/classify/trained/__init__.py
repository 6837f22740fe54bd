"""The trained tier: per-label scikit-learn models on snippet text plus rule features.

``amc train --data PATH`` fits, for each of the four labels, a class-weighted
logistic regression (calibrated with Platt scaling when the label has enough
positives) on TF-IDF of the pair's ranked snippets, the rules tier's features
and the telescope. It records cross-validated metrics and per-label decision
thresholds chosen on the out-of-fold probabilities, and saves a versioned
artifact. The same cross-validation gives the out-of-fold probabilities the
label audit (``eval.audit``) needs.

The artifact is a directory (``manifest.json`` + ``model.joblib``; see
``amc.classify.trained.artifact``). Security: unpickling runs code. ``load_model`` only reads
the path the user configured (``--model`` / ``AMC_MODEL_PATH``), refuses a
model file every user can write, and checks the manifest and the file's
sha256 before unpickling, which catches a stale, swapped or corrupted file
but not a forged manifest: only load artifacts you (or your team) trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from amc.classify.rules import classify_with_rules
from amc.classify.trained.artifact import (
    FORMAT_VERSION,
    MODEL_FILE,
    ModelArtifactError,
    library_versions,
    load_artifact,
    save_artifact,
)
from amc.classify.trained.features import pair_inputs
from amc.classify.trained.labels import (
    LabelSources,
    VerdictFile,
    VerdictsError,
    human_label_sources,
    join_labels,
    read_verdicts,
)
from amc.classify.trained.model import (
    TrainedModel,
    best_thresholds,
    confidence_of,
    cross_val_pred_probs,
    decode_labels,
    decode_matrix,
    fit_model,
)
from amc.domain.errors import AmcError
from amc.domain.metrics import label_matrix, score_arrays
from amc.domain.models import (
    LABELS,
    NONE_TELESCOPE,
    Classification,
    Link,
    Pair,
    TelescopeLabels,
)
from amc.links import pair_links
from amc.registry import Registry
from amc.settings import Settings

__all__ = [
    "MIN_TRAIN_PAIRS", "TIER", "LabelSources", "ModelArtifactError", "TrainedModel",
    "TrainingError", "TrainingResult", "VerdictFile", "VerdictsError", "classify_pairs_trained",
    "configured_model", "cross_val_pred_probs", "decode_labels", "decode_matrix", "fit_model",
    "gold_matrix", "join_labels", "load_model", "read_verdicts", "save_model", "train_model",
]  # fmt: skip

TIER = "trained"
#: fewest labelled pairs ``amc train`` accepts (cross-validation needs a few per fold)
MIN_TRAIN_PAIRS = 20


class TrainingError(AmcError):
    """The labelled data cannot train a model (too few pairs, no labels)."""

    kind = "training"


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
    return label_matrix([p.gold for p in pairs])


def train_model(
    pairs: Sequence[Pair],
    registry: Registry,
    settings: Settings,
    n_splits: int = 5,
    seed: int = 0,
    origins: Sequence[str] | None = None,
    sources: LabelSources | None = None,
) -> TrainingResult:
    """Cross-validate, choose thresholds on the out-of-fold probabilities, then fit on all.

    ``origins`` says where each pair's label came from (``human``/``llm``, from
    ``join_labels``; default all human); the manifest records ``sources`` and the
    cross-validated scores on each origin's pairs apart.
    """
    if len(pairs) < MIN_TRAIN_PAIRS:
        raise TrainingError(
            f"only {len(pairs)} labelled pair(s); training needs at least {MIN_TRAIN_PAIRS}"
        )
    labels = gold_matrix(pairs)
    inputs = [pair_inputs(p, registry, settings) for p in pairs]
    oof = cross_val_pred_probs(inputs, labels, n_splits, seed)
    thresholds = best_thresholds(labels, oof)
    telescopes = np.array([p.telescope for p in pairs], dtype=str)
    predicted = decode_matrix(oof, thresholds, list(telescopes))
    report = score_arrays(telescopes, labels, predicted)
    model = fit_model(inputs, labels, seed)
    model.thresholds = thresholds
    model.manifest = _manifest(registry, settings, labels, list(telescopes), report.to_dict(),
                               n_splits)  # fmt: skip
    model.manifest["thresholds"] = dict(zip([lab.value for lab in LABELS], thresholds, strict=True))
    model.manifest["label_sources"] = (sources or human_label_sources(pairs)).to_manifest()
    by_origin = np.array(origins if origins is not None else ["human"] * len(pairs), dtype=str)
    model.manifest["cv_metrics_by_source"] = {
        origin: _headline(score_arrays(telescopes[rows], labels[rows], predicted[rows]).to_dict())
        | {"n_pairs": int(rows.sum())}
        for origin in sorted(set(by_origin.tolist()))
        if (rows := by_origin == origin).any()
    }
    return TrainingResult(model, oof, labels, list(telescopes), model.manifest["cv_metrics"])


def _headline(cv: dict[str, Any]) -> dict[str, Any]:
    return {k: cv[k] for k in ("cell_macro_f1", "sklearn_macro_f1", "micro_f1")}


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
        "cv_metrics": _headline(cv)
        | {"per_label": cv["per_label"], "note": "thresholds tuned on these out-of-fold "
           "probabilities, so slightly optimistic"},
    }  # fmt: skip


# --- the artifact (format and checks in ``amc.classify.trained.artifact``) -------------


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
    first = [classify_with_rules(p, registry, settings) for p in pairs]
    todo = [i for i, c in enumerate(first) if c.ok and pairs[i].telescope != NONE_TELESCOPE]
    if not todo:
        return [c.model_copy(update={"tier": TIER}) for c in first]
    probs = model.predict_proba([pair_inputs(pairs[i], registry, settings) for i in todo])
    for i, row in zip(todo, probs, strict=True):
        labels = decode_labels(row, model.thresholds)
        first[i] = first[i].model_copy(
            update={
                "labels": labels,
                "links": relabelled_links(first[i], pairs[i], labels, registry),
                "confidence": confidence_of(row),
                "reason": f"trained model: {_probs_text(row)}; rules said {first[i].reason}",
            }
        )
    return [c.model_copy(update={"tier": TIER}) for c in first]


def relabelled_links(
    rules: Classification, pair: Pair, labels: TelescopeLabels, registry: Registry
) -> list[Link]:
    """The links for the model's labels: the rules' own when they agreed on science or
    instrumentation (extracted once), else extracted now, or none."""
    if rules.labels is not None and (rules.labels.science or rules.labels.instrumentation):
        return rules.links if labels.science or labels.instrumentation else []
    return pair_links(pair, labels, registry)


def _probs_text(row: Sequence[float]) -> str:
    return ", ".join(f"P({lab.value})={p:.2f}" for lab, p in zip(LABELS, row, strict=True))
