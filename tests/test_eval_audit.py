"""The label audit: confident learning over arrays, scores, planted noise, incremental runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from amc.registry import load_registry
from amc.settings import load_settings
from eval.audit import (
    AuditError,
    class_thresholds,
    find_label_issues,
    label_issue_scores,
    rank_label_issues,
    run_audit,
)
from eval.incremental import run_incremental_audit
from eval.synthetic import flip_labels, make_labelled_pairs, write_jsonl


def _noisy_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """200 rows, one label column of 10 % positives; probs follow the truth; 6 labels flipped."""
    rng = np.random.default_rng(seed)
    truth = rng.random(200) < 0.1
    probs = np.where(truth, rng.uniform(0.6, 0.95, 200), rng.uniform(0.0, 0.2, 200))
    flipped = sorted(rng.choice(200, 6, replace=False).tolist())
    stored = truth.copy()
    stored[flipped] = ~stored[flipped]
    return stored[:, None], probs[:, None], flipped


def test_find_label_issues_flags_only_planted_flips() -> None:
    labels, probs, flipped = _noisy_arrays()
    found = np.flatnonzero(find_label_issues(labels, probs)).tolist()
    # confident learning: a flip counts once the model is as sure as on a typical member
    assert set(found) <= set(flipped) and len(found) >= len(flipped) // 2


def test_class_thresholds_are_per_value_means_and_fair_to_a_rare_label() -> None:
    labels = np.array([[1], [1], [0], [0], [0], [0]], dtype=bool)
    probs = np.array([[0.3], [0.5], [0.1], [0.0], [0.2], [0.1]])
    thresholds = class_thresholds(labels, probs)
    assert thresholds[0, 1] == pytest.approx(0.4)  # positives: mean p
    assert thresholds[0, 0] == pytest.approx(0.9)  # negatives: mean 1 - p
    # a rare positive with p=0.3 is typical of its class: not an issue although p < 0.5
    assert not find_label_issues(labels, probs).any()


def test_scores_rank_flips_first_and_verdicts_move_them() -> None:
    labels, probs, flipped = _noisy_arrays(1)
    scores = label_issue_scores(labels, probs)
    assert sorted(rank_label_issues(scores)[: len(flipped)].tolist()) == flipped
    verdict = ~labels  # another tier disagrees everywhere, fully confident
    pushed = label_issue_scores(labels, probs, verdict, np.where(verdict, 1.0, 0.0), np.ones(200))
    agreed = label_issue_scores(labels, probs, labels, np.where(labels, 1.0, 0.0), np.ones(200))
    assert (pushed >= scores).all() and pushed.min() == 1.0
    assert agreed.max() == 0.0


@pytest.mark.slow
def test_planted_noise_precision_at_k_and_clean_set_quiet() -> None:
    registry, settings = load_registry(), load_settings(environ={})
    pairs = make_labelled_pairs(500, seed=7)
    planted = flip_labels(pairs, 0.05, seed=7)
    flipped_ids = {planted.pairs[i].pair_id for i in planted.flipped}
    result = run_audit(planted.pairs, registry, settings)
    ranked = sorted(result.scores, key=lambda pid: -result.scores[pid])[: len(flipped_ids)]
    precision = len(set(ranked) & flipped_ids) / len(flipped_ids)
    assert precision >= 0.8
    top = result.suspects[0]
    assert top.pair_id in flipped_ids and top.suggested != top.stored and top.evidence
    clean = run_audit(pairs, registry, settings)
    assert max(clean.scores.values()) < settings.audit_threshold
    assert clean.suspects == []


@pytest.mark.slow
def test_incremental_audit_rescores_only_changed_rows(tmp_path: Path) -> None:
    pairs = make_labelled_pairs(160, seed=3)
    labels = write_jsonl(pairs, tmp_path / "labels.jsonl")
    settings = load_settings(environ={}, database_url=f"sqlite:///{tmp_path / 'store.db'}")
    out = tmp_path / "reports"
    first = run_incremental_audit(settings, labels, out)
    assert first.n_scored == 160 and Path(first.files["csv"]).is_file()
    again = run_incremental_audit(settings, labels, out)
    assert again.n_scored == 0 and again.new_suspects == []
    assert [r.pair_id for r in again.suspects] == [r.pair_id for r in first.suspects]
    # a librarian's mistake lands in the file: only that row is scored, and it is suspected
    target = next(i for i, p in enumerate(pairs) if p.gold and p.gold.science)
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    records[target].update(science=False, mention=True)
    labels.write_text("".join(json.dumps(r) + "\n" for r in records))
    third = run_incremental_audit(settings, labels, out)
    assert third.n_scored == 1
    assert third.new_suspects == [pairs[target].pair_id]
    assert third.suspects[0].suggested == "science"


def test_incremental_audit_without_labels_says_what_to_set(tmp_path: Path) -> None:
    settings = load_settings(environ={}, database_url=f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(AuditError, match="AMC_AUDIT_LABELS_PATH"):
        run_incremental_audit(settings)
