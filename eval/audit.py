"""Label audit: rank the pairs whose stored (historical) labels are most likely wrong.

The core is plain functions over arrays, in the style of cleanlab:
``labels`` is a bool matrix (n, 4) of stored labels in ``LABELS`` order and
``pred_probs`` the out-of-fold probabilities (n, 4) of the trained tier, each
row predicted by a model that never saw it.

- ``class_thresholds`` / ``find_label_issues``: confident learning, one
  binary problem per label column. A row is an issue in a column when the
  model is at least as sure of the *other* value as it is, on average, of the
  rows that really have that value (per-class thresholds make this fair to a
  rare label such as instrumentation).
- ``label_issue_scores``: one score in [0, 1] per row, higher = more likely
  wrong: one minus the model's self-confidence in the worst stored column,
  blended with a verdict of another tier (rules or LLM) that disagrees with
  the stored label, weighted more when its quotes were verified in the text.

``run_audit`` applies them to pairs in one go; ``run_incremental_audit``
(``eval.incremental``) is the cron-ready form: it re-scores only pairs that are new or changed since
the last run (state in the job store's ``audit_state`` table), carries the
other suspects over from the previous report, and writes dated reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amc.classify.rules import classify_with_rules
from amc.classify.trained import cross_val_pred_probs, decode_matrix, gold_matrix
from amc.classify.trained.features import pair_inputs
from amc.domain.errors import AmcError
from amc.domain.metrics import label_matrix, label_names
from amc.domain.models import LABELS, Classification, Pair
from amc.registry import Registry
from amc.settings import Settings
from eval.suspects import SuspectRow

#: weight of a disagreeing verdict in the score; more when its quotes were verified
VERDICT_WEIGHT = 0.25
VERIFIED_VERDICT_WEIGHT = 0.4
MAX_QUOTES = 3


# --- the core: functions over arrays ---------------------------------------------------


def self_confidence(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Probability the model gives to each stored value, (n, k)."""
    labels = np.asarray(labels, dtype=bool)
    return np.where(labels, pred_probs, 1.0 - pred_probs)


def class_thresholds(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Per column, the mean probability of value 0 and of value 1 over rows stored so, (k, 2).

    A value no row has gets 0.5.
    """
    labels = np.asarray(labels, dtype=bool)
    out = np.full((labels.shape[1], 2), 0.5)
    for j in range(labels.shape[1]):
        for value in (0, 1):
            rows = labels[:, j] == bool(value)
            if rows.any():
                p = pred_probs[rows, j]
                out[j, value] = float(np.mean(p if value else 1.0 - p))
    return out


def issue_columns(
    labels: np.ndarray, pred_probs: np.ndarray, thresholds: np.ndarray | None = None
) -> np.ndarray:
    """(n, k) bool: the confident joint puts the row off the diagonal in that column.

    The other value must clear its class threshold and beat the stored value
    (cleanlab's rule: among values above threshold, the most probable one wins).
    """
    labels = np.asarray(labels, dtype=bool)
    t = class_thresholds(labels, pred_probs) if thresholds is None else thresholds
    p_other = 1.0 - self_confidence(labels, pred_probs)
    t_other = np.where(labels, t[:, 0], t[:, 1])
    t_given = np.where(labels, t[:, 1], t[:, 0])
    p_given = 1.0 - p_other
    return (p_other >= t_other) & ((p_given < t_given) | (p_other > p_given))


def find_label_issues(
    labels: np.ndarray, pred_probs: np.ndarray, thresholds: np.ndarray | None = None
) -> np.ndarray:
    """(n,) bool: rows whose stored labels confident learning marks as likely wrong."""
    return np.asarray(issue_columns(labels, pred_probs, thresholds).any(axis=1))


def label_issue_scores(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    verdict_labels: np.ndarray | None = None,
    verdict_probs: np.ndarray | None = None,
    verdict_weights: np.ndarray | None = None,
) -> np.ndarray:
    """(n,) score in [0, 1]: how likely each row's stored labels are wrong.

    ``1 - min_j self_confidence`` (the model's doubt on the worst column),
    blended with a verdict: ``verdict_labels`` (n, k) bool is what another
    tier said, ``verdict_probs`` (n, k) its per-label confidence, and
    ``verdict_weights`` (n,) how much to trust it (0 where a row has none).
    A verdict agreeing with the stored labels pulls the score down, one that
    disagrees confidently pushes it up.
    """
    model_doubt = 1.0 - self_confidence(labels, pred_probs).min(axis=1)
    if verdict_labels is None or verdict_probs is None or verdict_weights is None:
        return np.asarray(model_doubt)
    labels = np.asarray(labels, dtype=bool)
    verdict_labels = np.asarray(verdict_labels, dtype=bool)
    sure = np.where(verdict_labels, verdict_probs, 1.0 - verdict_probs)
    disagree = verdict_labels != labels
    verdict_doubt = np.where(disagree, sure, 0.0).max(axis=1)
    w = np.clip(np.asarray(verdict_weights, dtype=float), 0.0, 1.0)
    return np.asarray((1.0 - w) * model_doubt + w * verdict_doubt)


def rank_label_issues(scores: np.ndarray) -> np.ndarray:
    """Row indices, most suspicious first (stable for ties)."""
    return np.argsort(-np.asarray(scores), kind="stable")


# --- applying it to pairs --------------------------------------------------------------


@dataclass
class AuditResult:
    """What one audit run found and wrote."""

    suspects: list[SuspectRow]
    n_pairs: int
    n_scored: int
    threshold: float
    new_suspects: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)


def verdict_arrays(
    pairs: Sequence[Pair], verdicts: Mapping[str, Classification]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verdict labels, per-label confidence and trust weight, aligned with ``pairs``."""
    n, k = len(pairs), len(LABELS)
    probs, weights = np.zeros((n, k)), np.zeros(n)
    found = [verdicts.get(p.pair_id) for p in pairs]
    labels = label_matrix([c.labels if c is not None and c.ok else None for c in found])
    for i, c in enumerate(found):
        if c is None or not c.ok or c.labels is None:
            continue
        probs[i] = [c.confidence.of(lab) for lab in LABELS]
        verified = any(e.verified for e in c.evidence) and c.tier != "rules"
        weights[i] = VERIFIED_VERDICT_WEIGHT if verified else VERDICT_WEIGHT
    return labels, probs, weights


def rules_verdicts(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> dict[str, Classification]:
    """The rules tier's verdict on every pair (free; used when no LLM verdicts are given)."""
    return {p.pair_id: classify_with_rules(p, registry, settings) for p in pairs}


def score_pairs(
    pairs: Sequence[Pair],
    pred_probs: np.ndarray,
    verdicts: Mapping[str, Classification],
    thresholds: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and confident-learning flags of ``pairs`` from their out-of-fold probabilities."""
    labels = gold_matrix(pairs)
    v_labels, v_probs, v_weights = verdict_arrays(pairs, verdicts)
    scores = label_issue_scores(labels, pred_probs, v_labels, v_probs, v_weights)
    flags = find_label_issues(labels, pred_probs, thresholds)
    return scores, flags


def suspect_rows(
    pairs: Sequence[Pair],
    pred_probs: np.ndarray,
    scores: np.ndarray,
    flags: np.ndarray,
    verdicts: Mapping[str, Classification],
    threshold: float,
    scored_at: str = "",
) -> list[SuspectRow]:
    """The rows scoring at least ``threshold``, most suspicious first, with their evidence."""
    telescopes = [p.telescope for p in pairs]
    suggested = decode_matrix(pred_probs, [0.5] * len(LABELS), telescopes)
    out: list[SuspectRow] = []
    for i in rank_label_issues(scores):
        if scores[i] < threshold:
            break
        row = _suspect(pairs[i], pred_probs[i], suggested[i], float(scores[i]), bool(flags[i]),
                       verdicts.get(pairs[i].pair_id), scored_at)  # fmt: skip
        out.append(row.model_copy(update={"rank": len(out) + 1}))
    return out


def _suspect(
    pair: Pair,
    probs: np.ndarray,
    suggested: np.ndarray,
    score: float,
    flag: bool,
    verdict: Classification | None,
    scored_at: str,
) -> SuspectRow:
    assert pair.gold is not None
    stored = label_names(pair.gold)
    suggestion = label_names(suggested)
    ok_verdict = verdict is not None and verdict.ok and verdict.labels is not None
    if suggestion == stored and ok_verdict and verdict and verdict.labels is not None:
        suggestion = label_names(verdict.labels)  # the model only half-disagrees; ask the tier
    quotes = [] if verdict is None else _quotes(verdict)
    return SuspectRow(
        pair_id=pair.pair_id,
        bibcode=pair.paper.bibcode,
        telescope=pair.telescope,
        stored=stored,
        suggested=suggestion,
        score=round(score, 4),
        cl_issue=flag,
        model_probs={lab.value: round(float(p), 4) for lab, p in zip(LABELS, probs, strict=True)},
        verdict=label_names(verdict.labels) if ok_verdict and verdict and verdict.labels else "",
        verdict_tier=verdict.tier if verdict is not None else "",
        evidence=quotes,
        reason=verdict.reason if verdict is not None else "",
        scored_at=scored_at,
    )


def _quotes(verdict: Classification) -> list[str]:
    """Verified quotes first; an unverified one is marked so a librarian does not trust it."""
    ranked = sorted(verdict.evidence, key=lambda e: not e.verified)
    return [
        (e.quote if e.verified else f"[unverified] {e.quote}").strip() for e in ranked[:MAX_QUOTES]
    ]


def run_audit(
    pairs: Sequence[Pair],
    registry: Registry,
    settings: Settings,
    verdicts: Mapping[str, Classification] | None = None,
    n_splits: int | None = None,
    seed: int = 0,
) -> AuditResult:
    """Audit every pair at once: out-of-fold probabilities, scores, suspects over the threshold.

    ``verdicts`` (by pair id) come from an earlier LLM or cascade run; without
    them the rules tier's verdicts are used.
    """
    labels = gold_matrix(pairs)
    verdicts = verdicts if verdicts is not None else rules_verdicts(pairs, registry, settings)
    inputs = [pair_inputs(p, registry, settings) for p in pairs]
    probs = cross_val_pred_probs(inputs, labels, n_splits or settings.audit_folds, seed)
    scores, flags = score_pairs(pairs, probs, verdicts)
    rows = suspect_rows(pairs, probs, scores, flags, verdicts, settings.audit_threshold)
    return AuditResult(
        suspects=rows,
        n_pairs=len(pairs),
        n_scored=len(pairs),
        threshold=settings.audit_threshold,
        new_suspects=[r.pair_id for r in rows],
        scores={p.pair_id: float(s) for p, s in zip(pairs, scores, strict=True)},
    )


class AuditError(AmcError):
    """The audit cannot run (no labels configured, unreadable verdicts file)."""

    kind = "audit"


def load_verdicts(path: Path | str) -> dict[str, Classification]:
    """Classifications of an earlier run (``amc classify --tier llm -o FILE.jsonl``) by pair id."""
    out: dict[str, Classification] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AuditError(f"cannot read verdicts file {path}: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            c = Classification.model_validate_json(line)
        except ValueError as exc:
            raise AuditError(
                f"{path}, line {number}: not a classification record ({exc.__class__.__name__}); "
                "write verdicts with `amc classify ... -o FILE.jsonl`"
            ) from None
        out[c.pair_id] = c
    return out
