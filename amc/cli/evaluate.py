"""Evaluation commands: ``amc eval run|score|submit|links`` and ``amc audit`` (``amc train``
and ``amc calibrate`` are in ``amc.cli.training``, with the options they share from here).

Thin shells: settings are built once here, the work is done by the workflows of
``eval.run`` (evaluation, scoring, submissions, training, the incremental audit). An
``AmcError`` propagates to ``amc.cli.main``, which prints one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from amc.classify.dispatch import check_ready
from amc.cli.common import Command, raise_if_pairs_failed, result_file, write_results
from amc.domain.errors import require_extra
from amc.output.summary import RunSummary
from amc.registry import Registry, load_registry
from amc.settings import Settings, load_settings
from eval.links import links_markdown, score_links, write_links_report

eval_app = typer.Typer(
    name="eval", help="Score predictions the TRACS way and write Kaggle submissions.",
    no_args_is_help=True, rich_markup_mode=None,
)  # fmt: skip

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", metavar="FILE", help="TOML config file.")
]
RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option("--registry", metavar="FILE", help="Extra telescope registry file."),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model-path",
        metavar="DIR",
        help="Trained-model directory (AMC_MODEL_PATH) for --tier trained.",
    ),
]
TierOpt = Annotated[
    str | None,
    typer.Option("--tier", metavar="TIER", help="rules (default) | trained | llm | cascade."),
]
DataOpt = Annotated[
    Path,
    typer.Option(
        "--data", metavar="PATH", help="A labelled file, or a folder of TRACS split files."
    ),
]
SplitOpt = Annotated[
    str | None,
    typer.Option(
        "--split",
        metavar="SPLIT",
        help="Split file(s) of a TRACS folder: HST_reference_test, a comma list, or test / "
        "train [test; a folder with no split files: all its files]. With a single file, it "
        "must be that split.",
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", metavar="N", help="Use only the first N pairs.")
]


def say(message: str) -> None:
    typer.echo(message, err=True)


def load_for_command(
    config: Path | None, registry_files: list[Path] | None, **flags: Any
) -> tuple[Settings, Registry]:
    settings = load_settings(config_file=config, registry_files=registry_files or None, **flags)
    return settings, load_registry(settings.registry_files)


def eval_workflows() -> ModuleType:
    """``eval.run``, imported by the commands that need it: it loads pandas, matplotlib and
    scikit-learn, which the other commands never need (seconds of start-up)."""
    require_extra(
        "eval", "this command (amc eval, train, calibrate, audit)", ("pandas", "matplotlib")
    )
    import eval.run

    return eval.run


@eval_app.command("run", cls=Command)
def eval_run(
    data: DataOpt,
    split: SplitOpt = None,
    limit: LimitOpt = None,
    tier: TierOpt = None,
    model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Report folder.")] = None,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Classify labelled pairs, score them and write a report (JSON, Markdown, HTML, PNG).

    Example:

        amc eval run --data tracs/ --split HST_reference_test --limit 500 --out reports/hst
    """
    settings, registry = load_for_command(
        config, registry_files, tier=tier, model_path=model, progress=False
    )
    run = eval_workflows().evaluate(data, split, registry, settings, limit, out)
    typer.echo(f"{run.report.headline(4, '; ')}; {run.n_pairs} pairs")
    say(f"report: {run.files['html']} (and report.md, report.json, PNGs, submission.csv)")


@eval_app.command("score", cls=Command)
def eval_score(
    submission: Annotated[
        Path, typer.Argument(metavar="SUBMISSION", help="Kaggle submission CSV.")
    ],
    solution: Annotated[
        Path, typer.Argument(metavar="SOLUTION", help="Solution CSV with the true labels.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="Also write a report here.")
    ] = None,
) -> None:
    """Score a Kaggle-shaped submission against a solution; prints the metric tables.

    Example:

        amc eval score submission.csv solution.csv --out reports/dev
    """
    workflows = eval_workflows()
    report, written = workflows.score_files(submission, solution, out)
    typer.echo(workflows.score_markdown(report))
    if written:
        say(f"report: {written['html']}")


@eval_app.command("submit", cls=Command)
def eval_submit(
    inputs: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Kaggle test CSV or TRACS files.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", metavar="FILE", help="Submission CSV to write.")
    ],
    tier: TierOpt = None,
    model: ModelOpt = None,
    solution: Annotated[
        Path | None,
        typer.Option("--solution", metavar="FILE", help="Score the submission against this."),
    ] = None,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a Kaggle submission (Id,telescope,science,instrumentation,mention,not_telescope).

    The file is read back and checked. A pair that failed is never written as an
    all-False verdict: it is left out and listed with its error in a side file
    (submission.errors.csv), and the exit status is 3.

    Example:

        amc eval submit test.csv -o submission.csv --tier trained --model-path models/amc
    """
    settings, registry = load_for_command(
        config, registry_files, tier=tier, model_path=model, progress=False
    )
    check_ready(settings)
    workflows = eval_workflows()
    summary = RunSummary()
    try:
        with result_file(output, "kaggle") as writer:
            write_results(workflows.submission_results(inputs, registry, settings), writer,
                          summary)  # fmt: skip
    finally:
        for line in summary.errors_lines():
            say(line)
    rows = workflows.check_submission(output)
    say(f"wrote {rows} rows to {output}")
    raise_if_pairs_failed(summary, writer)
    if solution is not None:
        report, _ = workflows.score_files(output, solution)
        typer.echo(workflows.score_markdown(report))


@eval_app.command("links", cls=Command)
def eval_links(
    predictions: Annotated[
        Path,
        typer.Argument(
            metavar="PREDICTIONS",
            help="amc output with links: .jsonl, or .csv with link columns.",
        ),
    ],
    gold: Annotated[
        Path,
        typer.Argument(metavar="GOLD", help="Gold links, tab-separated like links.tsv."),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FOLDER", help="Also write links-report.md/.json here."),
    ] = None,
    certain_only: Annotated[
        bool, typer.Option("--certain-only", help="Leave gold links marked certain=no unscored.")
    ] = False,
) -> None:
    """Score extracted links (instrument, programme, obsid, doi) against gold links.

    Prints precision, recall and F1 per kind and their macro-F1, over the pairs the
    gold file covers. A gold id pdf:NAME_TELESCOPE matches the prediction of that
    telescope for the PDF file NAME.pdf.

    Example:

        amc classify papers.parquet -o pred.jsonl && amc eval links pred.jsonl links.tsv
    """
    report = score_links(gold, predictions, certain_only=certain_only)
    typer.echo(links_markdown(report), nl=False)
    if out is not None:
        files = write_links_report(report, out)
        say(f"report: {files['markdown']} (and {files['json'].name})")


def audit(
    labels: Annotated[
        Path | None,
        typer.Option("--labels", metavar="PATH", help="Historical labels [AMC_AUDIT_LABELS_PATH]."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Report folder [audit-reports in AMC_HOME]."),
    ] = None,
    verdicts: Annotated[
        Path | None,
        typer.Option(
            "--verdicts",
            metavar="FILE",
            help="JSONL of an earlier `amc classify -o x.jsonl` run (LLM "
            "verdicts and quotes); default: the rules tier's verdicts.",
        ),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-score every pair.")] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", metavar="SCORE", help="Report pairs scoring at least this [0.5]."
        ),
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
    workflows = eval_workflows()
    settings = load_settings(config_file=config, registry_files=registry_files or None,
                             audit_threshold=threshold, progress=False)  # fmt: skip
    given = workflows.load_verdicts(verdicts) if verdicts is not None else None
    result = workflows.run_incremental_audit(settings, labels, out, full=full, verdicts=given)
    say(f"audited {result.n_pairs} pairs ({result.n_scored} re-scored): "
          f"{len(result.suspects)} suspect(s), {len(result.new_suspects)} new; "
          f"report {result.files.get('html')}")  # fmt: skip
    if fail_on_new and result.new_suspects:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``eval`` (run, score, submit, links) and ``audit`` to the ``amc`` app."""
    app.add_typer(eval_app, name="eval")
    app.command("audit", cls=Command)(audit)
