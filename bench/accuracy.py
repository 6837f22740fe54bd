"""Benchmark: accuracy of an offline tier on the labelled sets at hand (a check, not a target).

    python bench/accuracy.py                                   # rules tier, every set found
    python bench/accuracy.py --dev /work/shared/data/dev-papers --tier trained --model-path M

Sets (each skipped when its files are missing):

- ``sample``: the bundled 57 hand-written pairs (``amc/data/sample.jsonl``);
- ``dev table``: the dev papers' parquet (title, abstract, body, acknowledgments given);
- ``dev txt``: the same papers written as plain ``.txt`` exports (title line, an
  "Abstract" heading, the body, an "Acknowledgments" heading), so amc must find the
  structure itself; ``dev txt (bare)`` the same without any heading;
- ``dev pdf``: the real PDFs with their hand labels.

The dev papers are 17 pairs: far too few to tune on, and amc is judged on papers it has
not seen. Prints one Markdown table (pairs, cell macro-F1, sklearn macro-F1), then with
``--cells`` the F1 of every counted (telescope, label) cell of each set, and with
``--show-wrong`` the pairs the tier got wrong. Speed is ``bench/snippets.py``'s job.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from amc.classify.dispatch import classify_pairs
from amc.domain.metrics import score_labels
from amc.domain.models import Pair, TelescopeLabels
from amc.ingest.pairs import read_pairs
from amc.registry import Registry, load_registry
from amc.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
#: hand labels of the dev PDFs (dev-papers/README.md)
PDF_LABELS = {
    "wasp107": {"HST": "science", "JWST": "mention"},
    "wasp12_rnaas": {"HST": "science"},
    "trappist1_ttvs": {"CHANDRA": "not_telescope", "JWST": "mention"},
}
LABEL_NAMES = ("science", "instrumentation", "mention", "not_telescope")


def text_export(row: dict[str, str], headings: bool = True) -> str:
    """A paper as a plain-text export would hold it: title, abstract, body, acknowledgments."""
    title = " ".join(str(row.get("title") or "").split())
    parts = [title] if title else []
    abstract = str(row.get("abstract") or "").strip()
    if abstract:
        parts.append(f"Abstract\n{abstract}" if headings else abstract)
    parts.append(str(row.get("body") or "").strip())
    ack = str(row.get("acknowledgments") or "").strip()
    if ack:
        parts.append(f"Acknowledgments\n{ack}" if headings else ack)
    return "\n\n".join(p for p in parts if p) + "\n"


def _labels(row: dict[str, object]) -> TelescopeLabels:
    return TelescopeLabels(**{k: bool(row[k]) for k in LABEL_NAMES})


def _score(
    name: str, pairs: Sequence[Pair], gold: Sequence[TelescopeLabels], registry: Registry,
    settings: Settings,
) -> dict[str, object]:  # fmt: skip
    results = classify_pairs(list(pairs), registry, settings)
    pred = [c.labels if c.ok else None for c in results]
    report = score_labels(gold, pred, [p.telescope for p in pairs])
    wrong = [
        f"{p.pair_id}: {_names(g)}→{_names(c)}"
        for p, g, c in zip(pairs, gold, pred, strict=True)
        if c != g
    ]
    return {
        "set": name,
        "pairs": len(pairs),
        "cell": report.cell_macro_f1,
        "sklearn": report.sklearn_macro_f1,
        "cells": [(c.telescope, c.label, c.support, c.f1) for c in report.cells if c.counted],
        "wrong": wrong,
    }


def _names(labels: TelescopeLabels | None) -> str:
    if labels is None:
        return "error"
    return "+".join(label.value for label in labels.positives) or "none"


def sample_set(registry: Registry, settings: Settings) -> tuple[list[Pair], list[TelescopeLabels]]:
    pairs = [p for p in read_pairs([SAMPLE], registry, settings) if isinstance(p, Pair)]
    return pairs, [p.gold or TelescopeLabels() for p in pairs]


def dev_table(dev: Path, registry: Registry, settings: Settings) -> tuple[list[Pair], list]:
    pairs = [
        p for p in read_pairs([dev / "papers.parquet"], registry, _lenient(settings))
        if isinstance(p, Pair)
    ]  # fmt: skip
    return pairs, [p.gold or TelescopeLabels() for p in pairs]


def dev_text(
    dev: Path, registry: Registry, settings: Settings, folder: Path, headings: bool
) -> tuple[list[Pair], list[TelescopeLabels]]:
    rows = pq.read_table(dev / "papers.parquet").to_pylist()
    pairs: list[Pair] = []
    gold: list[TelescopeLabels] = []
    for row in rows:
        path = folder / f"{row['bibcode']}.txt"
        if not path.exists():
            path.write_text(text_export(row, headings), encoding="utf-8")
        (pair,) = [
            p for p in read_pairs([path], registry, settings, [row["telescope"]])
            if isinstance(p, Pair)
        ]  # fmt: skip
        pairs.append(pair)
        gold.append(_labels(row))
    return pairs, gold


def dev_pdf(dev: Path, registry: Registry, settings: Settings) -> tuple[list[Pair], list]:
    pairs: list[Pair] = []
    gold: list[TelescopeLabels] = []
    for stem, labels in PDF_LABELS.items():
        path = dev / "pdf" / f"{stem}.pdf"
        for pair in read_pairs([path], registry, settings, list(labels)):
            if isinstance(pair, Pair):
                pairs.append(pair)
                gold.append(TelescopeLabels(**{labels[pair.telescope]: True}))
    return pairs, gold


def _lenient(settings: Settings) -> Settings:
    # the dev parquet has a ``confidence`` column amc does not know
    return settings.model_copy(update={"allow_extra_columns": True})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=Path("/work/shared/data/dev-papers"))
    parser.add_argument("--tier", default="rules", choices=["rules", "trained"])
    parser.add_argument("--model-path", type=Path, default=None)
    parser.add_argument("--show-wrong", action="store_true", help="list the wrong pairs")
    parser.add_argument("--cells", action="store_true", help="F1 of every counted cell")
    args = parser.parse_args(argv)
    settings = load_settings(tier=args.tier, model_path=args.model_path, progress=False)
    registry = load_registry(settings.registry_files)
    rows = [_score("sample (57 hand-written pairs)", *sample_set(registry, settings), registry,
                   settings)]  # fmt: skip
    if (args.dev / "papers.parquet").exists():
        rows.append(_score("dev table", *dev_table(args.dev, registry, settings), registry,
                           settings))  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="amc-bench-") as tmp:
            for headings, name in ((True, "dev txt"), (False, "dev txt (bare)")):
                folder = Path(tmp, name.replace(" ", "_"))
                folder.mkdir()
                data = dev_text(args.dev, registry, settings, folder, headings)
                rows.append(_score(name, *data, registry, settings))
    if (args.dev / "pdf").is_dir():
        rows.append(_score("dev pdf", *dev_pdf(args.dev, registry, settings), registry, settings))
    print(f"tier: {args.tier}; registry {registry.content_hash}\n")
    print("| set | pairs | cell macro-F1 | sklearn macro-F1 |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['set']} | {row['pairs']} | {row['cell']:.3f} | {row['sklearn']:.3f} |")
    if args.cells:
        for row in rows:
            print(f"\n{row['set']}: per-cell F1 (telescope, label, support)")
            for telescope, label, support, f1 in row["cells"]:  # type: ignore[attr-defined]
                print(f"  {telescope:<10} {label:<16} {support:>3}  {f1:.3f}")
    if args.show_wrong:
        for row in rows:
            print(f"\n{row['set']}: {len(row['wrong'])} wrong")  # type: ignore[arg-type]
            for line in row["wrong"]:  # type: ignore[attr-defined]
                print(f"  {line}")


if __name__ == "__main__":
    main()
