"""``amc classify`` (every pair of the inputs, streamed to a file or standard output) and
``amc telescopes`` (the registry)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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

from amc.classify.estimate import estimate
from amc.classify.llm.cost import CostEstimate
from amc.classify.llm.provider_batch import classify_with_provider_batch
from amc.classify.stream import classify_stream
from amc.cli.common import ConfigOpt, RegistryOpt, err, out, print_result, registry_of
from amc.domain.errors import ConfigError
from amc.domain.models import Classification, PairOrFailure
from amc.ingest import count_rows
from amc.ingest.pairs import read_pairs
from amc.output.summary import RunSummary
from amc.output.writers import ResultWriter, infer_format
from amc.registry import Registry
from amc.settings import Settings, load_settings


def register(app: typer.Typer) -> None:
    """Add ``classify`` and ``telescopes`` to the ``amc`` app."""
    app.command()(classify)
    app.command()(telescopes)


def classify(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            help="Input files or folders: TRACS parquet, Kaggle CSV, JSON/JSONL, .txt, .pdf, .zip."
        ),
    ],
    telescope: Annotated[
        list[str] | None,
        typer.Option(
            "--telescope",
            "-t",
            help="Telescope key (repeatable). Default: those the input names, "
            "else every registry telescope the paper mentions.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write results to .csv, .jsonl or .parquet."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv | jsonl | parquet | kaggle (default: from -o suffix)."),
    ] = None,
    tier: Annotated[
        str | None,
        typer.Option(
            "--tier",
            help="rules (default, offline) | trained | llm | cascade (cheap tier first, the LLM "
            "only for pairs it is unsure of).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="LLM (litellm model string) [openai/gpt-4o-mini].")
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1."),
    ] = None,
    model_path: Annotated[
        Path | None,
        typer.Option(
            "--model-path", help="Trained-model folder from `amc train` (--tier trained)."
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Bypass the LLM answer cache.")
    ] = False,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", help="Stop the LLM run at this many dollars.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Estimate LLM calls, tokens and dollars; call nothing."),
    ] = False,
    batch_api: Annotated[
        Path | None,
        typer.Option(
            "--batch-api",
            help="With --tier llm: use the provider's Batch API (half price, up to 24 h); "
            "the argument is a state file that makes the run resumable.",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="With --batch-api: wait for the batch to finish."),
    ] = True,
    window: Annotated[
        int | None, typer.Option("--window", help="Sentences of context around each hit [3].")
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
    labels, the macro-F1 scores.

    Examples:

        amc classify amc/data/sample.jsonl -o results.csv

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
    pairs = read_pairs(inputs, registry, settings, telescope or ())
    if dry_run:
        _print_estimate(estimate(pairs, registry, settings), settings)
        return
    summary = RunSummary()
    if batch_api is not None:
        results: Iterable[Classification] = _batch_api(pairs, registry, settings, batch_api, wait)
    else:
        results = classify_stream(pairs, registry, settings)
    total = _count(inputs)
    with _progress_bar(settings, total) as advance:
        if output is not None:
            with ResultWriter(output, infer_format(output, fmt)) as writer:
                for c in results:
                    writer.write(c)
                    summary.add(c)
                    advance(c)
        else:
            for c in results:
                print_result(c)
                summary.add(c)
                advance(c)
    for line in summary.lines():
        err.print(line)
    if output is not None:
        err.print(f"wrote {summary.pairs} rows to {output}")


def _batch_api(
    pairs: Iterable[PairOrFailure], registry: Registry, settings: Settings, state: Path, wait: bool
) -> list[Classification]:
    if settings.tier != "llm":
        raise ConfigError("--batch-api needs --tier llm")
    err.print(f"Batch API run; state in {state} (run the same command again to resume)")
    return classify_with_provider_batch(pairs, registry, settings, state, wait)


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
