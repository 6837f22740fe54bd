"""Score bibliography links (``amc eval links PRED GOLD``): precision, recall, F1 per kind.

GOLD is a tab-separated file in the shape of the dev papers' ``links.tsv``, PRED
amc's output (JSON Lines or CSV); ``eval.link_files`` reads both.

Only the pairs GOLD covers are scored; a covered pair missing from PRED, or failed
there, predicts nothing. Items are ``(pair, value)`` per kind, compared
case-insensitively (ids with leading zeros dropped). Per kind: precision =
true / predicted, recall = true / gold (0 when the denominator is 0), F1 their
harmonic mean; a kind with neither gold nor predicted items is ``n/a`` and left
out of the macro-F1, the mean over the other kinds. ``grant`` links are funding,
not data links, and are not scored.

Pair ids: a GOLD ``pair_id`` matches the PRED record with that id. A GOLD id
``pdf:<name>_<TELESCOPE>`` (a PDF whose bibcode the labeller did not know) matches
the PRED record of that telescope whose ``source`` is a file named ``<name>.pdf``
(or whose id is ``<name>_<TELESCOPE>``, amc's id for a PDF without an identifier).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amc.domain.models import DATA_LINK_KINDS
from eval.link_files import (
    PDF_PREFIX,
    LinkFileError,
    PredictedPair,
    read_gold,
    read_predictions,
)

__all__ = [
    "KindScore",
    "LinkFileError",
    "LinkReport",
    "links_markdown",
    "match_pairs",
    "score_links",
    "write_links_report",
]


@dataclass(frozen=True)
class KindScore:
    kind: str
    gold: int
    predicted: int
    true: int

    @property
    def counted(self) -> bool:
        return self.gold > 0 or self.predicted > 0

    @property
    def precision(self) -> float:
        return self.true / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class LinkReport:
    """Scores and the disagreements behind them."""

    kinds: list[KindScore]
    pairs: int
    missing_pairs: list[str]
    failed_pairs: list[str]
    false_negatives: list[dict[str, str]]
    false_positives: list[dict[str, str]]
    certain_only: bool = False

    @property
    def macro_f1(self) -> float | None:
        counted = [k.f1 for k in self.kinds if k.counted]
        return sum(counted) / len(counted) if counted else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": self.macro_f1,
            "pairs": self.pairs,
            "certain_only": self.certain_only,
            "kinds": [
                {
                    "kind": k.kind,
                    "gold": k.gold,
                    "predicted": k.predicted,
                    "true": k.true,
                    "precision": k.precision if k.counted else None,
                    "recall": k.recall if k.counted else None,
                    "f1": k.f1 if k.counted else None,
                }
                for k in self.kinds
            ],
            "missing_pairs": self.missing_pairs,
            "failed_pairs": self.failed_pairs,
            "false_negatives": self.false_negatives,
            "false_positives": self.false_positives,
        }


# --- matching and scoring -----------------------------------------------------------------------


def match_pairs(gold_pairs: list[str], predicted: list[PredictedPair]) -> dict[str, PredictedPair]:
    """Gold pair id -> its prediction (see the module docstring for ``pdf:`` ids)."""
    by_id = {p.pair_id: p for p in predicted}
    by_file = {
        (Path(p.source).stem, p.telescope.upper()): p
        for p in predicted
        if p.source.lower().endswith(".pdf")
    }
    out = {}
    for gold_id in gold_pairs:
        if gold_id in by_id:
            out[gold_id] = by_id[gold_id]
        elif gold_id.startswith(PDF_PREFIX):
            name, _, telescope = gold_id[len(PDF_PREFIX) :].rpartition("_")
            found = by_file.get((name, telescope.upper())) or by_id.get(f"{name}_{telescope}")
            if found is not None:
                out[gold_id] = found
    return out


def normalise(kind: str, value: str) -> str:
    """The form two link values are compared in."""
    value = value.strip().casefold()
    if kind in ("programme", "obsid"):
        value = re.sub(r":0*(\d)", r":\1", value)
    return value


def score_links(gold_path: Path, pred_path: Path, certain_only: bool = False) -> LinkReport:
    """Score the predictions of ``pred_path`` against the gold links of ``gold_path``."""
    gold_pairs, gold = read_gold(gold_path)
    matched = match_pairs(gold_pairs, read_predictions(pred_path))
    evidence = {(g.pair_id, g.kind, normalise(g.kind, g.value)): g.evidence for g in gold}
    ignored = {(g.pair_id, g.kind, normalise(g.kind, g.value)) for g in gold if not g.certain}
    truth = {(g.pair_id, g.kind, normalise(g.kind, g.value)) for g in gold}
    predicted = {
        (gold_id, kind, normalise(kind, value))
        for gold_id, pair in matched.items()
        if not pair.error
        for kind, values in pair.links.items()
        if kind in DATA_LINK_KINDS
        for value in values
    }
    if certain_only:
        truth, predicted = truth - ignored, predicted - ignored
    kinds = [
        KindScore(
            kind,
            sum(t[1] == kind for t in truth),
            sum(p[1] == kind for p in predicted),
            sum(t[1] == kind for t in truth & predicted),
        )
        for kind in DATA_LINK_KINDS
    ]
    return LinkReport(
        kinds=kinds,
        pairs=len(gold_pairs),
        missing_pairs=[g for g in gold_pairs if g not in matched],
        failed_pairs=[g for g, p in matched.items() if p.error],
        false_negatives=[_item(t, evidence.get(t, "")) for t in sorted(truth - predicted)],
        false_positives=[_item(p) for p in sorted(predicted - truth)],
        certain_only=certain_only,
    )


def _item(item: tuple[str, str, str], evidence: str = "") -> dict[str, str]:
    pair_id, kind, value = item
    return {"pair_id": pair_id, "kind": kind, "value": value, "evidence": evidence}


# --- the report -----------------------------------------------------------------------------------


def links_markdown(report: LinkReport) -> str:
    """The report a person reads: the per-kind table, the macro-F1, what disagreed."""
    macro = report.macro_f1
    lines = [
        "# Link extraction scores",
        "",
        f"- pairs covered by the gold file: {report.pairs}"
        + (" (links marked certain=no not scored)" if report.certain_only else ""),
        f"- macro-F1 over the kinds with gold or predicted links: "
        f"{'n/a' if macro is None else f'{macro:.3f}'}",
        "",
        "| kind | gold | predicted | true | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in report.kinds:
        scores = [f"{x:.3f}" for x in (k.precision, k.recall, k.f1)] if k.counted else ["n/a"] * 3
        lines.append(f"| {k.kind} | {k.gold} | {k.predicted} | {k.true} | {' | '.join(scores)} |")
    for title, pairs in (
        ("Gold pairs not in the predictions (scored as no links)", report.missing_pairs),
        ("Gold pairs that failed in the predictions", report.failed_pairs),
    ):
        if pairs:
            lines += ["", f"{title}:", "", *[f"- {p}" for p in pairs]]
    for title, items in (
        ("Missed (false negatives)", report.false_negatives),
        ("Extra (false positives)", report.false_positives),
    ):
        if items:
            lines += ["", f"{title}:", ""]
            lines += [
                f"- {i['pair_id']} {i['kind']} {i['value']}"
                + (f" — gold evidence: {i['evidence']}" if i["evidence"] else "")
                for i in items
            ]
    return "\n".join(lines) + "\n"


def write_links_report(report: LinkReport, out: Path) -> dict[str, Path]:
    """``links-report.md`` and ``links-report.json`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"markdown": out / "links-report.md", "json": out / "links-report.json"}
    files["markdown"].write_text(links_markdown(report), encoding="utf-8")
    files["json"].write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    return files
