"""Private: the incremental audit's bookkeeping (content hashes, scoring only stale pairs).

Kept apart from ``eval.audit`` so that module stays about the audit itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from amc._features import pair_inputs
from amc.models import TEXT_FIELDS, Classification, Pair
from amc.registry import Registry
from amc.settings import Settings
from amc.trained import MIN_TRAIN_PAIRS, cross_val_pred_probs, fit_model, gold_matrix
from eval.audit import SuspectRow, rules_verdicts, score_pairs, suspect_rows


def pair_content_hash(pair: Pair, registry: Registry, settings: Settings) -> str:
    """sha256 of everything a pair's score depends on: labels, text, registry, snippet window."""
    assert pair.gold is not None
    payload = {
        "pair": pair.pair_id,
        "gold": pair.gold.as_dict(),
        "text": [pair.paper.text(f) for f in TEXT_FIELDS],
        "registry": registry.content_hash,
        "window": settings.window_sentences,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class Scored:
    indices: list[int]
    rows: list[SuspectRow]
    scores: dict[str, float]


def score_stale(
    pairs: Sequence[Pair],
    stale: list[int],
    registry: Registry,
    settings: Settings,
    verdicts: Mapping[str, Classification] | None,
    seed: int,
    now: datetime,
) -> Scored:
    """Out-of-sample probabilities for the stale pairs, then their scores and suspect rows.

    With enough unchanged pairs, one model fitted on them predicts the stale
    ones (out of sample, as cross-validation would); otherwise every pair is
    cross-validated and re-scored.
    """
    if not stale:
        return Scored([], [], {})
    unchanged = sorted(set(range(len(pairs))) - set(stale))
    if len(unchanged) < max(MIN_TRAIN_PAIRS, len(stale)):
        stale, unchanged = list(range(len(pairs))), []
    todo = [pairs[i] for i in stale]
    if unchanged:
        train = [pairs[i] for i in unchanged]
        model = fit_model([pair_inputs(p, registry, settings) for p in train], gold_matrix(train))
        probs = model.predict_proba([pair_inputs(p, registry, settings) for p in todo])
    else:
        inputs = [pair_inputs(p, registry, settings) for p in todo]
        probs = cross_val_pred_probs(inputs, gold_matrix(todo), settings.audit_folds, seed)
    tier_verdicts = verdicts if verdicts is not None else rules_verdicts(todo, registry, settings)
    scores, flags = score_pairs(todo, probs, tier_verdicts)
    rows = suspect_rows(todo, probs, scores, flags, tier_verdicts, settings.audit_threshold,
                        now.isoformat(timespec="seconds"))  # fmt: skip
    return Scored(stale, rows, {p.pair_id: float(s) for p, s in zip(todo, scores, strict=True)})
