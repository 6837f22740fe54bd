"""The incremental, cron-ready label audit: only pairs new or changed since the last run
are scored (content hashes in the job store's ``audit_state`` table); the other suspects
are carried over from the previous report (``eval.audit_report``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from amc.classify.trained import MIN_TRAIN_PAIRS, cross_val_pred_probs, fit_model, gold_matrix
from amc.classify.trained.features import pair_inputs
from amc.domain.models import TEXT_FIELDS, Classification, Pair
from amc.ingest.pairs import read_labelled_pairs
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import AuditResolution, AuditState, open_store
from eval.audit import (
    AuditError,
    AuditResult,
    SuspectRow,
    rules_verdicts,
    score_pairs,
    suspect_rows,
)
from eval.audit_report import write_audit_reports
from eval.suspects import LATEST_CSV, read_suspects_csv


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


def pair_text_hash(pair: Pair) -> str:
    """sha256 of a pair's id and text alone (labels aside): a suspect a librarian resolved
    stays resolved while this is unchanged."""
    payload = {"pair": pair.pair_id, "text": [pair.paper.text(f) for f in TEXT_FIELDS]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def still_resolved(resolution: AuditResolution | None, text_hash: str) -> bool:
    """A resolution made on this text (one made before text hashes were kept counts
    until the pair changes and is scored again)."""
    return resolution is not None and resolution.text_hash in (text_hash, "")


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


def _new_states(
    pairs: Sequence[Pair],
    hashes: Sequence[str],
    texts: Mapping[str, str],
    scored: Scored,
    state: Mapping[str, AuditState],
    now: datetime,
) -> list[AuditState]:
    """States of the pairs scored now, and text hashes for states kept from before them."""
    out = [
        AuditState(pairs[i].pair_id, hashes[i], scored.scores[pairs[i].pair_id], now,
                   texts[pairs[i].pair_id])
        for i in scored.indices
    ]  # fmt: skip
    done = set(scored.indices)
    for i, p in enumerate(pairs):
        old = state.get(p.pair_id)
        if i not in done and old is not None and old.text_hash != texts[p.pair_id]:
            out.append(AuditState(old.pair_key, old.content_hash, old.last_score,
                                  old.last_run_at, texts[p.pair_id]))  # fmt: skip
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
    path = labels_path or settings.audit_labels_path
    if path is None:
        raise AuditError("no labels to audit: pass --labels FILE or set AMC_AUDIT_LABELS_PATH")
    out = Path(out_dir or settings.audit_out_dir)
    registry = load_registry(settings.registry_files)
    pairs = read_labelled_pairs([path], registry, settings)
    hashes = [pair_content_hash(p, registry, settings) for p in pairs]
    previous = None if full else read_suspects_csv(out / LATEST_CSV)
    now = datetime.now(UTC)
    texts = {p.pair_id: pair_text_hash(p) for p in pairs}
    with open_store(settings.database_url) as store:
        state = store.get_audit_state([p.pair_id for p in pairs])
        stale = [
            i for i, (p, h) in enumerate(zip(pairs, hashes, strict=True))
            if previous is None or getattr(state.get(p.pair_id), "content_hash", None) != h
        ]  # fmt: skip
        scored = score_stale(pairs, stale, registry, settings, verdicts, seed, now)
        store.put_audit_state(_new_states(pairs, hashes, texts, scored, state, now))
        resolutions = store.audit_resolutions(texts)
    fresh = {pairs[i].pair_id for i in scored.indices}
    present = {p.pair_id for p in pairs}
    kept = [r for r in previous or [] if r.pair_id in present and r.pair_id not in fresh]
    ranked = sorted([*kept, *scored.rows], key=lambda r: (-r.score, r.pair_id))
    # a suspect a librarian resolved is not flagged again while its text is unchanged
    unresolved = [r for r in ranked if not still_resolved(resolutions.get(r.pair_id),
                                                         texts[r.pair_id])]  # fmt: skip
    suspects = [r.model_copy(update={"rank": i}) for i, r in enumerate(unresolved, 1)]
    open_ids = {r.pair_id for r in unresolved}
    new = [r.pair_id for r in scored.rows if r.pair_id in open_ids]
    result = AuditResult(suspects, len(pairs), len(scored.indices), settings.audit_threshold,
                         new, scores=scored.scores)  # fmt: skip
    meta = {"labels": str(path), "pairs": len(pairs), "scored": len(scored.indices),
            "resolved by librarians": len(ranked) - len(unresolved),
            "threshold": settings.audit_threshold,
            "generated_at": now.isoformat(timespec="seconds")}  # fmt: skip
    result.files = {k: str(v) for k, v in write_audit_reports(out, suspects, meta, now).items()}
    return result
