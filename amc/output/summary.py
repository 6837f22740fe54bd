"""Run summary: counts by label, errors, speed, and scores when gold labels came along."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

from amc.domain.metrics import ScoreReport, score_labels
from amc.domain.models import LABELS, Classification, TelescopeLabels

#: failed pairs listed on the terminal (all of them are in the output)
MAX_ERRORS_SHOWN = 20


@dataclass
class RunSummary:
    """Accumulates what a run produced, one classification at a time."""

    started: float = field(default_factory=time.perf_counter)
    pairs: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    by_telescope: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    gold: list[TelescopeLabels] = field(default_factory=list)
    predicted: list[TelescopeLabels] = field(default_factory=list)
    gold_telescopes: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    tiers: Counter[str] = field(default_factory=Counter)
    llm_calls: int = 0
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    #: prompt tokens of each pair that made LLM calls (for their distribution)
    prompt_tokens_per_pair: list[int] = field(default_factory=list)

    def add(self, c: Classification) -> None:
        self.pairs += 1
        self.by_telescope[c.telescope] += 1
        self.tiers[c.tier] += 1
        self.cost_usd += c.usage.cost_usd or 0.0
        self.llm_calls += c.usage.calls
        self.tokens += c.usage.prompt_tokens + c.usage.completion_tokens
        self.prompt_tokens += c.usage.prompt_tokens
        self.cached_tokens += c.usage.cached_tokens
        if c.usage.prompt_tokens:
            self.prompt_tokens_per_pair.append(c.usage.prompt_tokens)
        if c.error is not None or c.labels is None:
            kind = c.error.kind if c.error else "error"
            message = c.error.message if c.error else "no labels"
            self.errors.append((c.pair_id, kind, message))
            return
        for label in c.labels.positives:
            self.labels[label.value] += 1
        if not c.labels.positives:
            self.labels["none"] += 1
        if c.gold is not None:
            self.gold.append(c.gold)
            self.predicted.append(c.labels)
            self.gold_telescopes.append(c.telescope)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def score(self) -> ScoreReport | None:
        """Scores against gold labels (None when the input had none)."""
        if not self.gold:
            return None
        return score_labels(self.gold, self.predicted, self.gold_telescopes)

    def errors_lines(self) -> list[str]:
        """The failed pairs, one line each (the first ``MAX_ERRORS_SHOWN``)."""
        out = [f"  {pid}: [{kind}] {msg}" for pid, kind, msg in self.errors[:MAX_ERRORS_SHOWN]]
        if len(self.errors) > MAX_ERRORS_SHOWN:
            out.append(
                f"  ... and {len(self.errors) - MAX_ERRORS_SHOWN} more (see the output file)"
            )
        return out

    def lines(self) -> list[str]:
        """Human-readable summary lines for the terminal."""
        rate = self.pairs / self.elapsed if self.elapsed > 0 else 0.0
        label_text = ", ".join(
            f"{name} {self.labels[name]}"
            for name in [*(lab.value for lab in LABELS), "none"]
            if self.labels[name]
        )
        per_telescope = ", ".join(f"{k} {v}" for k, v in sorted(self.by_telescope.items()))
        out = [
            f"pairs: {self.pairs} ({per_telescope})",
            f"labels: {label_text or '-'}",
            f"errors: {len(self.errors)}",
            f"time: {self.elapsed:.2f} s ({rate:.0f} pairs/s)",
        ]
        out += self.errors_lines()
        if len(self.tiers) > 1:
            decided = ", ".join(f"{tier} {n}" for tier, n in sorted(self.tiers.items()))
            saved = self.pairs - self.tiers.get("llm", 0)
            out.append(f"tiers: {decided} ({saved} pairs decided without an LLM call)")
        if self.llm_calls:
            out += self._llm_lines()
        report = self.score()
        if report is not None:
            out.append(f"scored on {len(self.gold)} labelled pairs: {report.headline()}")
        return out

    def _llm_lines(self) -> list[str]:
        cached = self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0
        cost = "unknown (no price configured)"
        if self.cost_usd:
            per_1000 = 1000 * self.cost_usd / self.pairs
            cost = f"${self.cost_usd:.4f} (${per_1000:.2f} per 1,000 pairs)"
        lines = [
            f"LLM: {self.llm_calls} calls, {self.tokens} tokens ({cached:.0%} of prompt tokens "
            f"cached), cost {cost}"
        ]
        if self.prompt_tokens_per_pair:
            lines.append(f"prompt tokens per pair: {distribution(self.prompt_tokens_per_pair)}")
        return lines


def distribution(values: list[int]) -> str:
    """Median, 90th percentile (nearest rank) and maximum of counts, as one phrase."""
    ordered = sorted(values)

    def at(q: float) -> int:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return f"median {at(0.5):,}, p90 {at(0.9):,}, max {ordered[-1]:,}"
