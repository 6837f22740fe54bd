"""Recording reviewer decisions (shared by the pages and the HTTP API).

The reviewer is always the logged-in principal (session or token), never a name from
the request. A decision is refused with a message when its labels break the
precedence rules, when no batch has classified the pair, or, for a bulk accept, when
the view no longer holds what the librarian confirmed.
"""

from __future__ import annotations

from amc.domain.models import TelescopeLabels
from amc.domain.reviews import ReviewError, UnknownPairError, reviewer_labels
from amc.jobs.submit import registry_for
from amc.settings import Settings
from amc.store import HumanLabel, ResultFilter, ResultRow, Store, StoreError
from amc.web.auth import Principal


class ViewChanged(ReviewError):
    """A bulk accept whose view changed since the librarian confirmed it."""

    status_code = 409


def record_labels(
    store: Store,
    settings: Settings,
    pair: tuple[str, str],
    ticked: dict[str, bool],
    principal: Principal,
    note: str = "",
) -> HumanLabel:
    """Record the labels a reviewer ticked for ``pair`` (bibcode, telescope): ``accept``
    when they are the model's, else ``correct``."""
    bibcode, telescope = pair[0], registry_for(settings).check(pair[1])
    labels = reviewer_labels(telescope, **ticked)
    ids = store.latest_result_ids([(bibcode, telescope)])
    if (bibcode, telescope) not in ids:
        raise UnknownPairError(
            f"no batch has classified {bibcode} with {telescope}: labels are recorded for "
            "pairs of a batch; check the bibcode and telescope"
        )
    model = store.get_result(ids[(bibcode, telescope)]).result.labels
    action = "accept" if labels == model else "correct"
    return store.record_review(bibcode, telescope, labels, principal.reviewer, action, note)


def accept_result(store: Store, row: ResultRow, principal: Principal, note: str = "") -> HumanLabel:
    """Accept the model's labels of one result."""
    c = row.result
    if c.labels is None:
        kind = c.error.kind if c.error else "error"
        raise ReviewError(
            f"the model has no labels for {c.pair_id} (it failed: {kind}); tick the labels yourself"
        )
    return store.record_review(c.bibcode, c.telescope, c.labels, principal.reviewer, "accept", note)


def undo_last(store: Store, pair: tuple[str, str], principal: Principal) -> HumanLabel | None:
    """Undo the pair's last decision still standing; its reviewer label afterwards."""
    try:
        return store.undo_review(pair[0], pair[1], principal.reviewer)
    except StoreError as exc:
        raise ReviewError(str(exc)) from None


def bulk_accept(
    store: Store,
    batch_id: str,
    flt: ResultFilter,
    expected: int,
    principal: Principal,
    note: str = "",
) -> int:
    """Accept the model's labels for every unreviewed pair of the view, one recorded
    decision per pair; ``ViewChanged`` unless the view still has ``expected`` of them."""
    store.get_batch(batch_id)
    candidates = store.accept_candidates(batch_id, flt)
    if len(candidates) != expected:
        raise ViewChanged(
            f"the view ({flt.describe()}) now has {len(candidates)} unreviewed pair(s) to "
            f"accept, not the {expected} you confirmed; look at it again and confirm"
        )
    return store.accept_many(candidates, principal.reviewer, note or "bulk accept")


def ticked_labels(labels: TelescopeLabels | dict[str, bool]) -> dict[str, bool]:
    """The four label flags as a dict (from labels or a form's checkboxes)."""
    values = labels.as_dict() if isinstance(labels, TelescopeLabels) else labels
    return {k: bool(values.get(k, False)) for k in TelescopeLabels.model_fields}
