"""Advancing a plan: send the files whose day has come, in order, and read the status of
those sent. Nothing is ever uploaded or created twice.

Each costly step is written down before it is taken (``uploading``, ``creating``)
and its result after; a run that finds an intent without its result (the process
died, or the answer was lost on the way) asks the provider whether the file or
batch exists before sending anything again. An upload or creation that fails is
retried the same way (look first, then send), up to ``max_retries`` times; the
others are the SDK's to retry. ``advance`` takes one step and returns;
``advance_until_finished`` waits between steps (for ``amc classify --batch-api``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amc.classify.llm.errors import LLMRequestError, ProviderBatchPending
from amc.classify.llm.provider.batches import ProviderBatchClient
from amc.classify.llm.provider_batch.plan import next_due_at
from amc.classify.llm.provider_batch.state import (
    BatchFile,
    ProviderBatchPlan,
    files_folder,
    lock_state,
    require_state,
    save_state,
    with_batch,
)
from amc.settings.llm import LLMSettings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def advance(
    state_path: Path,
    config: LLMSettings,
    *,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> ProviderBatchPlan:
    """One step: in order, read the status of every unfinished batch and send (then read)
    each file that is due; a file that must wait holds back the ones after it. Saved
    after every call; ``ProviderBatchBusy`` if another process is advancing the plan."""
    with lock_state(state_path):
        return advance_locked(state_path, config, clock=clock, sleep=sleep)


def advance_locked(
    state_path: Path,
    config: LLMSettings,
    *,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> ProviderBatchPlan:
    """``advance`` for a caller that holds the plan's lock (``lock_state``)."""
    plan = require_state(state_path)
    step = _Step(plan, state_path, config, clock, sleep)
    for index, file in enumerate(plan.files):
        if file.finished:
            continue
        if file.batch_id is None:
            if not step.due(file):
                break
            step.send(index)
        step.poll(index)
    return plan


def advance_until_finished(
    state_path: Path,
    config: LLMSettings,
    *,
    interval_s: float = 30.0,
    max_interval_s: float = 600.0,
    timeout_s: float | None = None,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
) -> ProviderBatchPlan:
    """``advance`` until every file's batch is finished, waiting ``interval_s`` (doubling up
    to ``max_interval_s``, never past the next file's time) between steps. After
    ``timeout_s`` (0: one step) ``ProviderBatchPending`` says where the plan is."""
    waited, interval = 0.0, interval_s
    while True:
        plan = advance(state_path, config, clock=clock, sleep=sleep)
        if plan.finished:
            return plan
        if timeout_s is not None and waited >= timeout_s:
            raise ProviderBatchPending(pending_message(plan, state_path, clock()))
        pause = min(interval, _until_next_file(plan, clock()) or interval)
        sleep(pause)
        waited += pause
        interval = min(interval * 2, max_interval_s)


def pending_message(plan: ProviderBatchPlan, state_path: Path, now: float) -> str:
    """What is still running or waiting, and how to go on."""
    running = [f for f in plan.files if f.batch_id and not f.finished]
    waiting = [f for f in plan.files if not f.batch_id]
    parts = []
    if running:
        parts.append("still running: " + ", ".join(f"batch {f.batch_id} ({f.status})"
                                                   for f in running))  # fmt: skip
    if waiting:
        nxt = next_due_at(plan, waiting[0], now)
        when = "" if nxt is None else f", the next in {max(0.0, nxt - now) / 3600:.1f} h"
        parts.append(f"{len(waiting)} file(s) waiting for the daily token budget{when}")
    return (
        f"{'; '.join(parts) or 'not finished'}; run again with the state file {state_path} "
        "to go on (nothing is sent twice)"
    )


def _until_next_file(plan: ProviderBatchPlan, now: float) -> float | None:
    waiting = [f for f in plan.files if not f.batch_id]
    if not waiting or any(f.batch_id and not f.finished for f in plan.files):
        return None  # batches are running: the polling interval rules
    when = next_due_at(plan, waiting[0], now)
    return None if when is None else max(1.0, when - now)


class _Step:
    """One ``advance``: the plan, where it is saved, and a client opened on first use."""

    def __init__(
        self, plan: ProviderBatchPlan, path: Path, config: LLMSettings, clock: Clock, sleep: Sleep
    ) -> None:
        self.plan, self.path, self.config = plan, path, config
        self.clock, self.sleep = clock, sleep
        self._client: ProviderBatchClient | None = None

    @property
    def client(self) -> ProviderBatchClient:
        if self._client is None:
            self._client = ProviderBatchClient(self.config)
        return self._client

    def due(self, file: BatchFile) -> bool:
        now = self.clock()
        when = next_due_at(self.plan, file, now)
        return when is not None and when <= now

    def poll(self, index: int) -> None:
        file = self.plan.files[index]
        assert file.batch_id is not None
        self._update(index, with_batch(file, self.client.retrieve(file.batch_id)))

    def send(self, index: int) -> None:
        """Upload the file (unless done) and create its batch (unless done)."""
        file = self.plan.files[index]
        if file.input_file_id is None:
            file_id = self._once(
                index, "uploading", lambda: self.client.find_file(file.upload_name, file.bytes),
                lambda: self.client.upload(files_folder(self.path) / file.name, file.upload_name),
            )  # fmt: skip
            uploaded = {"input_file_id": file_id, "status": "uploaded"}
            file = self._update(index, file.model_copy(update=uploaded))
        input_file_id = file.input_file_id
        assert input_file_id is not None
        metadata = {"amc_file_sha256": file.sha256, "amc_part": f"{index + 1}"}
        batch = self._once(
            index, "creating", lambda: self.client.find_batch(input_file_id),
            lambda: self.client.create(input_file_id, metadata),
        )  # fmt: skip
        file = with_batch(file, batch).model_copy(update={"submitted_at": self.clock()})
        self._update(index, file)
        log.info("created batch %s for file %d (%d requests)", file.batch_id, index + 1,
                 len(file.requests))  # fmt: skip

    def _once(
        self, index: int, intent: str, find: Callable[[], Any], send: Callable[[], Any]
    ) -> Any:
        """``send``, unless an earlier attempt left its result (``find``): the intent is
        saved first, so a crash between the call and the save is settled next time."""
        file = self.plan.files[index]
        attempt = 0
        while True:
            if file.status == intent:  # an earlier attempt may have got through
                found = find()
                if found is not None:
                    log.info("file %d: found what an interrupted run sent (%s)", index + 1,
                             intent)  # fmt: skip
                    return found
            file = self._update(index, file.model_copy(update={"status": intent}))
            try:
                return send()
            except LLMRequestError:
                if attempt >= self.config.max_retries:
                    raise
                attempt += 1
                wait = min(self.config.backoff_max_s, self.config.backoff_s * 2**attempt)
                self.sleep(wait * random.uniform(0.5, 1.0))

    def _update(self, index: int, file: BatchFile) -> BatchFile:
        self.plan.files[index] = file
        save_state(self.path, self.plan)
        return file
