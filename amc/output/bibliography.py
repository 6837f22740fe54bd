"""The bibliography of record: per telescope, every bibcode with its final labels.

``csv``: one row per pair (bibcode, telescope, final labels, where they come from, who
reviewed them and when, the model's own labels and confidence, the final links:
``instruments``, ``programmes``, ``obsids``, ``dois``, ``;``-separated), sorted by
telescope and bibcode, the shape of a telbib-style list. ``txt``: the bibcodes whose final labels
include one of the chosen labels (science and instrumentation by default), one per
line, ready to paste into an ADS library. Pairs the model failed on and nobody
reviewed have no final label: they are listed in the CSV as ``failed``, never guessed,
and left out of the text list.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from amc.domain.metrics import label_names
from amc.domain.models import LABELS, Classification, TelescopeLabels
from amc.domain.reviews import LabelSource, LinkEdit, ReviewerLabel, final_labels
from amc.links.reviewed import PairLinks, review_links
from amc.output.writers import LINK_COLUMNS, LINK_SEPARATOR

BibliographyFormat = Literal["csv", "txt"]
#: labels that put a paper in a telescope's bibliography by default
DEFAULT_LABELS: tuple[Literal["science", "instrumentation"], ...] = ("science", "instrumentation")
BIBLIOGRAPHY_COLUMNS = [
    "bibcode", "telescope", "labels", *[label.value for label in LABELS], "label_source",
    "reviewer", "reviewed_at", "review_note", "model_labels", "model_confidence",
    *LINK_COLUMNS, "Id",
]  # fmt: skip


@dataclass(frozen=True)
class BibliographyEntry:
    """One pair of the bibliography with its final labels."""

    result: Classification
    labels: TelescopeLabels | None
    source: LabelSource
    review: ReviewerLabel | None
    #: the final links (under the final labels)
    links: PairLinks | None = None

    def row(self) -> dict[str, object]:
        c, review = self.result, self.review if self.source == "reviewer" else None
        flags = self.labels.as_dict() if self.labels is not None else {}
        confidence = c.confidence.decided(c.labels) if c.labels is not None else None
        return {
            "bibcode": c.bibcode, "telescope": c.telescope,
            "labels": label_names(self.labels) if self.labels is not None else "",
            **{label.value: flags.get(label.value, "") for label in LABELS},
            "label_source": self.source,
            "reviewer": review.reviewer if review else "",
            "reviewed_at": review.created_at.isoformat(timespec="seconds") if review else "",
            "review_note": review.note if review else "",
            "model_labels": label_names(c.labels) if c.labels is not None else "failed",
            "model_confidence": "" if confidence is None else f"{confidence:.3f}",
            **{col: LINK_SEPARATOR.join(self.links.values(kind)) if self.links else ""
               for col, kind in LINK_COLUMNS.items()},
            "Id": c.pair_id,
        }  # fmt: skip


def bibliography_entries(
    results: Iterable[tuple[Classification, ReviewerLabel | None]],
    telescope: str | None = None,
    link_edits: Mapping[tuple[str, str], Sequence[LinkEdit]] | None = None,
) -> list[BibliographyEntry]:
    """The pairs of ``telescope`` (all telescopes when None) with their final labels and
    final links (the model's with ``link_edits``, by (bibcode, telescope), applied),
    sorted by telescope then bibcode."""
    wanted = telescope.upper() if telescope else None
    edits = link_edits or {}
    entries = []
    for c, review in results:
        if wanted is not None and c.telescope != wanted:
            continue
        labels, source = final_labels(c.labels, review)
        links = review_links(c.links, edits.get((c.bibcode, c.telescope), ()), labels)
        entries.append(BibliographyEntry(c, labels, source, review, links))
    return sorted(entries, key=lambda e: (e.result.telescope, e.result.bibcode))


def write_bibliography(
    path: Path,
    entries: Sequence[BibliographyEntry],
    fmt: BibliographyFormat = "csv",
    labels: Sequence[str] = DEFAULT_LABELS,
) -> int:
    """Write the bibliography to ``path``; the number of lines written (header aside)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        return _write(handle, entries, fmt, labels)


def _write(
    handle: IO[str], entries: Sequence[BibliographyEntry], fmt: str, labels: Sequence[str]
) -> int:
    if fmt == "txt":
        bibcodes = dict.fromkeys(
            e.result.bibcode for e in entries if e.labels is not None and _has(e.labels, labels)
        )
        handle.writelines(f"{b}\n" for b in bibcodes)
        return len(bibcodes)
    writer = csv.DictWriter(handle, fieldnames=BIBLIOGRAPHY_COLUMNS)
    writer.writeheader()
    for entry in entries:
        writer.writerow(entry.row())
    return len(entries)


def _has(labels: TelescopeLabels, wanted: Sequence[str]) -> bool:
    return any(labels.as_dict().get(name, False) for name in wanted)
