"""Labels to train on: the input's human labels, LLM verdicts of an earlier run, or both.

A verdicts file is the JSONL written by ``amc classify --tier llm -o run.jsonl``: one
``Classification`` per line, keyed by pair id. It holds labels, not text, so it is
joined by pair id with the pairs of the input given with ``--data`` (the files that run
classified). Where a pair has both, the human label (the input's own label columns)
wins. A failed verdict, an unreadable line (a run cut short) or a verdict whose pair
is not in the input is skipped and counted, never fatal; what was used and skipped
is recorded in the model's manifest.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from amc.domain.errors import AmcError, InputError
from amc.domain.models import Classification, Pair, TelescopeLabels

HUMAN = "human"
LLM = "llm"
_EXAMPLES = 3


class VerdictsError(AmcError):
    """A verdicts file gives no label that can be used."""

    kind = "verdicts"


@dataclass
class VerdictFile:
    """The usable labels of one verdicts file, and what was skipped in it."""

    path: str
    sha256: str
    lines: int = 0
    failed: int = 0
    unreadable: int = 0
    first_unreadable_line: int | None = None
    #: later lines for a pair already seen (the last one is used)
    repeated: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)
    prompts: Counter[str] = field(default_factory=Counter)
    labels: dict[str, TelescopeLabels] = field(default_factory=dict)

    def to_manifest(self, used: int, not_in_data: int) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "lines": self.lines,
            "verdicts": len(self.labels),
            "used": used,
            "failed_skipped": self.failed,
            "unreadable_skipped": self.unreadable,
            "repeated": self.repeated,
            "not_in_data": not_in_data,
            "tiers": dict(self.tiers),
            "models": dict(self.models),
            "prompts": dict(self.prompts),
        }


def read_verdicts(path: Path | str) -> VerdictFile:
    """The labels of every successful verdict in a JSONL of ``Classification`` records."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the verdicts file ({exc.strerror})", str(path)) from None
    out = VerdictFile(str(path), hashlib.sha256(data).hexdigest())
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        out.lines += 1
        try:
            verdict = Classification.model_validate_json(raw)
        except ValidationError:
            out.unreadable += 1
            out.first_unreadable_line = out.first_unreadable_line or number
            continue
        if not verdict.ok or verdict.labels is None:
            out.failed += 1
            continue
        out.repeated += verdict.pair_id in out.labels
        out.labels[verdict.pair_id] = verdict.labels
        out.tiers[verdict.tier] += 1
        out.models[verdict.model or "(none)"] += 1
        out.prompts[verdict.prompt_name or "(none)"] += 1
    if not out.labels:
        raise VerdictsError(
            f"{path}: no usable verdict in {out.lines} line(s) ({out.failed} failed, "
            f"{out.unreadable} unreadable); write verdicts with "
            "`amc classify INPUT --tier llm -o run.jsonl`"
        )
    return out


@dataclass
class LabelSources:
    """Where the training labels came from (recorded in the artifact's manifest)."""

    human: int = 0
    llm: int = 0
    #: pairs of the input with neither a human label nor a verdict (not trained on)
    unlabelled: int = 0
    #: pairs with both: the human label was used; how often the LLM agreed
    both: int = 0
    llm_agreed: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    #: a few verdict pair ids with no pair in the input, to show the user
    not_in_data_examples: list[str] = field(default_factory=list)

    def to_manifest(self) -> dict[str, Any]:
        return {
            HUMAN: self.human,
            LLM: self.llm,
            "unlabelled_skipped": self.unlabelled,
            "human_and_llm": self.both,
            "llm_agreed_with_human": self.llm_agreed,
            "verdict_files": self.files,
        }

    def summary(self) -> str:
        """One line for the person training: what was used and what was skipped."""
        if not self.files:
            return f"{self.human:,} pairs labelled in the input"
        parts = [f"{self.llm:,} labelled by LLM verdicts", f"{self.human:,} by humans"]
        if self.both:
            parts.append(f"human labels won on {self.both:,} (the LLM agreed on "
                         f"{self.llm_agreed:,})")  # fmt: skip
        if self.unlabelled:
            parts.append(f"{self.unlabelled:,} input pair(s) without any label skipped")
        for f in self.files:
            skipped = [
                f"{f[key]:,} {what}"
                for key, what in (("failed_skipped", "failed"),
                                  ("unreadable_skipped", "unreadable line(s)"),
                                  ("not_in_data", "not in --data"))
                if f[key]
            ]  # fmt: skip
            note = f", skipped {', '.join(skipped)}" if skipped else ""
            parts.append(f"{f['path']}: {f['used']:,} used{note}")
        if self.not_in_data_examples:
            parts.append("verdicts without a pair in --data, e.g. "
                         + ", ".join(self.not_in_data_examples))  # fmt: skip
        return "; ".join(parts)


def human_label_sources(pairs: Sequence[Pair]) -> LabelSources:
    """The sources of a training set labelled by the input alone."""
    return LabelSources(human=len(pairs))


def join_labels(
    pairs: Sequence[Pair], verdicts: Sequence[VerdictFile]
) -> tuple[list[Pair], list[str], LabelSources]:
    """The pairs that have a label (human first, else the last file's verdict), each with
    it as ``gold``; where each label came from; and the tally for the manifest."""
    by_id: dict[str, TelescopeLabels] = {}
    for file in verdicts:
        by_id.update(file.labels)
    sources = LabelSources()
    labelled: list[Pair] = []
    origins: list[str] = []
    ids = set()
    for pair in pairs:
        ids.add(pair.pair_id)
        verdict = by_id.get(pair.pair_id)
        if pair.gold is not None:
            labelled.append(pair)
            origins.append(HUMAN)
            sources.human += 1
            if verdict is not None:
                sources.both += 1
                sources.llm_agreed += verdict == pair.gold
        elif verdict is not None:
            labelled.append(pair.model_copy(update={"gold": verdict}))
            origins.append(LLM)
            sources.llm += 1
        else:
            sources.unlabelled += 1
    for file in verdicts:
        missing = [pid for pid in file.labels if pid not in ids]
        used = len(file.labels) - len(missing)
        sources.files.append(file.to_manifest(used, len(missing)))
        sources.not_in_data_examples += missing[: _EXAMPLES - len(sources.not_in_data_examples)]
    if verdicts and not sources.llm and not sources.both:
        example = next(iter(by_id))
        raise VerdictsError(
            f"none of the {len(by_id):,} verdicts matches a pair of --data (e.g. {example!r}); "
            "give --data the input the LLM run classified"
        )
    return labelled, origins, sources
