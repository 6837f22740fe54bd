"""The final label of every pair in the result files: the reviewer's when there is one,
otherwise the model's.

Applied before writing (``ResultWriter`` itself is unchanged): ``final_classification``
puts the final labels in the label columns, ``review_columns`` adds where they come from
(``label_source``: reviewer, model, or failed), who reviewed, when, their note, and the
model's own labels (``model_science`` ...), so nothing the model said is lost.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from amc.domain.models import LABELS, Classification
from amc.domain.reviews import ReviewerLabel, final_labels

#: columns added to CSV and parquet files (and keys added to JSON lines)
REVIEW_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("label_source", pa.string()),
    ("reviewer", pa.string()),
    ("reviewed_at", pa.string()),
    ("review_action", pa.string()),
    ("review_note", pa.string()),
    *[(f"model_{label.value}", pa.bool_()) for label in LABELS],
]


def final_classification(c: Classification, review: ReviewerLabel | None) -> Classification:
    """``c`` with the final labels in place of the model's (the same object when the
    model's labels are final)."""
    labels, source = final_labels(c.labels, review)
    if source != "reviewer":
        return c
    return c.model_copy(update={"labels": labels})


def review_columns(c: Classification, review: ReviewerLabel | None) -> dict[str, Any]:
    """Where the final labels come from, the review, and the model's own labels."""
    _, source = final_labels(c.labels, review)
    reviewed = review if source == "reviewer" else None
    model = c.labels.as_dict() if c.labels is not None else dict.fromkeys(_names())
    return {
        "label_source": source,
        "reviewer": reviewed.reviewer if reviewed else "",
        "reviewed_at": reviewed.created_at.isoformat(timespec="seconds") if reviewed else "",
        "review_action": reviewed.action if reviewed else "",
        "review_note": reviewed.note if reviewed else "",
        **{f"model_{name}": value for name, value in model.items()},
    }


def _names() -> list[str]:
    return [label.value for label in LABELS]
