"""Calibrating the cascade's cheap tier: from its confidence to the probability that the
LLM would have given the same labels, and the threshold that meets a target agreement.

The cheap tier (rules, or the trained model) reports a confidence per label; the
cascade keeps its verdict when ``confidence.decided(labels)`` (the weakest of the four
calls) is high enough. That number is not a probability of anything in particular, so
a fixed threshold says nothing about how often the kept verdicts match what the LLM
would answer. Fitted on pairs with a reference verdict (the LLM's, from an earlier
``amc classify --tier llm -o x.jsonl``, or the stored labels), an isotonic regression
(pool adjacent violators: the monotone step function closest to the 0/1 agreements)
maps the confidence to P(agree). The threshold on that probability is the lowest one
whose kept pairs agree with the reference at least ``target`` of the time. The share
of pairs decided without a call and their agreement are reported cross-validated:
each fold is decided by a calibration and threshold fitted on the other folds, so
they are honest estimates, not a fit's view of its own data.

Plain functions over arrays (``fit_isotonic``, ``fit_cascade_calibration``) and one
small pydantic model (``CascadeCalibration``), saved as JSON: with the trained
artifact (its manifest's ``cascade_calibration``) or in a file of its own
(``AMC_CASCADE_CALIBRATION``) for the rules tier.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from amc.domain.errors import AmcError
from amc.domain.models import TelescopeLabels

FloatArray = npt.NDArray[np.float64]
#: a threshold no probability reaches: every eligible pair goes to the LLM
NEVER = 1.01
#: the key of a trained artifact's manifest that holds its cascade calibration
MANIFEST_KEY = "cascade_calibration"
#: a trained artifact's manifest (``amc.classify.trained.artifact.MANIFEST_FILE``; not
#: imported from there: that module loads scikit-learn, seconds the cascade need not pay)
ARTIFACT_MANIFEST = "manifest.json"


class CalibrationError(AmcError):
    """A calibration cannot be fitted or read."""

    kind = "calibration"


class CascadeCalibration(BaseModel):
    """The cheap tier's confidence mapped to P(the LLM agrees), and the threshold chosen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str = "isotonic"
    #: the cheap tier that was calibrated (``rules`` or ``trained``)
    tier: str
    #: what agreement was measured against ("LLM verdicts in x.jsonl", "stored labels")
    reference: str
    #: the fitted monotone function: increasing confidences and their probabilities
    x: list[float]
    y: list[float]
    #: keep the cheap verdict when the calibrated probability is at least this
    threshold: float
    target: float
    #: pairs the cheap tier could decide (a hit, not a NONE row) used in the fit
    pairs: int
    #: out-of-fold: share of those pairs decided without a call, and their agreement
    decided_share: float
    agreement: float
    #: the same two numbers for the uncalibrated ``cascade_threshold`` (for comparison)
    raw_threshold: float | None = None
    raw_decided_share: float | None = None
    raw_agreement: float | None = None
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def probability(self, confidence: float) -> float:
        """P(the LLM agrees) for a cheap verdict of this confidence."""
        return float(np.interp(confidence, self.x, self.y))

    def decides(self, confidence: float) -> bool:
        """Whether the cheap verdict is kept (no LLM call)."""
        return self.probability(confidence) >= self.threshold


def agrees(cheap: TelescopeLabels, reference: TelescopeLabels) -> bool:
    """The same four labels (after precedence)."""
    return cheap.as_dict() == reference.as_dict()


def fit_isotonic(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The non-decreasing step function closest to ``y`` over ``x`` in least squares (pool
    adjacent violators); one point per distinct ``x``, ready for ``np.interp``."""
    order = np.argsort(x, kind="mergesort")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    distinct, starts = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ys, starts)
    counts = np.diff(np.append(starts, len(xs))).astype(float)
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for total, count in zip(sums, counts, strict=True):
        values.append(total / count)
        weights.append(count)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:  # pool the violating pair
            weight = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / weight
            size = sizes[-2] + sizes[-1]
            del values[-1], weights[-1], sizes[-1]
            values[-1], weights[-1], sizes[-1] = merged, weight, size
    fitted = np.repeat(values, sizes)
    return distinct.astype(float), fitted.astype(float)


def fit_cascade_calibration(
    confidence: FloatArray,
    agree: npt.NDArray[np.bool_],
    target: float,
    *,
    tier: str,
    reference: str,
    folds: int = 5,
    seed: int = 0,
    raw_threshold: float | None = None,
) -> CascadeCalibration:
    """Fit the calibration of ``confidence`` (n,) against ``agree`` (n,) and choose the
    lowest threshold whose kept pairs agree at least ``target`` of the time (``NEVER``
    when none does). The share decided and its agreement are cross-validated: the same
    fit and choice on the other folds, applied to each held-out fold."""
    confidence, agree = np.asarray(confidence, float), np.asarray(agree, bool)
    if len(confidence) < 2 * folds or len(confidence) != len(agree):
        raise CalibrationError(
            f"calibrating needs at least {2 * folds} pairs with a reference verdict, one "
            f"confidence each; got {len(confidence)} confidence(s), {len(agree)} verdict(s)"
        )
    x, y, threshold = _fit(confidence, agree, target)
    kept = held_out_decisions(confidence, agree, target, folds, seed)
    raw: dict[str, float | None] = {"raw_threshold": raw_threshold}
    if raw_threshold is not None:  # a fixed threshold: nothing fitted, no need to hold out
        raw_kept = confidence >= raw_threshold
        raw["raw_decided_share"] = float(raw_kept.mean())
        raw["raw_agreement"] = float(agree[raw_kept].mean()) if raw_kept.any() else 1.0
    return CascadeCalibration(
        tier=tier, reference=reference, x=x.tolist(), y=y.tolist(), threshold=threshold,
        target=target, pairs=len(agree), decided_share=float(kept.mean()),
        agreement=float(agree[kept].mean()) if kept.any() else 1.0, **raw,
    )  # fmt: skip


def _fit(
    confidence: FloatArray, agree: npt.NDArray[np.bool_], target: float
) -> tuple[FloatArray, FloatArray, float]:
    x, y = fit_isotonic(confidence, agree.astype(float))
    return x, y, lowest_threshold(np.interp(confidence, x, y), agree, target)


def held_out_decisions(
    confidence: FloatArray, agree: npt.NDArray[np.bool_], target: float, folds: int, seed: int
) -> npt.NDArray[np.bool_]:
    """Whether each pair is kept by a calibration fitted (and its threshold chosen) on the
    other folds."""
    fold_of = np.random.default_rng(seed).permutation(len(confidence)) % folds
    kept = np.zeros(len(confidence), dtype=bool)
    for k in range(folds):
        test = fold_of == k
        x, y, threshold = _fit(confidence[~test], agree[~test], target)
        kept[test] = np.interp(confidence[test], x, y) >= threshold
    return kept


def lowest_threshold(probability: FloatArray, agree: npt.NDArray[np.bool_], target: float) -> float:
    """The lowest threshold on ``probability`` whose kept pairs agree at least ``target`` of
    the time (every candidate threshold is one of the probabilities); ``NEVER`` if none."""
    order = np.argsort(probability, kind="mergesort")
    ranked, agreeing = probability[order], agree[order].astype(float)
    # kept = the suffix from each distinct value's first position; its agreement in one pass
    thresholds, first = np.unique(ranked, return_index=True)
    suffix = np.cumsum(agreeing[::-1])[::-1]
    rate = suffix[first] / (len(ranked) - first)
    meets = np.flatnonzero(rate >= target)
    return float(thresholds[meets[0]]) if len(meets) else NEVER


def save_calibration(calibration: CascadeCalibration, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration.model_dump_json(indent=2), encoding="utf-8")
    return path


def read_calibration(data: object, where: str) -> CascadeCalibration:
    """A calibration from its JSON object; ``CalibrationError`` naming ``where`` if invalid."""
    try:
        return CascadeCalibration.model_validate(data)
    except ValidationError as exc:
        raise CalibrationError(
            f"{where} is not a cascade calibration ({exc.error_count()} problem(s), first: "
            f"{exc.errors()[0]['msg']}); write one with `amc calibrate`"
        ) from None


def load_calibration(path: Path) -> CascadeCalibration:
    """A calibration file written by ``amc calibrate``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(
            f"cannot read the cascade calibration {path} ({exc}); check AMC_CASCADE_CALIBRATION "
            "or write one with `amc calibrate`"
        ) from None
    return read_calibration(data, str(path))


def artifact_calibration(folder: Path) -> CascadeCalibration | None:
    """The calibration stored in a trained artifact's manifest, if any (no unpickling)."""
    path = folder / ARTIFACT_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read {path} ({exc}); retrain with `amc train`") from None
    data = manifest.get(MANIFEST_KEY) if isinstance(manifest, dict) else None
    return None if data is None else read_calibration(data, f"{path} ({MANIFEST_KEY})")


def store_in_artifact(calibration: CascadeCalibration, folder: Path) -> Path:
    """Add (or replace) the calibration in a trained artifact's manifest; the model file and
    every other manifest key are left as they are."""
    path = folder / ARTIFACT_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CalibrationError(
            f"no trained model at {folder} ({exc}); train one with `amc train`"
        ) from None
    manifest[MANIFEST_KEY] = calibration.model_dump(mode="json")
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return path
