"""``amc classify`` (every pair of the inputs, streamed to a file or standard output),
``amc telescopes`` (the registry) and ``amc sample`` (the bundled labelled sample)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from amc.classify.dispatch import check_ready
from amc.classify.estimate import estimate
from amc.classify.llm.cost import CostEstimate
from amc.classify.llm.provider_batch import (
    classify_with_provider_batch,
    preview_plan,
    request_settings,
)
from amc.classify.stream import classify_stream
from amc.cli.common import (
    Command,
    ConfigOpt,
    RegistryOpt,
    err,
    out,
    raise_if_pairs_failed,
    registry_of,
    result_file,
    write_results,
)
from amc.domain.errors import ConfigError
from amc.domain.models import Classification, PairOrFailure
from amc.ingest import count_rows
from amc.ingest.pairs import read_pairs
from amc.jobs.spool import batch_hash
from amc.output.summary import RunSummary
from amc.output.writers import ResultWriter, infer_format
from amc.registry import Registry
from amc.settings import Settings, load_settings

#: the bundled labelled sample, in the ``amc.data`` package
SAMPLE_FILE = "sample.jsonl"


def register(app: typer.Typer) -> None:
    """Add ``classify``, ``telescopes`` and ``sample`` to the ``amc`` app."""
    app.command(cls=Command)(classify)
    app.command(cls=Command)(telescopes)
    app.command(cls=Command)(sample)


def classify(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Input files or folders: TRACS parquet, Kaggle CSV, JSON/JSONL, .txt, .pdf, .zip.",
        ),
    ],
    telescope: Annotated[
        list[str] | None,
        typer.Option(
            "--telescope",
            "-t",
            metavar="TELESCOPE",
            help="Telescope key (repeatable). Default: those the input names, "
            "else every registry telescope the paper mentions.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write results to .csv, .jsonl or .parquet."
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="csv | jsonl | parquet | kaggle (default: from -o suffix).",
        ),
    ] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            "--tier",
            metavar="TIER",
            help="rules (default, offline) | trained | llm | cascade (cheap tier first, the LLM "
            "only for pairs it is unsure of).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", metavar="MODEL", help="LLM (litellm model string) [openai/gpt-4o-mini]."
        ),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option(
            "--api-base",
            metavar="URL",
            help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.",
        ),
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(
            "--model-path",
            metavar="DIR",
            help="Trained-model folder from `amc train` (--tier trained).",
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Bypass the LLM answer cache.")
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(
            "--max-cost", metavar="DOLLARS", help="Stop the LLM run at this many dollars."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Estimate LLM calls, tokens and dollars; call nothing."),
    ] = False,
    batch_api: Annotated[
        Path | None,
        typer.Option(
            "--batch-api",
            metavar="STATE_FILE",
            help="With --tier llm: use the provider's Batch API (half price, up to 24 h); "
            "the argument is a state file that makes the run resumable.",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="With --batch-api: wait for the batch to finish."),
    ] = True,
    window: Annotated[
        int | None,
        typer.Option("--window", metavar="N", help="Sentences of context around each hit [3]."),
    ] = None,
    skip_bad_rows: Annotated[
        bool | None,
        typer.Option(
            "--skip-bad-rows/--stop-on-bad-row",
            help="Record bad rows as errors and go on (default: stop at the first one).",
        ),
    ] = None,
    allow_extra_columns: Annotated[
        bool | None,
        typer.Option("--allow-extra-columns", help="Ignore unknown input columns."),
    ] = None,
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = None,
) -> None:
    """Classify every (paper, telescope) pair of the inputs.

    Prints a summary (pairs, labels, errors, time) and, when the input has
    labels, the macro-F1 scores. The output file is replaced only when the run
    completes. Exit status: 0 every pair got a verdict, 2 cannot run as asked,
    3 some pairs failed (listed), 4 stopped early (budget, provider down: run the
    same command again to resume), 130/143 interrupted.

    Examples:

        amc classify "$(amc sample)" -o results.csv

        amc classify papers/*.txt -t HST -t JWST -o results.jsonl

        amc classify test.csv --format kaggle -o submission.csv
    """
    settings = load_settings(
        config,
        tier=tier,
        window_sentences=window,
        skip_bad_rows=skip_bad_rows,
        allow_extra_columns=allow_extra_columns,
        registry_files=registry_files or None,
        progress=progress,
        model=model,
        api_base=api_base,
        model_path=model_path,
        use_cache=False if no_cache else None,
        max_cost_usd=max_cost,
    )
    registry = registry_of(settings)
    out_format = infer_format(output, fmt) if output is not None else None
    pairs = read_pairs(inputs, registry, settings, telescope or ())
    if batch_api is not None and dry_run:
        _batch_api(inputs, telescope or (), registry, settings, batch_api, wait, dry_run=True)
        return
    if dry_run:
        _print_estimate(estimate(pairs, registry, settings), settings)
        return
    check_ready(settings)  # before the output is touched or anything is sent
    summary = RunSummary()
    results: Iterable[Classification]
    if batch_api is not None:
        results = _batch_api(inputs, telescope or (), registry, settings, batch_api, wait, False)
    else:
        results = classify_stream(pairs, registry, settings)
    writer: ResultWriter | None = None
    try:
        with _progress_bar(settings, _count(inputs)) as advance:
            if output is None or out_format is None:
                write_results(results, None, summary, advance)
            else:
                with result_file(output, out_format) as writer:
                    write_results(results, writer, summary, advance)
    finally:
        if summary.pairs:  # also after a stop or an interrupt: what was done, what it cost
            for line in summary.lines():
                err.print(line, markup=False)
    if writer is not None:
        err.print(f"wrote {writer.count} rows to {writer.path}", markup=False)
    raise_if_pairs_failed(summary, writer)


def _batch_api(
    inputs: list[Path],
    telescopes: Sequence[str],
    registry: Registry,
    settings: Settings,
    state: Path,
    wait: bool,
    dry_run: bool,
) -> Iterator[Classification]:
    """The results through the provider's Batch API: the plan is printed first; with
    ``dry_run`` only the plan (nothing kept, nothing sent)."""
    if settings.tier != "llm":
        raise ConfigError("--batch-api needs --tier llm")

    def pairs() -> Iterator[PairOrFailure]:
        return read_pairs(inputs, registry, settings, telescopes)

    if dry_run:
        _show(preview_plan(pairs, registry, settings))
        err.print("dry run: nothing was saved or sent")
        return iter(())
    err.print(f"Batch API run; state in {state} (run the same command again to resume)")
    keys = [registry.check(t) for t in telescopes]
    fingerprint = batch_hash(inputs, keys, "llm", request_settings(settings, registry))
    return classify_with_provider_batch(
        pairs, registry, settings, state, wait=wait, fingerprint=fingerprint, show=_show
    )


def _show(lines: list[str]) -> None:
    for line in lines:
        err.print(line, markup=False)


def _print_estimate(est: CostEstimate, settings: Settings) -> None:
    cost = "unknown (no price for this model: set AMC_PRICES)"
    if est.cost_usd is not None and est.cost_per_1000_pairs is not None:
        cost = f"${est.cost_usd:.4f} (${est.cost_per_1000_pairs:.2f} per 1,000 pairs)"
    err.print(
        f"dry run ({settings.tier} tier, model {est.model}): {est.pairs} pairs would need "
        f"{est.calls} LLM calls ({est.pairs_without_call} decided without one), "
        f"~{est.prompt_tokens} prompt tokens (~{est.cached_share:.0%} from the provider's "
        f"prompt cache) + ~{est.completion_tokens} completion tokens, cost {cost}"
    )


def _count(inputs: list[Path]) -> int | None:
    try:
        return count_rows(inputs)
    except Exception:  # a progress total is a nicety, never a reason to fail
        return None


@contextmanager
def _progress_bar(settings: Settings, total: int | None) -> Iterator[Any]:
    """A bar over input rows (papers), advanced once per row whatever its pair count."""
    if not (settings.progress and err.is_terminal):
        yield lambda c: None
        return
    columns = [
        TextColumn("classifying papers"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    last_source: list[str] = [""]

    def advance(c: Classification) -> None:
        if c.source != last_source[0] or not c.source:
            last_source[0] = c.source
            bar.advance(task)

    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("classify", total=total)
        yield advance


def telescopes(
    registry_files: RegistryOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """List the telescopes of the registry (bundled plus --registry files).

    Add a telescope without code: write a YAML file such as

        telescopes:
          SPITZER:
            name: Spitzer Space Telescope
            aliases: [{term: Spitzer, case_sensitive: true}, IRAC, MIPS]

    then pass it with --registry (or AMC_REGISTRY_FILES).

    Examples:

        amc telescopes

        amc telescopes --registry my_telescopes.yaml --json
    """
    settings = load_settings(config, registry_files=registry_files or None)
    registry = registry_of(settings)
    if as_json:
        data = {t.key: t.model_dump(mode="json", exclude={"key"}) for t in registry}
        typer.echo(json.dumps(data, indent=2))
        return
    for t in registry:
        aliases = ", ".join(a.term for a in t.aliases[:5])
        instruments = ", ".join(i.term for i in t.instruments[:6]) or "-"
        pad = " " * 10
        out.print(f"{t.key:<10} {t.name}")
        out.print(f"{pad} aliases: {aliases}\n{pad} instruments: {instruments}")
    sources = ", ".join(registry.sources)
    err.print(f"{len(registry)} telescopes from {sources} (hash {registry.content_hash})")


def sample(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Copy the sample to FILE instead of printing its path.",
        ),
    ] = None,
) -> None:
    """Print the path of the bundled labelled sample, to try amc from any folder.

    The sample (JSON Lines, TRACS columns with labels, 57 pairs the amc authors wrote)
    is a smoke test that the pipeline works, not a benchmark of its accuracy.

    Examples:

        amc classify "$(amc sample)" -o results.csv

        amc sample -o sample.jsonl
    """
    path = Path(str(resources.files("amc.data").joinpath(SAMPLE_FILE)))
    if output is None:
        typer.echo(path)
        return
    shutil.copyfile(path, output)
    err.print(f"copied the sample to {output}")
