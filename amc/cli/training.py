"""Teaching the cheap tiers: ``amc train`` (the scikit-learn tier, on labels or an LLM run's
verdicts) and ``amc calibrate`` (the cascade's threshold, from agreement with the LLM).

Thin shells over ``eval.run``, like the evaluation commands whose options they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from amc.classify.calibration import save_calibration, store_in_artifact
from amc.cli.common import Command
from amc.cli.evaluate import (
    ConfigOpt,
    DataOpt,
    LimitOpt,
    ModelOpt,
    RegistryOpt,
    SplitOpt,
    eval_workflows,
    load_for_command,
    say,
)


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``calibrate`` to the ``amc`` app."""
    app.command("train", cls=Command)(train)
    app.command("calibrate", cls=Command)(calibrate)


def train(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            metavar="PATH",
            help="The pairs to train on: a labelled file or a folder of TRACS splits; with "
            "--from-verdicts, the input the LLM run classified (its labels, if any, win).",
        ),
    ],
    from_verdicts: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-verdicts",
            metavar="FILE",
            help="JSONL of an `amc classify --tier llm -o RUN.jsonl` run: its verdicts label "
            "the pairs of --data that have no label (repeatable; failed rows are skipped).",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            metavar="SPLIT",
            help="Split file(s) of a TRACS folder, as for `amc eval run` [train; a folder "
            "with no split files: all its files].",
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model-path", metavar="DIR", help="Artifact folder to write [models/amc-trained]."
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", metavar="N", help="Cross-validation folds.")] = 5,
    limit: LimitOpt = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Random seed.")] = 0,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Train the scikit-learn tier on labelled pairs and save a versioned artifact.

    The labels are the input's own, or the verdicts of an LLM run (--from-verdicts): label
    a few thousand pairs with an LLM once, then classify the rest for free. Prints the
    cross-validated scores and where the labels came from (both also stored in the
    artifact's manifest.json).

    Examples:

        amc train --data tracs/ --split train --model-path models/amc

        amc classify papers.parquet --tier llm -o run.jsonl
        amc train --data papers.parquet --from-verdicts run.jsonl --model-path models/llm-taught
    """
    settings, registry = load_for_command(config, registry_files, model_path=model, progress=False)
    result, folder, sources = eval_workflows().train(
        data, split, registry, settings, folds, limit, seed, from_verdicts or ()
    )
    cv = result.cv_report
    say(f"labels: {sources.summary()}")
    say(f"trained on {len(result.labels)} pairs; {folds}-fold cross-validated: "
          f"cell macro-F1 {cv['cell_macro_f1']:.3f}, sklearn macro-F1 "
          f"{cv['sklearn_macro_f1']:.3f}, micro-F1 {cv['micro_f1']:.3f}")  # fmt: skip
    by_source = result.model.manifest.get("cv_metrics_by_source", {})
    if len(by_source) > 1:
        say("cross-validated by label source: " + "; ".join(
            f"{name} ({m['n_pairs']} pairs) cell macro-F1 {_fmt(m['cell_macro_f1'])}"
            for name, m in by_source.items()))  # fmt: skip
    say(f"model written to {folder} (use --model-path {folder} or AMC_MODEL_PATH={folder})")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def calibrate(
    data: DataOpt,
    verdicts: Annotated[
        Path | None,
        typer.Option(
            "--verdicts",
            metavar="FILE",
            help="JSONL of `amc classify --tier llm -o x.jsonl` on the "
            "same pairs: agreement with the LLM [default: with the stored labels].",
        ),
    ] = None,
    target: Annotated[
        float,
        typer.Option(
            "--target",
            metavar="SHARE",
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
            metavar="FILE",
            help="Calibration file of the rules tier [cascade-calibration.json]; "
            "with --model-path it goes into the model's manifest.",
        ),
    ] = None,
    split: SplitOpt = None,
    folds: Annotated[
        int, typer.Option("--folds", metavar="N", min=2, help="Cross-validation folds.")
    ] = 5,
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
    settings, registry = load_for_command(config, registry_files, model_path=model, progress=False)
    run = eval_workflows().calibrate_cascade(
        data, split, registry, settings, verdicts, target, folds, limit
    )
    cal = run.calibration
    say(f"calibrated the {cal.tier} tier on {cal.pairs} pairs ({cal.reference}); keep its "
          f"verdict when P(agree) >= {cal.threshold:.3f}")  # fmt: skip
    say(f"cross-validated: {cal.decided_share:.0%} of the pairs the LLM could be asked about "
          f"are decided without a call, {cal.agreement:.1%} of them as the reference "
          f"(target {cal.target:.0%})")  # fmt: skip
    if cal.raw_decided_share is not None and cal.raw_agreement is not None:
        say(f"uncalibrated (cascade_threshold {cal.raw_threshold}): {cal.raw_decided_share:.0%}"
              f" decided, {cal.raw_agreement:.1%} agree")  # fmt: skip
    say(
        f"all {run.pairs} pairs: {run.decided_share:.0%} decided without a call "
        f"({run.never_asked} never need one; {run.without_reference} without a reference)"
    )
    if settings.model_path is not None:
        where = store_in_artifact(cal, Path(settings.model_path))
        say(f"stored in {where}; the cascade uses it with AMC_MODEL_PATH={settings.model_path}")
    else:
        where = save_calibration(cal, out or Path("cascade-calibration.json"))
        say(f"written to {where}; use it with AMC_CASCADE_CALIBRATION={where}")
