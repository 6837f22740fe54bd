"""The evaluation workflows behind ``amc eval run|score|submit``, ``amc train``,
``amc calibrate`` and ``amc audit``: plain functions the CLI calls (and anyone can call
from Python)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path

import numpy as np

from amc.classify.stream import classify_stream
from amc.classify.trained import (
    LabelSources,
    TrainingResult,
    join_labels,
    read_verdicts,
    save_model,
    train_model,
)
from amc.classify.trained.labels import human_label_sources
from amc.domain.metrics import LABEL_COLUMNS, ScoreReport, label_matrix, score_arrays
from amc.domain.models import Classification, Pair
from amc.ingest.pairs import read_labelled_pairs, read_pairs
from amc.output.writers import ResultWriter
from amc.registry import Registry
from amc.settings import Settings
from eval.audit import load_verdicts
from eval.calibrate import CalibrationRun, calibrate_cascade
from eval.incremental import run_incremental_audit
from eval.report import write_eval_report
from eval.scoring import read_label_table, score, score_markdown, validate_submission
from eval.splits import find_split_files

__all__ = [
    "CalibrationRun",
    "EvalRun",
    "calibrate_cascade",
    "check_submission",
    "evaluate",
    "load_verdicts",
    "run_incremental_audit",
    "score_files",
    "score_markdown",
    "submission_results",
    "train",
]


@dataclass(frozen=True)
class EvalRun:
    """What ``evaluate`` scored and wrote."""

    folder: Path
    files: dict[str, Path]
    report: ScoreReport
    n_pairs: int
    n_errors: int


def evaluate(
    data: Path,
    split: str | None,
    registry: Registry,
    settings: Settings,
    limit: int | None = None,
    out: Path | None = None,
) -> EvalRun:
    """Classify the labelled pairs of ``data`` (a file, or the ``split`` files of a TRACS
    folder), score them and write the report and the Kaggle submission under ``out``
    (default ``eval-reports/<time>-<split>-<tier>``). Failed pairs score as all-false
    (and are listed in ``submission.errors.csv``, not written to the submission)."""
    files = find_split_files(data, split)
    pairs = read_labelled_pairs(files, registry, settings, limit)
    folder = out or Path("eval-reports") / f"{_stamp()}-{split or data.stem}-{settings.tier}"
    results = list(classify_stream(iter(pairs), registry, settings))
    with ResultWriter(folder / "submission.csv", "kaggle") as writer:
        for c in results:
            writer.write(c)
    errors = sum(not c.ok for c in results)
    meta = {"data": ", ".join(map(str, files)), "tier": settings.tier, "pairs": len(pairs),
            "errors (scored as all-false)": errors, "generated_at": _stamp()}  # fmt: skip
    telescopes = [p.telescope for p in pairs]
    guessed = [c.telescope for c in results]  # the telescope column of the submission
    y_true = label_matrix([p.gold for p in pairs])
    y_pred = label_matrix([c.labels if c.ok else None for c in results])
    written = write_eval_report(folder, telescopes, y_true, y_pred, meta, guessed)
    report = score_arrays(np.asarray(telescopes, dtype=str), y_true, y_pred, np.asarray(guessed))
    return EvalRun(folder, written, report, len(pairs), errors)


def score_files(
    submission: Path, solution: Path, out: Path | None = None
) -> tuple[ScoreReport, dict[str, Path]]:
    """Score a Kaggle-shaped submission against a solution; with ``out``, write the report."""
    sol = read_label_table(solution, role="solution")
    sub = read_label_table(submission, role="submission")
    validate_submission(sub, sol)
    report = score(sol, sub)
    written: dict[str, Path] = {}
    if out is not None:
        aligned = sub.set_index("Id").loc[sol["Id"]].reset_index()
        meta = {"submission": str(submission), "solution": str(solution)}
        written = write_eval_report(out, list(sol["telescope"]),
                                    sol[LABEL_COLUMNS].to_numpy(bool),
                                    aligned[LABEL_COLUMNS].to_numpy(bool), meta,
                                    list(aligned["telescope"]))  # fmt: skip
    return report, written


def submission_results(
    inputs: Sequence[Path], registry: Registry, settings: Settings
) -> Iterator[Classification]:
    """The classifications of a Kaggle submission of ``inputs``, streamed, in input order
    (written with ``ResultWriter(path, "kaggle")``: failed pairs go to its side file)."""
    return classify_stream(read_pairs(inputs, registry, settings), registry, settings)


def check_submission(path: Path) -> int:
    """Read a written submission back and check its shape; its number of rows."""
    return len(read_label_table(path))


def train(
    data: Path,
    split: str | None,
    registry: Registry,
    settings: Settings,
    folds: int = 5,
    limit: int | None = None,
    seed: int = 0,
    verdicts: Sequence[Path] = (),
) -> tuple[TrainingResult, Path, LabelSources]:
    """Train the trained tier and save the artifact at ``settings.model_path`` (default
    ``models/amc-trained``); the result, its folder and where the labels came from.

    Without ``verdicts`` every pair of ``data`` needs its labels. With them (JSONL files of
    ``amc classify --tier llm`` runs), ``data`` gives the pairs' text and, where it has
    them, human labels, which win; the other pairs take their LLM verdict.
    """
    files = find_split_files(data, split, default="train")
    if not verdicts:
        pairs = read_labelled_pairs(files, registry, settings, limit)
        origins, sources = None, human_label_sources(pairs)
    else:
        read = read_pairs(files, registry, settings)
        found = [p for p in islice(read, limit) if isinstance(p, Pair)]
        pairs, origins, sources = join_labels(found, [read_verdicts(v) for v in verdicts])
    result = train_model(pairs, registry, settings, folds, seed, origins, sources)
    folder = save_model(result.model, settings.model_path or Path("models/amc-trained"))
    return result, folder, sources


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")
