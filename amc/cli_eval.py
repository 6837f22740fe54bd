"""Evaluation commands: ``amc eval run|score|submit``, ``amc train`` and ``amc audit``.

Thin shells: settings are built once here, the work is done by
``amc.trained``, ``eval.scoring``, ``eval.report`` and ``eval.audit``. An
``AmcError`` propagates to ``amc.cli.main``, which prints one line and exits 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from amc.errors import InputError
from amc.models import LABELS, Classification, Pair
from amc.registry import Registry, load_registry
from amc.settings import Settings, load_settings

eval_app = typer.Typer(
    name="eval", help="Score predictions the TRACS way and write Kaggle submissions.",
    no_args_is_help=True, rich_markup_mode=None,
)  # fmt: skip

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file.")]
RegistryOpt = Annotated[
    list[Path] | None, typer.Option("--registry", help="Extra telescope registry file.")
]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model-path", help="Trained-model directory (AMC_MODEL_PATH) for --tier trained."
    ),
]
TierOpt = Annotated[
    str | None, typer.Option("--tier", help="rules (default) | trained | llm | cascade.")
]
DataOpt = Annotated[
    Path, typer.Option("--data", help="A labelled file, or a folder of TRACS split files.")
]
SplitOpt = Annotated[
    str | None,
    typer.Option("--split", help="Split name(s) in a folder: HST_reference_test, a comma list, "
                 "test or train [test]."),
]  # fmt: skip
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Use only the first N pairs.")]


def _echo(message: str) -> None:
    typer.echo(message, err=True)


def _load(
    config: Path | None, registry_files: list[Path] | None, **flags: Any
) -> tuple[Settings, Registry]:
    settings = load_settings(config_file=config, registry_files=registry_files or None, **flags)
    return settings, load_registry(settings.registry_files)


def _labelled_pairs(
    files: list[Path], registry: Registry, settings: Settings, limit: int | None
) -> list[Pair]:
    from amc.pipeline import read_pairs

    pairs = [p for p in islice(read_pairs(files, registry, settings), limit)]
    good = [p for p in pairs if isinstance(p, Pair)]
    unlabelled = [p.pair_id for p in good if p.gold is None]
    if unlabelled:
        raise InputError(
            f"{len(unlabelled)} pair(s) have no labels (e.g. {unlabelled[0]!r}); this command "
            "needs the columns science, instrumentation, mention, not_telescope",
            ", ".join(map(str, files)),
        )
    return good


def _label_rows(items: Sequence[Classification | Pair], attr: str) -> np.ndarray:
    rows = []
    for item in items:
        labels = getattr(item, attr)
        rows.append([bool(labels and getattr(labels, lab.value)) for lab in LABELS])
    return np.array(rows, dtype=bool).reshape(len(items), len(LABELS))


@eval_app.command("run")
def eval_run(
    data: DataOpt,
    split: SplitOpt = None,
    limit: LimitOpt = None,
    tier: TierOpt = None,
    model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Report folder.")] = None,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Classify labelled pairs, score them and write a report (JSON, Markdown, HTML, PNG).

    Example:

        amc eval run --data tracs/ --split HST_reference_test --limit 500 --out reports/hst
    """
    from amc.output import ResultWriter
    from amc.tiers import classify_stream
    from eval.report import write_eval_report
    from eval.splits import find_split_files

    settings, registry = _load(config, registry_files, tier=tier, model_path=model, progress=False)
    files = find_split_files(data, split)
    pairs = _labelled_pairs(files, registry, settings, limit)
    folder = out or Path("eval-reports") / f"{_stamp()}-{split or data.stem}-{settings.tier}"
    results = list(classify_stream(iter(pairs), registry, settings))
    with ResultWriter(folder / "submission.csv", "kaggle") as writer:
        for c in results:
            writer.write(c)
    errors = sum(not c.ok for c in results)
    meta = {"data": ", ".join(map(str, files)), "tier": settings.tier, "pairs": len(pairs),
            "errors (scored as all-false)": errors, "generated_at": _stamp()}  # fmt: skip
    written = write_eval_report(folder, [p.telescope for p in pairs], _label_rows(pairs, "gold"),
                                _label_rows(results, "labels"), meta)  # fmt: skip
    _print_headline(written["json"])
    _echo(f"report: {written['html']} (and report.md, report.json, PNGs, submission.csv)")


@eval_app.command("score")
def eval_score(
    submission: Annotated[Path, typer.Argument(help="Kaggle submission CSV.")],
    solution: Annotated[Path, typer.Argument(help="Solution CSV with the true labels.")],
    out: Annotated[Path | None, typer.Option("--out", help="Also write a report here.")] = None,
) -> None:
    """Score a Kaggle-shaped submission against a solution; prints the metric tables.

    Example:

        amc eval score submission.csv solution.csv --out reports/dev
    """
    from eval.report import write_eval_report
    from eval.scoring import LABEL_COLUMNS, read_label_table, score, validate_submission

    sol = read_label_table(solution, role="solution")
    sub = read_label_table(submission, role="submission")
    validate_submission(sub, sol)
    typer.echo(score(sol, sub).to_markdown())
    if out is not None:
        aligned = sub.set_index("Id").loc[sol["Id"]].reset_index()
        meta = {"submission": str(submission), "solution": str(solution)}
        written = write_eval_report(out, list(sol["telescope"]),
                                    sol[LABEL_COLUMNS].to_numpy(bool),
                                    aligned[LABEL_COLUMNS].to_numpy(bool), meta)  # fmt: skip
        _echo(f"report: {written['html']}")


@eval_app.command("submit")
def eval_submit(
    inputs: Annotated[list[Path], typer.Argument(help="Kaggle test CSV or TRACS files.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Submission CSV to write.")],
    tier: TierOpt = None,
    model: ModelOpt = None,
    solution: Annotated[
        Path | None, typer.Option("--solution", help="Score the submission against this.")
    ] = None,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a Kaggle submission (Id,telescope,science,instrumentation,mention,not_telescope).

    The file is read back and checked; failed pairs are written all-False and counted.

    Example:

        amc eval submit test.csv -o submission.csv --tier trained --model-path models/amc
    """
    from amc.output import ResultWriter
    from amc.pipeline import read_pairs
    from amc.tiers import classify_stream
    from eval.scoring import read_label_table, score

    settings, registry = _load(config, registry_files, tier=tier, model_path=model, progress=False)
    errors = 0
    with ResultWriter(output, "kaggle") as writer:
        for c in classify_stream(read_pairs(inputs, registry, settings), registry, settings):
            writer.write(c)
            errors += not c.ok
    table = read_label_table(output)
    _echo(f"wrote {len(table)} rows to {output} ({errors} failed pair(s) written all-False)")
    if solution is not None:
        typer.echo(score(read_label_table(solution, role="solution"), table).to_markdown())


def train(
    data: DataOpt,
    split: Annotated[
        str | None, typer.Option("--split", help="Split name(s) in a folder [train].")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model-path", help="Artifact folder to write [models/amc-trained]."),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    limit: LimitOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Train the scikit-learn tier on labelled pairs and save a versioned artifact.

    Prints the cross-validated scores (also stored in the artifact's manifest.json).

    Example:

        amc train --data tracs/ --split train --model-path models/amc
    """
    from amc.trained import save_model, train_model
    from eval.splits import find_split_files

    settings, registry = _load(config, registry_files, model_path=model, progress=False)
    pairs = _labelled_pairs(find_split_files(data, split or "train"), registry, settings, limit)
    result = train_model(pairs, registry, settings, n_splits=folds, seed=seed)
    folder = save_model(result.model, settings.model_path or Path("models/amc-trained"))
    cv = result.cv_report
    _echo(f"trained on {len(pairs)} pairs; {folds}-fold cross-validated: "
          f"cell macro-F1 {cv['cell_macro_f1']:.3f}, sklearn macro-F1 "
          f"{cv['sklearn_macro_f1']:.3f}, micro-F1 {cv['micro_f1']:.3f}")  # fmt: skip
    _echo(f"model written to {folder} (use --model-path {folder} or AMC_MODEL_PATH={folder})")


def audit(
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Historical labels [AMC_AUDIT_LABELS_PATH].")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report folder [audit-reports].")
    ] = None,
    verdicts: Annotated[
        Path | None,
        typer.Option(
            "--verdicts",
            help="JSONL of an earlier `amc classify -o x.jsonl` run (LLM "
            "verdicts and quotes); default: the rules tier's verdicts.",
        ),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-score every pair.")] = False,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="Report pairs scoring at least this [0.5].")
    ] = None,
    fail_on_new: Annotated[
        bool, typer.Option("--fail-on-new", help="Exit 1 when this run found new suspects.")
    ] = False,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Rank pairs whose stored labels are likely wrong (incremental; safe to run from cron).

    Only pairs new or changed since the last run are re-scored (state in the job
    store); writes audit-YYYY-MM-DD.csv/.html and suspects-latest.csv. Exit codes:
    0 done, 1 new suspects with --fail-on-new, 2 error (one line on stderr).

    Example:

        amc audit --labels historical.parquet --out audit-reports/ --fail-on-new
    """
    from eval.audit import load_verdicts, run_incremental_audit

    settings = load_settings(config_file=config, registry_files=registry_files or None,
                             audit_threshold=threshold, progress=False)  # fmt: skip
    given = load_verdicts(verdicts) if verdicts is not None else None
    result = run_incremental_audit(settings, labels, out, full=full, verdicts=given)
    _echo(f"audited {result.n_pairs} pairs ({result.n_scored} re-scored): "
          f"{len(result.suspects)} suspect(s), {len(result.new_suspects)} new; "
          f"report {result.files.get('html')}")  # fmt: skip
    if fail_on_new and result.new_suspects:
        raise typer.Exit(1)


def _print_headline(report_json: Path) -> None:
    import json

    data = json.loads(report_json.read_text(encoding="utf-8"))
    cell = data["cell_macro_f1"]
    typer.echo(f"cell macro-F1 {'n/a' if cell is None else f'{cell:.4f}'} (per telescope×label, "
               f"cells with ≥1 positive); sklearn macro-F1 {data['sklearn_macro_f1']:.4f} "
               f"(4 label columns pooled); micro-F1 {data['micro_f1']:.4f}; "
               f"{data['n_rows']} pairs")  # fmt: skip


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def register(app: typer.Typer) -> None:
    """Add ``eval`` (run, score, submit), ``train`` and ``audit`` to the ``amc`` app."""
    app.add_typer(eval_app, name="eval")
    app.command("train")(train)
    app.command("audit")(audit)
