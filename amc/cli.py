"""The ``amc`` command line: a thin shell over ``amc.pipeline``.

Settings are built once here (flags > AMC_* environment > config file >
defaults) and passed down. An ``AmcError`` becomes a one-line message and
exit code 2; a librarian never sees a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from amc import __version__
from amc.errors import AmcError, ConfigError
from amc.models import Classification
from amc.output import ResultWriter, infer_format
from amc.registry import Registry, load_registry
from amc.settings import Settings, load_settings
from amc.summary import RunSummary

app = typer.Typer(
    name="amc",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (default ./amc.toml or AMC_CONFIG)."),
]
RegistryOpt = Annotated[
    list[Path] | None,
    typer.Option("--registry", help="Extra telescope registry file layered over the bundled one."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"amc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """amc, the automated mission classifier: for each paper and each telescope it
    names, did the paper do science with it, is it about its instrumentation, does
    it only mention it, or is the match not the telescope at all?

    Example:

        amc classify amc/data/sample.jsonl -o results.csv
    """


def _settings(config: Path | None, **flags: Any) -> Settings:
    return load_settings(config_file=config, **flags)


def _registry(settings: Settings) -> Registry:
    return load_registry(settings.registry_files)


@app.command()
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
    settings = _settings(
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
    registry = _registry(settings)
    from amc.pipeline import read_pairs
    from amc.tiers import classify_stream, estimate

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
                _print_result(c)
                summary.add(c)
                advance(c)
    for line in summary.lines():
        err.print(line)
    if output is not None:
        err.print(f"wrote {summary.pairs} rows to {output}")


def _batch_api(
    pairs: Iterable[Any], registry: Registry, settings: Settings, state: Path, wait: bool
) -> list[Classification]:
    from amc.tiers import classify_batch_api

    if settings.tier != "llm":
        raise ConfigError("--batch-api needs --tier llm")
    err.print(f"Batch API run; state in {state} (run the same command again to resume)")
    return classify_batch_api(pairs, registry, settings, state, wait)


def _print_estimate(est: Any, settings: Settings) -> None:
    cost = (
        "unknown (no price for this model: set AMC_PRICES)"
        if est.cost_usd is None
        else (f"${est.cost_usd:.4f}")
    )
    err.print(
        f"dry run ({settings.tier} tier, model {est.model}): {est.pairs} pairs would need "
        f"{est.calls} LLM calls ({est.pairs_without_call} decided without one), "
        f"~{est.prompt_tokens} prompt + ~{est.completion_tokens} completion tokens, cost {cost}"
    )


def _count(inputs: list[Path]) -> int | None:
    from amc.ingest import count_rows

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


def _print_result(c: Classification) -> None:
    """One tab-separated line per pair: id, labels, confidence, reason (easy to grep/cut)."""
    if c.error:
        line = f"{c.pair_id}\terror\t\t{c.error.kind}: {c.error.message}"
    else:
        assert c.labels is not None
        labels = "+".join(label.value for label in c.labels.positives) or "none"
        line = f"{c.pair_id}\t{labels}\t{c.confidence.decided(c.labels):.2f}\t{c.reason}"
    sys.stdout.write(line.replace("\n", " ") + "\n")


@app.command()
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
    settings = _settings(config, registry_files=registry_files or None)
    registry = _registry(settings)
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


# command groups living in their own modules (each adds its commands to ``app``)
def _register_command_groups() -> None:
    from amc import cli_batches, cli_eval, cli_web

    for module in (cli_batches, cli_eval, cli_web):
        module.register(app)


_register_command_groups()


def main() -> None:
    """Entry point: turns an ``AmcError`` into a one-line message and exit code 2."""
    try:
        app()
    except AmcError as exc:
        if getattr(exc, "kind", "") == "llm_batch_pending":  # not an error: come back later
            err.print(f"amc: {exc}", markup=False)
            sys.exit(0)
        err.print(f"amc: error: {exc}", markup=False)
        if getattr(exc, "completed", None) is not None:
            err.print(
                "amc: the pairs finished before the stop were written; run the same "
                "command again to resume (answers already received are cached)",
                markup=False,
            )
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("amc: interrupted; results written so far are kept")
        sys.exit(130)


if __name__ == "__main__":
    main()
