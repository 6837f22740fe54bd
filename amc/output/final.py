"""The final label of every pair in the result files: the reviewer's when there is one,
otherwise the model's; and its final links: the model's, less those a reviewer removed,
plus those a reviewer added (``amc.links.reviewed``).

Applied before writing (``ResultWriter`` itself is unchanged): ``final_classification``
puts the final labels in the label columns, ``review_columns`` adds where they come from
(``label_source``: reviewer, model, or failed), who reviewed, when, their note, and the
model's own labels (``model_science`` ...), so nothing the model said is lost.
``link_columns_final`` puts the final links in the link columns (``instruments``,
``programmes``, ``obsids``, ``dois``) and adds ``model_links`` (the model's, as
``kind:value``) and ``link_edits`` (the reviewers' edits in force, ``+kind:value`` added,
``-kind:value`` removed). JSON lines keep the model's ``links`` with their quotes and get
these keys too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from amc.domain.models import LABELS, Classification
from amc.domain.reviews import LinkEdit, ReviewerLabel, final_labels
from amc.links.reviewed import PairLinks, review_links
from amc.output.writers import LINK_COLUMNS, LINK_SEPARATOR

#: columns added to CSV and parquet files (and keys added to JSON lines)
REVIEW_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("label_source", pa.string()),
    ("reviewer", pa.string()),
    ("reviewed_at", pa.string()),
    ("review_action", pa.string()),
    ("review_note", pa.string()),
    *[(f"model_{label.value}", pa.bool_()) for label in LABELS],
    ("model_links", pa.string()),
    ("link_edits", pa.string()),
]


def final_columns(
    c: Classification, review: ReviewerLabel | None, edits: Sequence[LinkEdit] = ()
) -> tuple[Classification, dict[str, Any]]:
    """A pair as a final-label file writes it: the final labels in place of the model's,
    and the added columns (the review's, the final links')."""
    return final_classification(c, review), {
        **review_columns(c, review),
        **link_columns_final(c, final_links(c, review, edits)),
    }


def final_links(
    c: Classification, review: ReviewerLabel | None, edits: Sequence[LinkEdit]
) -> PairLinks:
    """The pair's links after review, under its final labels."""
    return review_links(c.links, edits, final_labels(c.labels, review)[0])


def link_columns_final(c: Classification, links: PairLinks) -> dict[str, str]:
    """The link columns holding the final links, the model's links, the edits in force."""
    edits = [f"+{r.kind}:{r.value}" for r in links.final if r.source == "reviewer"]
    edits += [f"-{r.kind}:{r.value}" for r in links.removed]
    return {
        **{col: LINK_SEPARATOR.join(links.values(kind)) for col, kind in LINK_COLUMNS.items()},
        "model_links": LINK_SEPARATOR.join(dict.fromkeys(f"{k.kind}:{k.value}" for k in c.links)),
        "link_edits": LINK_SEPARATOR.join(edits),
    }


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
