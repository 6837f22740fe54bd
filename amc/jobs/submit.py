"""Submitting a batch: spool the inputs, register the batch and its papers in the store.

Submitting reads the inputs once into the *spool* (``amc.jobs.spool``), where a
worker reads a paper back with a few seeks. The content hash covers input bytes,
telescopes, tier and the settings that change a verdict (``BATCH_SETTINGS``):
the same submission twice is one batch, done once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from amc.domain.errors import ConfigError, InputError
from amc.jobs.spool import batch_hash, spool_inputs
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import BatchInfo, Store

#: settings stored with a batch and part of its content hash (they change what it gives):
#: every worker classifies it the same way, whatever its own
BATCH_SETTINGS = (
    "tier", "window_sentences", "include_references", "skip_bad_rows", "allow_extra_columns",
    "max_field_chars", "registry_files", "model", "api_base", "llm_mode", "rerank",
    "response_format", "cascade_threshold", "cascade_calibration",
    "llm_prompt_name", "llm_paper_prompt_name", "llm_evidence_tokens",
)  # fmt: skip
#: how a batch is run, not what it gives: stored with it, not hashed, and replaced when the
#: same content is submitted again (a run stopped by its budget resumes with a new one)
RUN_SETTINGS = ("use_cache", "max_cost_usd")


@dataclass(frozen=True)
class Submission:
    batch_id: str
    #: False when the same content was submitted before (nothing new was queued)
    created: bool
    n_papers: int
    #: the store ids of the papers to queue (empty for a duplicate)
    paper_ids: list[int]


class NothingToClassify(InputError):
    """Inputs that hold no paper at all (an empty file, a table with a header only)."""


def submit_batch(
    store: Store,
    inputs: Sequence[Path],
    telescopes: Sequence[str],
    settings: Settings,
    refuse_empty: bool = False,
    *,
    batch_api: bool = False,
) -> Submission:
    """Spool the inputs, register the batch and its papers; a duplicate returns the first batch.

    Raises ``InputError`` at the first bad row unless ``settings.skip_bad_rows``
    (then nothing is registered: a broken file is found before anything is spent), and
    with ``refuse_empty`` ``NothingToClassify`` when the inputs hold no paper.
    ``batch_api``: the batch goes through the provider's Batch API, not to the workers
    (``amc.jobs.provider_batch``); it is another batch than the same input without it.
    """
    if batch_api and settings.tier != "llm":
        raise ConfigError("--batch-api needs --tier llm")
    registry = registry_for(settings)
    keys = [registry.check(t) for t in telescopes]
    flat = settings.flat_values()
    chosen: dict[str, Any] = {name: flat[name] for name in BATCH_SETTINGS}
    run: dict[str, Any] = {name: flat[name] for name in RUN_SETTINGS}
    if batch_api:
        chosen["batch_api"] = True
    content_hash = batch_hash(inputs, keys, settings.tier, chosen)
    index = spool_inputs(inputs, keys, settings, content_hash, registry)
    if refuse_empty and not index:
        raise NothingToClassify("no paper found: the inputs are empty or hold only a header")
    names = [str(p) for p in inputs]
    batch_id, created = store.create_batch(names, content_hash, keys, settings.tier, chosen | run)
    if not created:
        store.update_batch_settings(batch_id, run)
    if not created and store.get_batch(batch_id).n_papers == len(index):
        return Submission(batch_id, False, len(index), [])
    # a new batch, or one whose first submit died before its papers were in (add is idempotent)
    ids = store.add_papers(batch_id, index)
    return Submission(batch_id, created, len(ids), ids)


def batch_settings(settings: Settings, batch: BatchInfo) -> Settings:
    """This process's settings with the batch's classification settings laid over them."""
    wanted = (*BATCH_SETTINGS, *RUN_SETTINGS)
    return settings.with_flat({k: v for k, v in batch.settings.items() if k in wanted})


@lru_cache(maxsize=8)
def _registry(files: tuple[Path, ...]) -> Registry:
    return load_registry(list(files))


def registry_for(settings: Settings) -> Registry:
    """The registry of these settings, loaded once per process."""
    return _registry(tuple(settings.registry_files))
