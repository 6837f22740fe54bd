"""Reviewer labels: what a librarian decided for a pair, and the final label of record.

A *reviewer label* is the labels a librarian gave a (bibcode, telescope) pair, with
who, when, how (the action) and a note. The *final label* of a pair is the reviewer's
when there is one, else the model's. Reviewer labels must obey the TRACS precedence
as ticked: a combination the precedence would silently rewrite (science with
not_telescope, mention with not_telescope, ...) is refused, never normalised, and so
is "nothing ticked" for a real telescope (all-false is the label of ``NONE`` rows only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from amc.domain.errors import AmcError
from amc.domain.metrics import label_names
from amc.domain.models import LABELS, NONE_TELESCOPE, LinkKind, TelescopeLabels

#: how a reviewer label came to be
ReviewAction = Literal["accept", "correct", "bulk_accept", "undo", "audit_keep", "audit_take"]
REVIEW_ACTIONS: tuple[str, ...] = (
    "accept", "correct", "bulk_accept", "undo", "audit_keep", "audit_take",
)  # fmt: skip
#: where a pair's final label comes from
LabelSource = Literal["reviewer", "model", "failed"]
#: what a reviewer did to a link of a pair
LinkAction = Literal["add", "remove"]
LINK_ACTIONS: tuple[LinkAction, ...] = ("add", "remove")


class ReviewError(AmcError):
    """A reviewer label that cannot be recorded (bad combination, unknown pair, ...)."""

    kind = "review"
    status_code = 422


class UnknownPairError(ReviewError):
    """A label for a (bibcode, telescope) pair no batch has classified."""

    status_code = 404


@dataclass(frozen=True)
class ReviewerLabel:
    """One reviewer decision on a pair (a row of the history, or the pair's current state).

    ``cleared`` marks an undo that took the pair back to "no reviewer label": its
    ``labels`` mean nothing then.
    """

    bibcode: str
    telescope: str
    labels: TelescopeLabels
    reviewer: str
    note: str
    created_at: datetime
    action: str = "correct"
    id: int = 0
    token_id: int | None = None
    #: the history row an undo reverted
    undoes: int | None = None
    cleared: bool = False

    @property
    def names(self) -> str:
        """``science+instrumentation``, ``mention``, ... (``none`` for all-false)."""
        return label_names(self.labels)


@dataclass(frozen=True)
class LinkEdit:
    """One reviewer edit of a pair's bibliography links: a link added or removed, by
    whom, when, with a note. The last edit of a (kind, value) is the one in force; a
    removed link comes back by adding it again, an added one goes by removing it."""

    bibcode: str
    telescope: str
    kind: LinkKind
    value: str
    action: LinkAction
    reviewer: str
    note: str
    created_at: datetime
    id: int = 0
    token_id: int | None = None


def reviewer_labels(
    telescope: str,
    science: bool = False,
    instrumentation: bool = False,
    mention: bool = False,
    not_telescope: bool = False,
) -> TelescopeLabels:
    """The labels a reviewer ticked, exactly as ticked; ``ReviewError`` when the
    combination breaks the precedence rules or is empty for a real telescope."""
    ticked = {"science": science, "instrumentation": instrumentation, "mention": mention,
              "not_telescope": not_telescope}  # fmt: skip
    if TelescopeLabels.conflicts(science, instrumentation, mention, not_telescope):
        chosen = " + ".join(name for name, on in ticked.items() if on)
        raise ReviewError(
            f"labels {chosen} cannot go together: science and instrumentation exclude mention "
            "and not_telescope, and mention excludes not_telescope; tick science and/or "
            "instrumentation, or mention, or not_telescope"
        )
    if not any(ticked.values()) and telescope.upper() != NONE_TELESCOPE:
        raise ReviewError(
            f"no label ticked for {telescope.upper()}: tick science, instrumentation, mention "
            "or not_telescope (all-false is only the label of NONE rows)"
        )
    return TelescopeLabels(**ticked)


def final_labels(
    model: TelescopeLabels | None, review: ReviewerLabel | None
) -> tuple[TelescopeLabels | None, LabelSource]:
    """The label of record: the reviewer's when there is one, else the model's; a pair the
    model failed on and nobody reviewed has none (``failed``)."""
    if review is not None and not review.cleared:
        return review.labels, "reviewer"
    if model is None:
        return None, "failed"
    return model, "model"


def labels_from_names(names: str) -> TelescopeLabels:
    """``science+instrumentation`` (or ``none``) back to labels; ``ReviewError`` for an
    unknown name."""
    wanted = {n.strip() for n in names.split("+") if n.strip() and n.strip() != "none"}
    known = {label.value for label in LABELS}
    if unknown := wanted - known:
        raise ReviewError(f"unknown label(s) {sorted(unknown)}; known: {sorted(known)}")
    return TelescopeLabels(**dict.fromkeys(wanted, True))
