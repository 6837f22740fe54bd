"""Evidence prepared in a child process for ``amc classify --tier llm`` (amc.classify.prepare).

The pool must change nothing but where the work runs: the same requests, byte for
byte, and the same rows; a child that dies loses no pair; a small run never starts
one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import runpy
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import ScriptedLLMServer

import amc.classify.llm.tier as tier
import amc.classify.prepare as prepare
from amc.classify.dispatch import PairClassifier
from amc.classify.llm.planning import Prepared, prepare_input, prepared_input
from amc.classify.stream import classify_stream
from amc.domain.models import Classification, Pair, Paper
from amc.ingest.pairs import read_pairs
from amc.settings import Settings, load_settings
from amc.snippets import pair_snippets

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "amc" / "data" / "sample.jsonl"
DEV_PAPERS = ROOT.parent / "shared" / "data" / "dev-papers" / "papers.parquet"


def settings(server: ScriptedLLMServer, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "tier": "llm", "model": "openai/local", "api_base": server.api_base,
        "use_cache": False, "llm_max_retries": 0, "progress": False,
        "llm_concurrency": 4, "llm_chunk_pairs": 16,
    }  # fmt: skip
    return load_settings(environ={}, **(base | values))


def sample_pairs(registry, s: Settings) -> list[Pair]:
    return [p for p in read_pairs([SAMPLE], registry, s) if isinstance(p, Pair)]


WHEN = {"created_at", "latency_s", "started_at", "elapsed_s"}


def rows(results: list[Classification]) -> list[dict[str, Any]]:
    """What a row says, without when it was made and how long its calls took."""
    out = []
    for c in results:
        row = c.model_dump(mode="json", exclude=WHEN | {"usage"})
        row["tokens"] = (c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.calls)
        out.append(row)
    return out


def sent(server: ScriptedLLMServer) -> list[str]:
    return sorted(json.dumps(r.messages, sort_keys=True) for r in server.chat_requests)


def run(server: ScriptedLLMServer, registry, pairs: list[Pair], pools: list[Any], **values: Any):
    server.reset()
    out = list(classify_stream(fed(pairs, pools), registry, settings(server, **values)))
    return out, sent(server)


def fed(pairs: list[Pair], pools: list[Any]) -> Iterator[Pair]:
    """The pairs, waiting after the first units (the second starts the pool) until the
    pool is up, so that it takes the units after."""
    for i, pair in enumerate(pairs):
        if i == 30 and pools:
            deadline = time.monotonic() + 60
            while not pools[0].running and time.monotonic() < deadline:
                time.sleep(0.05)
        yield pair


def test_a_prepared_input_is_the_one_prepared_here(registry) -> None:
    """For every pair of the sample: the ``PairInput`` rebuilt from a ``Prepared`` that came
    back through pickle (as a child sends it) equals the one ``prepare_input`` makes."""
    s = load_settings(environ={}, tier="llm", model="openai/local")
    pairs = sample_pairs(registry, s)
    prepared, rendered = prepare.prepare_pairs(pairs, registry, s)
    compared = 0
    for pair, ready in zip(pairs, pickle.loads(pickle.dumps(prepared)), strict=True):
        if pair.telescope == "NONE":
            assert ready is None
            continue
        assert isinstance(ready, Prepared)
        here = prepare_input(pair, pair_snippets(pair, registry, s), registry, s.llm)
        again = prepared_input(pair, ready, registry, s.llm)
        assert again == here
        assert [x.model_dump_json() for x in again.snippets] == [
            x.model_dump_json() for x in here.snippets
        ]
        compared += 1
    assert compared >= 40
    assert any(r is not None and r.candidates for r in prepared)  # links travel too
    assert len(rendered) >= 40 and pickle.loads(pickle.dumps(rendered)) == rendered


@pytest.mark.parametrize("mode", ["pair", "paper"])
def test_classify_with_the_pool_sends_the_same_requests_and_gives_the_same_rows(
    registry, monkeypatch, mode
) -> None:
    """The same requests, byte for byte, and the same rows; the requests of the units the
    child took were rendered there (this process rendered fewer)."""
    monkeypatch.setattr(prepare, "START_AFTER_PAIRS", 0)
    monkeypatch.setattr(prepare, "BUSY_SHARE", 0.0)  # look at the first unit, start at the second
    taken: list[int] = []
    pools: list[prepare.PreparePool] = []
    submit, init = prepare.PreparePool.submit, prepare.PreparePool.__init__

    def counted(self, pairs):  # type: ignore[no-untyped-def]
        future = submit(self, pairs)
        if future is not None:
            taken.append(len(pairs))
        return future

    def kept(self, *args):  # type: ignore[no-untyped-def]
        init(self, *args)
        pools.append(self)

    renders: list[str] = []
    render = tier.request_for

    def rendered_here(group, config):  # type: ignore[no-untyped-def]
        renders.append(config.mode)
        return render(group, config)

    monkeypatch.setattr(prepare.PreparePool, "submit", counted)
    monkeypatch.setattr(prepare.PreparePool, "__init__", kept)
    monkeypatch.setattr(tier, "request_for", rendered_here)
    with ScriptedLLMServer() as server:
        s = settings(server)
        pairs = sample_pairs(registry, s)
        if DEV_PAPERS.exists():
            pairs += [p for p in read_pairs([DEV_PAPERS], registry, s) if isinstance(p, Pair)]
        alone, alone_sent = run(server, registry, pairs, pools, prepare_processes=0, llm_mode=mode)
        assert not taken and not pools
        rendered_alone, renders[:] = len(renders), []
        pooled, pooled_sent = run(
            server, registry, pairs, pools, prepare_processes=1, llm_mode=mode
        )
    assert pools and sum(taken) >= 20, "the pool prepared too few pairs"
    assert rendered_alone == len(alone_sent) and set(renders) == {mode}
    assert len(renders) <= rendered_alone - 10, "the child rendered too few requests"
    assert pooled_sent == alone_sent and len(alone_sent) >= 30
    assert rows(pooled) == rows(alone)
    assert all(c.ok for c in pooled if c.telescope != "NONE" or c.error is None)


def test_a_small_run_starts_no_process(registry) -> None:
    before = multiprocessing.active_children()
    with ScriptedLLMServer() as server:
        s = settings(server, prepare_processes=1)
        with PairClassifier(registry, s, prepare_pool=True) as classifier:
            results = classifier.submit(sample_pairs(registry, s)[:20]).result()
            assert multiprocessing.active_children() == before
    assert len(results) == 20


def test_the_pool_starts_only_when_this_process_is_busy(registry, monkeypatch) -> None:
    """A look every ``START_AFTER_PAIRS`` pairs: the first only starts the count; a process
    that waited (on the model) does not start the pool; one that used a core does."""
    monkeypatch.setattr(prepare, "START_AFTER_PAIRS", 10)
    s = load_settings(environ={}, tier="llm", model="openai/local", prepare_processes=1)
    pairs = [science(i) for i in range(10)]
    with prepare.PreparePool(registry, s) as pool:
        assert pool.submit(pairs) is None and not pool.started  # the first look
        time.sleep(0.5)  # waiting, as for answers
        assert pool.submit(pairs[:5]) is None and not pool.started  # not busy
        assert pool.submit(pairs[:5]) is None and not pool.started  # no look between looks
        end = time.process_time() + 0.5
        while time.process_time() < end:  # busy
            pass
        assert pool.submit(pairs) is None and pool.started  # started; up a little later


def science(i: int) -> Pair:
    body = f"We observed NGC {i} with the Hubble Space Telescope using WFC3 in program GO 12345."
    return Pair(paper=Paper(bibcode=f"2024PREP{i:04d}", body=body), telescope="HST")


def test_a_child_that_dies_loses_no_pair(registry, monkeypatch, caplog) -> None:
    """The child is killed while the run goes on: the units it held are prepared in this
    process, every pair gets its verdict, and the pool is not used again."""
    monkeypatch.setattr(prepare, "START_AFTER_PAIRS", 0)
    monkeypatch.setattr(prepare, "BUSY_SHARE", 0.0)
    with ScriptedLLMServer() as server:
        s = settings(server, prepare_processes=1)
        with PairClassifier(registry, s, prepare_pool=True) as classifier:
            pool = classifier._pool
            assert pool is not None
            first = classifier.submit([science(0)]).result()  # looks
            first += classifier.submit([science(1)]).result()  # starts the pool
            deadline = time.monotonic() + 60
            while not pool.running and time.monotonic() < deadline:
                time.sleep(0.05)
            assert pool.running
            taken = pool.submit([science(1)])
            assert taken is not None and len(taken.result(timeout=30)[0]) == 1
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
            futures = [classifier.submit([science(i)]) for i in range(2, 40)]
            results = first + [c for f in futures for c in f.result(timeout=60)]
            assert pool.submit([science(99)]) is None  # given up
    assert [c.pair_id for c in results] == [science(i).pair_id for i in range(40)]
    assert all(c.ok for c in results)
    assert "prepared in this process from now on" in caplog.text


def test_a_spawned_child_does_not_run_the_cli(monkeypatch) -> None:
    """A spawned child imports ``python -m amc.cli``'s module as ``__mp_main__``: it must
    not start a second ``amc`` (which would read the parent's arguments)."""
    monkeypatch.setattr("sys.argv", ["amc", "classify", "--help"])
    runpy.run_module("amc.cli", run_name="__mp_main__")  # SystemExit if it ran
    with pytest.raises(SystemExit):
        runpy.run_module("amc.cli", run_name="__main__")


def test_a_child_that_reads_other_prompt_files_is_not_used(
    registry, monkeypatch, tmp_path, caplog
) -> None:
    """The prompt files change after the run loaded them and before the child reads them:
    the child's prompts differ from the parent's, so it is not used, and every request
    goes out with the prompt the run started with."""
    monkeypatch.setattr(prepare, "START_AFTER_PAIRS", 0)
    monkeypatch.setattr(prepare, "BUSY_SHARE", 0.0)
    prompts = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", prompts)
    with ScriptedLLMServer() as server:
        s = settings(server, prepare_processes=1, llm_prompts_dir=str(prompts))
        with PairClassifier(registry, s, prepare_pool=True) as classifier:
            pool = classifier._pool
            assert pool is not None
            results = classifier.submit([science(0)]).result()  # the first look
            for path in prompts.glob("*.yaml"):
                path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n")
            results += classifier.submit([science(1)]).result()  # starts the child
            deadline = time.monotonic() + 60
            while not (pool._ready and pool._ready.done()) and time.monotonic() < deadline:
                time.sleep(0.05)
            results += [c for i in range(2, 6) for c in classifier.submit([science(i)]).result()]
            assert not pool.running and pool.submit([science(9)]) is None
    assert len(results) == 6 and all(c.ok for c in results)
    assert len({c.prompt_hash for c in results}) == 1
    assert "holds another registry or prompt" in caplog.text
