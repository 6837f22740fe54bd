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

``run_audit`` applies them to pairs in one go; ``run_incremental_audit`` is
the cron-ready form: it re-scores only pairs that are new or changed since
the last run (state in the job store's ``audit_state`` table), carries the
other suspects over from the previous report, and writes dated reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from amc.errors import AmcError
from amc.models import LABELS, Classification, Pair, TelescopeLabels
from amc.registry import Registry
from amc.settings import Settings

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


@dataclass(frozen=True)
class SuspectRow:
    """One pair whose stored labels the audit suspects, with what supports the suspicion."""

    pair_id: str
    bibcode: str
    telescope: str
    stored: str
    suggested: str
    score: float
    cl_issue: bool
    model_probs: dict[str, float]
    verdict: str
    verdict_tier: str
    evidence: list[str]
    reason: str
    #: UTC date-time this row was scored (unchanged rows keep their first one)
    scored_at: str = ""


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


def label_names(row: TelescopeLabels | Sequence[bool] | np.ndarray) -> str:
    """``science+instrumentation``, ``mention``, ... or ``none`` for all-false."""
    if isinstance(row, TelescopeLabels):
        return "+".join(lab.value for lab in row.positives) or "none"
    return "+".join(lab.value for lab, on in zip(LABELS, row, strict=True) if on) or "none"


def verdict_arrays(
    pairs: Sequence[Pair], verdicts: Mapping[str, Classification]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verdict labels, per-label confidence and trust weight, aligned with ``pairs``."""
    n, k = len(pairs), len(LABELS)
    labels, probs, weights = np.zeros((n, k), bool), np.zeros((n, k)), np.zeros(n)
    for i, pair in enumerate(pairs):
        c = verdicts.get(pair.pair_id)
        if c is None or not c.ok or c.labels is None:
            continue
        labels[i] = [getattr(c.labels, lab.value) for lab in LABELS]
        probs[i] = [c.confidence.of(lab) for lab in LABELS]
        verified = any(e.verified for e in c.evidence) and c.tier != "rules"
        weights[i] = VERIFIED_VERDICT_WEIGHT if verified else VERDICT_WEIGHT
    return labels, probs, weights


def rules_verdicts(
    pairs: Sequence[Pair], registry: Registry, settings: Settings
) -> dict[str, Classification]:
    """The rules tier's verdict on every pair (free; used when no LLM verdicts are given)."""
    from amc.pipeline import classify_pair

    return {p.pair_id: classify_pair(p, registry, settings) for p in pairs}


def score_pairs(
    pairs: Sequence[Pair],
    pred_probs: np.ndarray,
    verdicts: Mapping[str, Classification],
    thresholds: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and confident-learning flags of ``pairs`` from their out-of-fold probabilities."""
    from amc.trained import gold_matrix

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
    from amc.trained import decode_matrix

    telescopes = [p.telescope for p in pairs]
    suggested = decode_matrix(pred_probs, [0.5] * len(LABELS), telescopes)
    out = []
    for i in rank_label_issues(scores):
        if scores[i] < threshold:
            break
        out.append(_suspect(pairs[i], pred_probs[i], suggested[i], float(scores[i]),
                            bool(flags[i]), verdicts.get(pairs[i].pair_id), scored_at))  # fmt: skip
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
    from amc._features import pair_inputs
    from amc.trained import cross_val_pred_probs, gold_matrix

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


# --- incremental, cron-ready -----------------------------------------------------------


class AuditError(AmcError):
    """The audit cannot run (no labels configured, unreadable verdicts file)."""

    kind = "audit"


def load_labelled_pairs(
    paths: Sequence[Path | str], registry: Registry, settings: Settings
) -> list[Pair]:
    """Every labelled pair of the inputs (bad rows stop the run unless skip_bad_rows)."""
    from amc.pipeline import read_pairs

    pairs = [p for p in read_pairs(paths, registry, settings) if isinstance(p, Pair)]
    if not pairs:
        raise AuditError(f"no labelled pairs in {', '.join(map(str, paths))}")
    return pairs


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


def run_incremental_audit(
    settings: Settings,
    labels_path: Path | str | None = None,
    out_dir: Path | str | None = None,
    *,
    full: bool = False,
    verdicts: Mapping[str, Classification] | None = None,
    seed: int = 0,
) -> AuditResult:
    """Audit the labels at ``labels_path`` (default ``settings.audit_labels_path``).

    Only pairs whose content hash differs from the stored audit state are
    scored; the others keep their row of the previous report. Without a
    previous report (or with ``full``) every pair is scored by cross-validation.
    Writes ``audit-YYYY-MM-DD.csv/.html`` and ``suspects-latest.csv`` under
    ``out_dir`` (default ``settings.audit_out_dir``); running twice changes nothing.
    """
    from amc.registry import load_registry
    from amc.store import AuditState, open_store
    from eval._incremental import pair_content_hash, score_stale
    from eval.report import LATEST_CSV, read_suspects_csv, write_audit_reports

    path = labels_path or settings.audit_labels_path
    if path is None:
        raise AuditError("no labels to audit: pass --labels FILE or set AMC_AUDIT_LABELS_PATH")
    out = Path(out_dir or settings.audit_out_dir)
    registry = load_registry(settings.registry_files)
    pairs = load_labelled_pairs([path], registry, settings)
    hashes = [pair_content_hash(p, registry, settings) for p in pairs]
    previous = None if full else read_suspects_csv(out / LATEST_CSV)
    now = datetime.now(UTC)
    with open_store(settings.database_url) as store:
        state = store.get_audit_state([p.pair_id for p in pairs])
        stale = [
            i for i, (p, h) in enumerate(zip(pairs, hashes, strict=True))
            if previous is None or getattr(state.get(p.pair_id), "content_hash", None) != h
        ]  # fmt: skip
        scored = score_stale(pairs, stale, registry, settings, verdicts, seed, now)
        store.put_audit_state(
            AuditState(pairs[i].pair_id, hashes[i], scored.scores[pairs[i].pair_id], now)
            for i in scored.indices
        )
    fresh = {pairs[i].pair_id for i in scored.indices}
    present = {p.pair_id for p in pairs}
    kept = [r for r in previous or [] if r.pair_id in present and r.pair_id not in fresh]
    suspects = sorted([*kept, *scored.rows], key=lambda r: (-r.score, r.pair_id))
    result = AuditResult(suspects, len(pairs), len(scored.indices), settings.audit_threshold,
                         [r.pair_id for r in scored.rows], scores=scored.scores)  # fmt: skip
    meta = {"labels": str(path), "pairs": len(pairs), "scored": len(scored.indices),
            "threshold": settings.audit_threshold,
            "generated_at": now.isoformat(timespec="seconds")}  # fmt: skip
    result.files = {k: str(v) for k, v in write_audit_reports(out, suspects, meta, now).items()}
    return result
