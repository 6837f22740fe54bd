"""Evaluation commands: ``amc eval run|score|submit``, ``amc train``, ``amc calibrate``
and ``amc audit``.

Thin shells: settings are built once here, the work is done by the workflows of
``eval.run`` (evaluation, scoring, submissions, training, the incremental audit). An
``AmcError`` propagates to ``amc.cli.main``, which prints one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from amc.classify.calibration import save_calibration, store_in_artifact
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


def _workflows() -> ModuleType:
    """``eval.run``, imported by the commands that need it: it loads pandas, matplotlib and
    scikit-learn, which the other commands never need (seconds of start-up)."""
    import eval.run

    return eval.run


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
    settings, registry = _load(config, registry_files, tier=tier, model_path=model, progress=False)
    run = _workflows().evaluate(data, split, registry, settings, limit, out)
    typer.echo(f"{run.report.headline(4, '; ')}; {run.n_pairs} pairs")
    _echo(f"report: {run.files['html']} (and report.md, report.json, PNGs, submission.csv)")


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
    workflows = _workflows()
    report, written = workflows.score_files(submission, solution, out)
    typer.echo(workflows.score_markdown(report))
    if written:
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
    settings, registry = _load(config, registry_files, tier=tier, model_path=model, progress=False)
    workflows = _workflows()
    rows, errors = workflows.write_submission(inputs, output, registry, settings)
    _echo(f"wrote {rows} rows to {output} ({errors} failed pair(s) written all-False)")
    if solution is not None:
        report, _ = workflows.score_files(output, solution)
        typer.echo(workflows.score_markdown(report))


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
    settings, registry = _load(config, registry_files, model_path=model, progress=False)
    result, folder = _workflows().train(data, split, registry, settings, folds, limit, seed)
    cv = result.cv_report
    _echo(f"trained on {len(result.labels)} pairs; {folds}-fold cross-validated: "
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
    workflows = _workflows()
    settings = load_settings(config_file=config, registry_files=registry_files or None,
                             audit_threshold=threshold, progress=False)  # fmt: skip
    given = workflows.load_verdicts(verdicts) if verdicts is not None else None
    result = workflows.run_incremental_audit(settings, labels, out, full=full, verdicts=given)
    _echo(f"audited {result.n_pairs} pairs ({result.n_scored} re-scored): "
          f"{len(result.suspects)} suspect(s), {len(result.new_suspects)} new; "
          f"report {result.files.get('html')}")  # fmt: skip
    if fail_on_new and result.new_suspects:
        raise typer.Exit(1)


def calibrate(
    data: DataOpt,
    verdicts: Annotated[
        Path | None,
        typer.Option(
            "--verdicts",
            help="JSONL of `amc classify --tier llm -o x.jsonl` on the "
            "same pairs: agreement with the LLM [default: with the stored labels].",
        ),
    ] = None,
    target: Annotated[
        float,
        typer.Option(
            "--target",
            min=0.5,
            max=1.0,
            help="Agreement wanted on the pairs the cheap tier decides.",
        ),
    ] = 0.98,
    model: ModelOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Calibration file of the rules tier [cascade-calibration.json]; "
            "with --model-path it goes into the model's manifest.",
        ),
    ] = None,
    split: SplitOpt = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    limit: LimitOpt = None,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Calibrate the cascade's cheap tier so it decides only pairs the LLM would agree on.

    Fits P(the LLM gives the same labels) as a monotone function of the cheap tier's
    confidence and picks the lowest threshold whose decided pairs agree at least
    --target of the time (cross-validated). The trained tier's calibration is stored
    in its artifact (use pairs it was not trained on); the rules tier's in --out, used
    through AMC_CASCADE_CALIBRATION.

    Examples:

        amc classify held-out.parquet --tier llm -o llm.jsonl

        amc calibrate --data held-out.parquet --verdicts llm.jsonl --target 0.98
    """
    settings, registry = _load(config, registry_files, model_path=model, progress=False)
    run = _workflows().calibrate_cascade(
        data, split, registry, settings, verdicts, target, folds, limit
    )
    cal = run.calibration
    _echo(f"calibrated the {cal.tier} tier on {cal.pairs} pairs ({cal.reference}); keep its "
          f"verdict when P(agree) >= {cal.threshold:.3f}")  # fmt: skip
    _echo(f"cross-validated: {cal.decided_share:.0%} of the pairs the LLM could be asked about "
          f"are decided without a call, {cal.agreement:.1%} of them as the reference "
          f"(target {cal.target:.0%})")  # fmt: skip
    if cal.raw_decided_share is not None and cal.raw_agreement is not None:
        _echo(f"uncalibrated (cascade_threshold {cal.raw_threshold}): {cal.raw_decided_share:.0%}"
              f" decided, {cal.raw_agreement:.1%} agree")  # fmt: skip
    _echo(
        f"all {run.pairs} pairs: {run.decided_share:.0%} decided without a call "
        f"({run.never_asked} never need one; {run.without_reference} without a reference)"
    )
    if settings.model_path is not None:
        where = store_in_artifact(cal, Path(settings.model_path))
        _echo(f"stored in {where}; the cascade uses it with AMC_MODEL_PATH={settings.model_path}")
    else:
        where = save_calibration(cal, out or Path("cascade-calibration.json"))
        _echo(f"written to {where}; use it with AMC_CASCADE_CALIBRATION={where}")


def register(app: typer.Typer) -> None:
    """Add ``eval`` (run, score, submit), ``train``, ``calibrate`` and ``audit`` to the
    ``amc`` app."""
    app.add_typer(eval_app, name="eval")
    app.command("train")(train)
    app.command("calibrate")(calibrate)
    app.command("audit")(audit)
