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

from amc.jobs.spool import batch_hash, spool_inputs
from amc.registry import Registry, load_registry
from amc.settings import Settings
from amc.store import BatchInfo, Store

#: settings stored with a batch: every worker classifies it the same way, whatever its own
BATCH_SETTINGS = (
    "tier", "window_sentences", "include_references", "skip_bad_rows", "allow_extra_columns",
    "max_field_chars", "registry_files", "model", "api_base", "llm_mode", "rerank",
    "response_format", "cascade_threshold", "cascade_calibration", "use_cache", "max_cost_usd",
    "llm_prompt_name", "llm_paper_prompt_name", "llm_evidence_tokens",
)  # fmt: skip


@dataclass(frozen=True)
class Submission:
    batch_id: str
    #: False when the same content was submitted before (nothing new was queued)
    created: bool
    n_papers: int
    #: the store ids of the papers to queue (empty for a duplicate)
    paper_ids: list[int]


def submit_batch(
    store: Store, inputs: Sequence[Path], telescopes: Sequence[str], settings: Settings
) -> Submission:
    """Spool the inputs, register the batch and its papers; a duplicate returns the first batch.

    Raises ``InputError`` at the first bad row unless ``settings.skip_bad_rows``
    (then nothing is registered: a broken file is found before anything is spent).
    """
    registry = registry_for(settings)
    keys = [registry.check(t) for t in telescopes]
    flat = settings.flat_values()
    chosen: dict[str, Any] = {name: flat[name] for name in BATCH_SETTINGS}
    content_hash = batch_hash(inputs, keys, settings.tier, chosen)
    index = spool_inputs(inputs, keys, settings, content_hash, registry)
    names = [str(p) for p in inputs]
    batch_id, created = store.create_batch(names, content_hash, keys, settings.tier, chosen)
    if not created and store.get_batch(batch_id).n_papers == len(index):
        return Submission(batch_id, False, len(index), [])
    # a new batch, or one whose first submit died before its papers were in (add is idempotent)
    ids = store.add_papers(batch_id, index)
    return Submission(batch_id, created, len(ids), ids)


def batch_settings(settings: Settings, batch: BatchInfo) -> Settings:
    """This process's settings with the batch's classification settings laid over them."""
    return settings.with_flat({k: v for k, v in batch.settings.items() if k in BATCH_SETTINGS})


@lru_cache(maxsize=8)
def _registry(files: tuple[Path, ...]) -> Registry:
    return load_registry(list(files))


def registry_for(settings: Settings) -> Registry:
    """The registry of these settings, loaded once per process."""
    return _registry(tuple(settings.registry_files))
