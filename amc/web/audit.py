"""The latest label audit (``amc audit``), made actionable.

The suspects come from ``suspects-latest.csv`` in ``audit_out_dir``; each is shown with
its resolution when a librarian made one, and with the id of the pair's newest result
(its review page) when a batch has classified it. Resolving a suspect records its
labels like any review (``audit_keep``: the stored labels, ``audit_take``: the suggested
ones) and the resolution with the pair's text hash, so the next incremental audit does
not flag it again unless its text changes (``eval.incremental``).
"""

from __future__ import annotations

from pathlib import Path

from amc.domain.models import split_pair_id
from amc.domain.reviews import ReviewError, UnknownPairError, labels_from_names, reviewer_labels
from amc.store import HumanLabel, Reviewer, Store
from amc.web.schemas import AuditOut, ResolutionOut, SuspectOut
from eval.suspects import LATEST_CSV, SuspectRow, read_suspects_csv


def latest_audit(store: Store, out_dir: Path) -> AuditOut | None:
    """The latest suspects with their resolutions and review pages; None if no audit ran."""
    suspects = read_suspects_csv(out_dir / LATEST_CSV)
    if suspects is None:
        return None
    resolutions = store.audit_resolutions(s.pair_id for s in suspects)
    results = store.latest_result_ids((s.bibcode, s.telescope) for s in suspects)
    shown = []
    for s in suspects:
        done = resolutions.get(s.pair_id)
        resolution = None if done is None else ResolutionOut(
            decision=done.decision, labels=done.labels, reviewer=done.reviewer,
            resolved_at=done.resolved_at)  # fmt: skip
        shown.append(SuspectOut(**s.model_dump(), resolution=resolution,
                                result_id=results.get((s.bibcode, s.telescope))))  # fmt: skip
    reports = sorted(out_dir.glob("audit-*.html"))
    return AuditOut(report=reports[-1].name if reports else None, suspects=shown)


def resolve_suspect(
    store: Store, out_dir: Path, pair_id: str, decision: str, reviewer: Reviewer, note: str = ""
) -> HumanLabel:
    """Keep the stored labels of a suspect (``keep``) or take the suggestion (``take``)."""
    suspect = _suspect(out_dir, pair_id)
    names = suspect.stored if decision == "keep" else suspect.suggested
    ticked = labels_from_names(names)
    labels = reviewer_labels(suspect.telescope, **ticked.as_dict())
    state = store.get_audit_state([suspect.pair_id]).get(suspect.pair_id)
    text_hash = (state.text_hash if state is not None else None) or ""
    return store.resolve_suspect((suspect.bibcode, suspect.telescope), text_hash, decision,
                                 labels, reviewer, note)  # fmt: skip


def _suspect(out_dir: Path, pair_id: str) -> SuspectRow:
    suspects = read_suspects_csv(out_dir / LATEST_CSV)
    if suspects is None:
        raise ReviewError("no audit report yet; run `amc audit --labels FILE` first")
    for s in suspects:
        if s.pair_id == pair_id:
            return s
    try:
        split_pair_id(pair_id)
    except ValueError as exc:
        raise ReviewError(str(exc)) from None
    raise UnknownPairError(f"{pair_id} is not a suspect of the latest audit; reload the audit page")
