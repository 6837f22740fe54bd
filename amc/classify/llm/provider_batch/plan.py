"""Planning a Batch API run: requests rendered as JSONL lines, cut into files within the
provider's limits, each file priced and given the day it goes out on.

Items come in *units* (a paper's pairs, or one pair), streamed: a unit's lines always
share a file, so a job-store paper is collected from one file. A new file starts
when the next unit would take the current one past ``batch_max_requests`` lines,
``batch_max_bytes`` bytes or the daily token budget. Days follow in order: a day
takes files until the next would pass ``batch_daily_tokens``. Tokens are counted on
the rendered prompts (offline tokenizer) plus ``ANSWER_TOKENS_PER_TELESCOPE`` per pair
answered, and priced at Batch API prices.

``render_unit`` is shared with collecting, which renders the same lines again from
the same items and checks them against the files that were sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from amc.classify.llm.cost import ANSWER_TOKENS_PER_TELESCOPE, call_cost
from amc.classify.llm.errors import ProviderBatchError
from amc.classify.llm.planning import build_requests
from amc.classify.llm.provider.batches import CHAT_ENDPOINT, provider_model
from amc.classify.llm.provider.protocol import chat_params, initial_style, response_format_for
from amc.classify.llm.provider.tokens import count_tokens
from amc.classify.llm.provider_batch.state import (
    SECONDS_PER_DAY,
    BatchFile,
    ProviderBatchPlan,
    files_folder,
)
from amc.classify.llm.request import Request
from amc.classify.llm.results import no_hit, triage_items
from amc.domain.models import Classification, PairSnippets
from amc.registry import Registry
from amc.settings.llm import LLMSettings


@dataclass(frozen=True)
class Unit:
    """Items that go into one file together (a paper's pairs), and the job-store paper
    they come from (``amc submit --batch-api``)."""

    items: Sequence[PairSnippets]
    paper: int | None = None


@dataclass(frozen=True)
class Line:
    """One request of a unit: its ``custom_id`` and JSONL line (None: the same request
    was asked earlier in the run, and its answer serves this one too)."""

    custom_id: str
    request: Request
    text: str | None


@dataclass
class RenderedUnit:
    lines: list[Line]
    #: results decided without the model (no snippet, NONE rows, unknown telescopes)
    decided: list[Classification]


def render_unit(
    unit: Unit, registry: Registry, config: LLMSettings, seen: dict[str, str]
) -> RenderedUnit:
    """The unit's requests as JSONL lines. ``seen`` maps the custom ids used so far to
    their request's messages (kept across units, for a repeated pair or paper)."""
    if config.rerank == "llm":
        raise ProviderBatchError(
            "rerank='llm' needs one online call per snippet; use rerank='lexical' with the "
            "Batch API, or the online mode"
        )
    inputs, decided = triage_items(unit.items, registry, config)
    requests, without_text = build_requests(inputs, config)
    decided += [no_hit(item, config, registry) for item in without_text]
    model = provider_model(config.model)
    lines = []
    for request in requests:
        first = request.inputs[0].pair
        custom_id = first.pair_id if config.mode == "pair" else first.paper.bibcode
        key = json.dumps(request.messages, sort_keys=True)
        n = 1
        while custom_id in seen and seen[custom_id] != key:  # paper mode: the same paper
            n += 1  # again, apart (TRACS keeps each telescope in its own file)
            custom_id = f"{first.paper.bibcode}#{n}"
        repeated = custom_id in seen
        seen[custom_id] = key
        text = None if repeated else _line(custom_id, request, model, config)
        lines.append(Line(custom_id, request, text))
    return RenderedUnit(lines, decided)


def _line(custom_id: str, request: Request, model: str, config: LLMSettings) -> str:
    response_format = response_format_for(initial_style(config), request.schema)
    params = chat_params(
        config, request.messages, response_format, request.max_tokens, online=False
    )
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT,
            "body": {"model": model, **params}}  # fmt: skip
    return json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"


@dataclass
class _Open:
    """The file being written."""

    index: int
    name: str
    path: Path
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    requests: dict[str, list[str]] = field(default_factory=dict)
    papers: list[int] = field(default_factory=list)
    bytes: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Planner:
    """Writes the plan's files from units added in order; ``finish`` returns the plan."""

    def __init__(self, state_path: Path, registry: Registry, config: LLMSettings) -> None:
        self.registry, self.config = registry, config
        self.folder = files_folder(state_path)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.limits = (config.batch_max_requests, config.batch_max_bytes, config.batch_daily_tokens)
        self.files: list[BatchFile] = []
        self.current: _Open | None = None
        self.digest = hashlib.sha256()
        self.seen: dict[str, str] = {}
        self.decided = 0

    def add(self, unit: Unit) -> RenderedUnit:
        """Render the unit and write its lines (to a new file when they do not fit)."""
        rendered = render_unit(unit, self.registry, self.config, self.seen)
        self.decided += len(rendered.decided)
        fresh = [line for line in rendered.lines if line.text is not None]
        if not fresh:
            return rendered
        data = "".join(line.text or "" for line in fresh).encode()
        prompt = sum(count_tokens(self.config.model, line.request.messages) for line in fresh)
        answers = ANSWER_TOKENS_PER_TELESCOPE * sum(len(line.request.inputs) for line in fresh)
        self._check_fits(unit, len(fresh), len(data), prompt + answers)
        current = self.current
        if current is None or not self._fits(current, len(fresh), len(data), prompt + answers):
            current = self._start()
        with current.path.open("ab") as out:
            out.write(data)
        current.digest.update(data)
        self.digest.update(data)
        current.bytes += len(data)
        current.prompt_tokens += prompt
        current.completion_tokens += answers
        for line in fresh:
            current.requests[line.custom_id] = [i.pair.pair_id for i in line.request.inputs]
        if unit.paper is not None:
            current.papers.append(unit.paper)
        return rendered

    def finish(self, fingerprint: str | None = None) -> ProviderBatchPlan:
        """Close the last file, give every file its day: the plan (not saved here)."""
        self._close()
        day, used = 0, 0
        budget = self.config.batch_daily_tokens
        for file in self.files:
            if budget is not None and used + file.tokens > budget:
                day, used = day + 1, 0
            file.day, used = day, used + file.tokens
        return ProviderBatchPlan(
            model=self.config.model, input_sha256=self.digest.hexdigest(),
            fingerprint=fingerprint, files=self.files, decided=self.decided,
            daily_tokens=budget, max_requests=self.limits[0], max_bytes=self.limits[1],
        )  # fmt: skip

    def _fits(self, current: _Open, requests: int, size: int, tokens: int) -> bool:
        max_requests, max_bytes, budget = self.limits
        return (
            len(current.requests) + requests <= max_requests
            and current.bytes + size <= max_bytes
            and (budget is None or current.prompt_tokens + current.completion_tokens + tokens
                 <= budget)
        )  # fmt: skip

    def _check_fits(self, unit: Unit, requests: int, size: int, tokens: int) -> None:
        max_requests, max_bytes, budget = self.limits
        if requests > max_requests or size > max_bytes or (budget and tokens > budget):
            bibcode = unit.items[0][0].paper.bibcode
            raise ProviderBatchError(
                f"paper {bibcode} alone needs {requests} requests, {size:,} bytes and "
                f"~{tokens:,} tokens, more than one Batch API file may hold "
                f"({max_requests} requests, {max_bytes:,} bytes, {budget or 'any'} tokens a "
                "day); raise batch_max_requests / batch_max_bytes / batch_daily_tokens"
            )

    def _start(self) -> _Open:
        self._close()
        index = len(self.files)
        name = f"part-{index + 1:04d}.jsonl"
        path = self.folder / name
        path.unlink(missing_ok=True)  # a plan interrupted before it was saved
        self.current = _Open(index, name, path)
        return self.current

    def _close(self) -> None:
        current = self.current
        if current is None:
            return
        tokens = (current.prompt_tokens, current.completion_tokens)
        self.files.append(
            BatchFile(
                index=current.index, name=current.name, sha256=current.digest.hexdigest(),
                requests=current.requests, bytes=current.bytes, prompt_tokens=tokens[0],
                completion_tokens=tokens[1], papers=current.papers,
                cost_usd=call_cost(self.config, *tokens, discounted=True),
            )
        )  # fmt: skip
        self.current = None


def make_plan(
    units: Iterable[Unit],
    state_path: Path,
    registry: Registry,
    config: LLMSettings,
    fingerprint: str | None = None,
) -> ProviderBatchPlan:
    """Plan every unit (the files are written next to ``state_path``; the plan is not
    saved: the caller saves it once it is complete)."""
    planner = Planner(state_path, registry, config)
    for unit in units:
        planner.add(unit)
    return planner.finish(fingerprint)


# -- describing -------------------------------------------------------------------------


def describe_plan(plan: ProviderBatchPlan, now: float) -> list[str]:
    """The plan as lines for a terminal: one per file with its requests, size, tokens,
    dollars and the day it goes out on (or its batch's status), then the totals."""
    budget = f"{plan.daily_tokens:,} tokens a day" if plan.daily_tokens else "no daily limit"
    lines = [
        f"Batch API plan ({plan.model}, Batch API prices, {budget}): {plan.requests:,} "
        f"requests in {len(plan.files)} file(s); {plan.decided:,} pair(s) decided without "
        "a call",
        f"{'file':>5} {'requests':>9} {'MB':>8} {'prompt tok':>12} {'answer tok':>11} "
        f"{'$':>9}  status",
    ]
    for file in plan.files:
        lines.append(
            f"{file.index + 1:>5} {len(file.requests):>9,} {file.bytes / 1e6:>8.2f} "
            f"{file.prompt_tokens:>12,} {file.completion_tokens:>11,} "
            f"{_dollars(file.cost_usd):>9}  {_status(plan, file, now)}"
        )
    costs = [f.cost_usd for f in plan.files]
    total = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    lines.append(
        f"{'all':>5} {plan.requests:>9,} {sum(f.bytes for f in plan.files) / 1e6:>8.2f} "
        f"{sum(f.prompt_tokens for f in plan.files):>12,} "
        f"{sum(f.completion_tokens for f in plan.files):>11,} {_dollars(total):>9}"
    )
    return lines


def _dollars(cost: float | None) -> str:
    if cost is None:
        return "unknown"
    return f"{cost:.2f}" if cost >= 10 else f"{cost:.4f}"


def _status(plan: ProviderBatchPlan, file: BatchFile, now: float) -> str:
    if file.batch_id is not None:
        counts = file.request_counts
        done = f", {counts.get('completed', 0)}/{counts.get('total', 0)} done" if counts else ""
        return f"batch {file.batch_id}: {file.status}{done}"
    if file.status != "planned":
        return file.status
    when = next_due_at(plan, file, now)
    if when is None:
        return f"day {file.day + 1}: goes out once the earlier days' files have"
    if when <= now:
        return f"day {file.day + 1}: goes out now"
    stamp = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"day {file.day + 1}: goes out from {stamp}"


def next_due_at(plan: ProviderBatchPlan, file: BatchFile, now: float) -> float | None:
    """When ``file`` may go out under the daily token budget: ``now`` if it fits in the
    last 24 hours' allowance, else when enough of those tokens are 24 hours old; None
    when nothing was sent yet and it will go out on a later day of the plan."""
    if plan.daily_tokens is None:
        return now
    sent = sorted((f.submitted_at, f.tokens) for f in plan.files if f.submitted_at)
    if not sent:
        return now if file.day == 0 else None
    window = [(at, tokens) for at, tokens in sent if at > now - SECONDS_PER_DAY]
    used, when = sum(tokens for _, tokens in window), now
    for at, tokens in window:  # oldest first: each leaves the window 24 hours after it went
        if used + file.tokens <= plan.daily_tokens:
            break
        used, when = used - tokens, at + SECONDS_PER_DAY
    return when if used + file.tokens <= plan.daily_tokens else None
