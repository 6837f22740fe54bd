"""The workflow behind ``amc calibrate``: calibrate the cascade's cheap tier on labelled
pairs against a reference verdict, and say what it saves.

The reference is the LLM's verdicts on the same pairs (``--verdicts``, a JSONL written by
``amc classify --tier llm -o x.jsonl``: "agreement with the LLM" is what the cascade
trades for money), else the stored labels. Only pairs the cascade could send to the
LLM count (a telescope pair with a hit, classified by the cheap tier, with a reference
verdict); NONE rows and pairs without a hit are decided without a call anyway and are
reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from amc.classify.calibration import CascadeCalibration, agrees, fit_cascade_calibration
from amc.classify.cascade import cheap_tier, could_ask
from amc.classify.dispatch import with_snippets
from amc.domain.errors import AmcError
from amc.domain.models import Pair, TelescopeLabels
from amc.ingest.pairs import read_labelled_pairs, read_pairs
from amc.registry import Registry
from amc.settings import Settings
from eval.audit import load_verdicts
from eval.splits import find_split_files


@dataclass(frozen=True)
class CalibrationRun:
    """A fitted calibration and the pairs behind it."""

    calibration: CascadeCalibration
    #: every pair read, and those decided without a call whatever the threshold
    pairs: int
    never_asked: int
    #: pairs the LLM could be asked about but that have no usable reference verdict
    without_reference: int

    @property
    def decided_share(self) -> float:
        """Share of all pairs decided without a call (out-of-fold estimate)."""
        cal = self.calibration
        return (self.never_asked + cal.decided_share * cal.pairs) / max(1, self.pairs)


def calibrate_cascade(
    data: Path,
    split: str | None,
    registry: Registry,
    settings: Settings,
    verdicts: Path | None,
    target: float,
    folds: int = 5,
    limit: int | None = None,
) -> CalibrationRun:
    """Calibrate the configured cheap tier (trained when ``settings.model_path`` is set,
    else rules) on the pairs of ``data`` against ``verdicts`` or the stored labels."""
    files = find_split_files(data, split)
    if verdicts is None:
        pairs = read_labelled_pairs(files, registry, settings, limit)
        reference: dict[str, TelescopeLabels] = {p.pair_id: p.gold for p in pairs if p.gold}
        source = f"stored labels in {data}"
    else:
        pairs = [x for x in read_pairs(files, registry, settings) if isinstance(x, Pair)]
        pairs = pairs[:limit] if limit is not None else pairs
        reference = {pid: c.labels for pid, c in load_verdicts(verdicts).items()
                     if c.ok and c.labels is not None}  # fmt: skip
        source = f"LLM verdicts in {verdicts}"
    first = cheap_tier(with_snippets(pairs, registry, settings), registry, settings)
    askable = [(p, c) for p, c in zip(pairs, first, strict=True) if could_ask(c, p)]
    rows = [(c.confidence.decided(c.labels), agrees(c.labels, reference[p.pair_id]))
            for p, c in askable if c.labels is not None and p.pair_id in reference]  # fmt: skip
    if not rows:
        raise AmcError(
            f"no pair of {data} has both a hit and a reference verdict ({source}); check that "
            "the verdicts were written for the same input"
        )
    confidence, agree = (np.array(column) for column in zip(*rows, strict=True))
    tier = "trained" if settings.model_path is not None else "rules"
    calibration = fit_cascade_calibration(
        confidence, agree.astype(bool), target, folds=folds, tier=tier, reference=source,
        raw_threshold=settings.cascade_threshold,
    )  # fmt: skip
    return CalibrationRun(calibration, len(pairs), len(pairs) - len(askable),
                          len(askable) - len(rows))  # fmt: skip
