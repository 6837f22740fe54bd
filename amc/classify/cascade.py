"""The cascade: the cheap tier decides every pair it is sure of; the LLM gets the rest.

The cheap tier is the trained model when one is configured, else the rules. A pair
goes to the LLM when there is something for a model to read and the cheap tier is
unsure: with a calibration (``amc.classify.calibration``; the trained artifact's, or
``settings.cascade_calibration`` for the rules), when the calibrated chance that the
LLM would agree is below the threshold chosen for the target agreement; without
one, when the confidence in its decision is below ``settings.cascade_threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path

from amc.classify.calibration import (
    ARTIFACT_MANIFEST,
    CalibrationError,
    CascadeCalibration,
    artifact_calibration,
    load_calibration,
)
from amc.classify.local import classify_local
from amc.domain.models import NONE_TELESCOPE, Classification, Pair, PairSnippets
from amc.registry import Registry
from amc.settings import Settings


def cheap_tier(
    items: Sequence[PairSnippets], registry: Registry, settings: Settings
) -> list[Classification]:
    """The cascade's first tier on every item."""
    return classify_local([p for p, _ in items], registry, settings, [s for _, s in items])


def needs_llm(c: Classification, pair: Pair, settings: Settings) -> bool:
    """Whether the cheap tier's verdict is too unsure to keep."""
    if not could_ask(c, pair):
        return False
    assert c.labels is not None
    confidence = c.confidence.decided(c.labels)
    calibration = cascade_calibration(settings)
    if calibration is not None:
        return not calibration.decides(confidence)
    return confidence < settings.cascade_threshold


def could_ask(c: Classification, pair: Pair) -> bool:
    """Whether the LLM could be asked about this pair at all: a telescope pair the cheap
    tier classified, with a hit for a model to read."""
    ok = pair.telescope != NONE_TELESCOPE and c.ok and c.labels is not None
    return ok and c.n_snippets > 0


def cascade_calibration(settings: Settings) -> CascadeCalibration | None:
    """The calibration of the configured cheap tier: the trained artifact's, else the file
    of ``settings.cascade_calibration``; None without one. ``CalibrationError`` when it
    was made for the other cheap tier."""
    if settings.model_path is not None:
        where = Path(settings.model_path) / ARTIFACT_MANIFEST
        found = _from_manifest(where, _mtime(where))
        tier = "trained"
    elif settings.cascade_calibration is not None:
        found = _from_file(Path(settings.cascade_calibration), _mtime(settings.cascade_calibration))
        tier = "rules"
    else:
        return None
    if found is not None and found.tier != tier:
        raise CalibrationError(
            f"the cascade calibration was made for the {found.tier} tier but the cheap tier is "
            f"{tier}; run `amc calibrate` with the same AMC_MODEL_PATH as the cascade"
        )
    return found


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


@lru_cache(maxsize=8)
def _from_manifest(path: Path, mtime: int) -> CascadeCalibration | None:
    return artifact_calibration(path.parent)


@lru_cache(maxsize=8)
def _from_file(path: Path, mtime: int) -> CascadeCalibration:
    return load_calibration(path)


def merged(
    first: list[Classification], unsure: list[int], second: Future[list[Classification]]
) -> Future[list[Classification]]:
    """The cascade's results: the cheap tier's, with the ``unsure`` ones replaced by the
    LLM's when ``second`` is done (after a run stop, by rows saying they were not
    classified: a low-confidence guess is not passed off as the LLM's verdict)."""
    out: Future[list[Classification]] = Future()

    def fill(done: Future[list[Classification]]) -> None:
        results = list(first)
        try:
            for i, result in zip(unsure, done.result(), strict=True):
                results[i] = result
        except BaseException as exc:
            out.set_exception(exc)
            return
        out.set_result(results)

    second.add_done_callback(fill)
    return out
