"""Measure a prompt change without an LLM: record amc's requests, let blind answerers answer
them, replay the answers through amc's own LLM tier and score the verdicts.

Method. ``record`` runs ``amc classify --tier llm`` against a local OpenAI-compatible stub
(127.0.0.1, standard-library ``http.server`` in a thread) that saves every chat request
body as it arrives and answers it with a valid throwaway answer (the minimal instance of
the JSON schema in the request's ``response_format``: all labels false, no evidence), so
amc goes on to the next pair. The answer cache is off, so every pair that needs the model
really calls it, and re-asks are off (``llm_max_reasks=0``), so each pair sends exactly one
request. ``bundle`` turns the recorded requests into plain Markdown files (system message,
user message, JSON schema; nothing else: no labels, no bibcodes, no paths) split into
parts for answerers who play the model, one ``answers/NNNN.json`` per request. ``replay``
runs the very same ``amc classify`` command against a stub that finds each incoming
request among the recorded ones by its key, the sha256 of the canonical JSON of its
``messages``, and returns the answerer's JSON as the assistant message (OpenAI chat
completion shape, o200k token counts as usage, so amc prices the run with ``AMC_PRICES``);
a request with no answer gets HTTP 500 and is listed. Because re-asks are off, a replayed
answer is judged once, as amc judges a cached or Batch API answer: an invalid one fails
its pair (scored all-false), an unsupported science/instrumentation claim (a v1 quote not
found verbatim, a citation that does not show the use) is downgraded. ``score`` scores the
predictions against the labels with amc's metrics (``eval.scoring.score``:
cell macro-F1, sklearn macro-F1, official macro-F1, micro-F1).

Settings of every amc run here (environment, all ``AMC_*`` of the caller dropped):
``AMC_HOME`` inside the output folder, ``AMC_LLM_PROMPT_NAME`` = the prompt,
``AMC_USE_CACHE=false`` (plus ``--no-cache``), ``AMC_PRICES`` (default gpt-4o-mini's list
prices for ``openai/local``), ``AMC_LLM_MAX_REASKS=0``, ``AMC_LLM_MAX_RETRIES=0``; the
record run has ``AMC_LLM_CONCURRENCY=1`` so the requests are numbered in input order.

Commands (from the repository root, PYTHONPATH=. or the installed package):

    python bench/prompt_check.py record --prompt classify_pair.v2 --out DIR INPUT...
    python bench/prompt_check.py bundle --from DIR [DIR...] --out BUNDLE --parts 2
    python bench/prompt_check.py check --bundle BUNDLE
    python bench/prompt_check.py replay --from DIR --answers BUNDLE/part-1/answers \\
        BUNDLE/part-2/answers --out OUT
    python bench/prompt_check.py score --labels INPUT --pred OUT/predictions.csv [--pred ...]

``record`` writes DIR/requests/NNNN.json (the request bodies), DIR/index.json (number,
key, pair, token counts of each request), DIR/recorded.jsonl and DIR/record.json (the
command, the settings, the pairs that made no request and why). ``bundle`` writes
BUNDLE/part-i/{INSTRUCTIONS.md,requests/NNNN.md,answers/} and BUNDLE/manifest.json (bundle
number -> recording and key; for replay, never shown to answerers); numbers are unique
across the parts, a request whose messages repeat is asked once, and a paper's requests
are spread over the parts where possible. ``replay`` reads the answers' numbers through
that manifest (found beside the part folders, or ``--manifest``); an answer file may also
be named by its key (``<sha256>.json``). It writes OUT/predictions.jsonl, OUT/predictions.csv
and OUT/replay.json (answered, unanswered, failed pairs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # amc and eval of this checkout
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm's tokenizer, offline

MODEL = "openai/local"
#: gpt-4o-mini's list prices, in US dollars per million tokens
DEFAULT_PRICES = {MODEL: {"input_per_mtok": 0.15, "output_per_mtok": 0.60}}
PROMPTS = ("classify_pair.v1", "classify_pair.v2", "classify_pair.v3")
KEY_RE = re.compile(r"^[0-9a-f]{64}$")
TELESCOPE_RE = re.compile(r"^Telescope: (\S+) \(", re.M)

Json = dict[str, Any]


# -- keys, tokens and answers ------------------------------------------------------------


def request_key(messages: Any) -> str:
    """The key of a request: sha256 of the canonical JSON of its ``messages``."""
    text = json.dumps(messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def _encoding() -> Any:
    try:
        from litellm.litellm_core_utils.token_counter import openai_tokenizer_encoding

        return openai_tokenizer_encoding("gpt-4.1-mini")
    except Exception:  # no tokenizer: characters / 4 below
        return None


def count_tokens(text: str) -> int:
    """o200k tokens of ``text`` (the gpt-4o family's tokenizer), else characters / 4."""
    encoding = _encoding()
    if encoding is None:
        return max(1, len(text) // 4)
    return len(encoding.encode(text, disallowed_special=()))


def request_schema(body: Json) -> Json | None:
    """The JSON schema of the expected answer, from ``response_format``."""
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get(
        "schema"
    )
    return schema if isinstance(schema, dict) else None


def message_text(body: Json, role: str) -> str:
    """The content of the first message with ``role`` (content blocks joined)."""
    for message in body.get("messages", []):
        if message.get("role") == role:
            content = message.get("content", "")
            if isinstance(content, list):
                return "".join(str(block.get("text", "")) for block in content)
            return str(content)
    return ""


def prompt_tokens(body: Json) -> dict[str, int]:
    """Tokens of the schema (OpenAI reads it before the system message), the system and the
    user message, and the total (with ~4 tokens of framing per message)."""
    schema = request_schema(body)
    counts = {
        "schema": count_tokens(json.dumps(schema, separators=(",", ":"))) if schema else 0,
        "system": count_tokens(message_text(body, "system")),
        "user": count_tokens(message_text(body, "user")),
    }
    framing = 4 * len(body.get("messages", []))
    counts["total"] = framing + sum(counts.values())
    return counts


def minimal_instance(schema: Any) -> Any:
    """The smallest valid instance of a (strict, inlined) JSON schema: false, 0, empty
    lists, a placeholder string, the first enum value; every property present."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {k: minimal_instance(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [minimal_instance(schema.get("items"))] * int(schema.get("minItems", 0))
    if kind == "string":
        return "throwaway answer of a recording run"[: schema.get("maxLength", 200)]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0.0))
    if kind == "boolean":
        return False
    return None


def chat_completion(body: Json, content: str) -> Json:
    """An OpenAI chat.completion around ``content``, with token usage."""
    prompt = prompt_tokens(body)["total"]
    completion = count_tokens(content)
    return {
        "id": "chatcmpl-prompt-check",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "local"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


# -- the stub server ---------------------------------------------------------------------

#: a request body -> (HTTP status, response body)
Responder = Callable[[Json], tuple[int, Json]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


class StubServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1, in a thread."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler(server: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._send(404, _error(f"no route {self.path}", "not_found"))
            try:
                body = json.loads(raw)
            except ValueError:
                return self._send(400, _error("request body is not JSON", "invalid_request"))
            try:
                status, answer = server.respond(body)
            except Exception as exc:  # a bug here must reach the client, not hang it
                status, answer = 500, _error(f"stub error: {exc!r}", "server_error")
            self._send(status, answer)

        def _send(self, status: int, payload: Json) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _error(message: str, kind: str) -> Json:
    return {"error": {"message": message, "type": kind}}


# -- running amc -------------------------------------------------------------------------


def amc_env(home: Path, prompt: str, prices: Json, concurrency: int) -> dict[str, str]:
    """The environment of an amc run: the caller's without its ``AMC_*`` variables and
    provider keys, plus this benchmark's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AMC_") and k != "OPENAI_API_KEY"}  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env |= {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "AMC_HOME": str(home),
        "AMC_CACHE_PATH": str(home / "llm-cache.sqlite"),
        "AMC_LLM_PROMPT_NAME": prompt,
        "AMC_USE_CACHE": "false",
        "AMC_PRICES": json.dumps(prices),
        "AMC_LLM_MAX_REASKS": "0",
        "AMC_LLM_MAX_RETRIES": "0",
        "AMC_LLM_MAX_CONSECUTIVE_FAILURES": "1000000",
        "AMC_LLM_CONCURRENCY": str(concurrency),
    }
    return env


#: the settings an amc run gets, as recorded (the environment above, minus paths)
RUN_SETTINGS = ("AMC_LLM_PROMPT_NAME", "AMC_USE_CACHE", "AMC_PRICES", "AMC_LLM_MAX_REASKS",
                "AMC_LLM_MAX_RETRIES", "AMC_LLM_CONCURRENCY")  # fmt: skip


def amc_classify(
    inputs: Sequence[Path], api_base: str, output: Path, env: dict[str, str], log: Path
) -> tuple[list[str], int]:
    """Run ``amc classify`` on the LLM tier; its command line and exit status (0 all pairs
    classified, 3 some failed: both are results; other statuses stop this script)."""
    cmd = [sys.executable, "-m", "amc.cli", "classify", *map(str, inputs), "--tier", "llm",
           "--model", MODEL, "--api-base", api_base, "--no-cache", "--no-progress",
           "-o", str(output)]  # fmt: skip
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(cmd, cwd=str(output.parent), env=env, stdout=out, stderr=out,
                              stdin=subprocess.DEVNULL, check=False)  # fmt: skip
    text = log.read_text(encoding="utf-8")
    print(text.rstrip())
    if done.returncode not in (0, 3):
        raise SystemExit(f"amc classify failed with status {done.returncode}; see {log}")
    return ["amc", *cmd[3:]], done.returncode


def read_results(path: Path) -> list[Any]:
    """The ``Classification`` rows of an amc JSONL output."""
    from amc.domain.models import Classification

    lines = path.read_text(encoding="utf-8").splitlines()
    return [Classification.model_validate_json(line) for line in lines if line.strip()]


def paper_cache_key(bibcode: str) -> str:
    """amc's ``prompt_cache_key`` of a paper (``Request.cache_key``)."""
    return "amc-" + hashlib.sha256(bibcode.encode()).hexdigest()[:16]


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- record ------------------------------------------------------------------------------


@dataclass
class Recorder:
    """The record stub's state: each request saved as it comes, answered with a minimal
    valid answer."""

    folder: Path
    index: list[Json] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: Json) -> tuple[int, Json]:
        schema = request_schema(body)
        if schema is None:
            return 400, _error("the recorder needs a schema in the request", "invalid_request")
        with self.lock:
            number = f"{len(self.index) + 1:04d}"
            write_json(self.folder / "requests" / f"{number}.json", body)
            telescope = TELESCOPE_RE.search(message_text(body, "user"))
            self.index.append({
                "n": number,
                "key": request_key(body.get("messages")),
                "telescope": telescope[1] if telescope else None,
                "paper_cache_key": body.get("prompt_cache_key"),
                "max_tokens": body.get("max_tokens"),
                "tokens": prompt_tokens(body),
            })  # fmt: skip
        answer = json.dumps(minimal_instance(schema), separators=(",", ":"))
        return 200, chat_completion(body, answer)


def cmd_record(args: argparse.Namespace) -> None:
    out: Path = args.out.resolve()
    inputs = [p.resolve() for p in args.inputs]
    for path in inputs:
        if not path.exists():
            raise SystemExit(f"no such input: {path}")
    if (out / "requests").exists():
        if not args.force:
            raise SystemExit(f"{out} already holds a recording (use --force to replace it)")
        for stale in ("requests", "home"):
            shutil.rmtree(out / stale, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    prices = json.loads(args.prices)
    env = amc_env(out / "home", args.prompt, prices, concurrency=1)
    count_tokens("warm up")  # load the tokenizer before amc's first request
    recorder = Recorder(out)
    with StubServer(recorder) as server:
        command, status = amc_classify(
            inputs, server.api_base, out / "recorded.jsonl", env, out / "record.log"
        )
    results = read_results(out / "recorded.jsonl")
    by_paper = {(paper_cache_key(r.bibcode), r.telescope): r.pair_id for r in results}
    for entry in recorder.index:
        entry["pair_id"] = by_paper.get((entry["paper_cache_key"], entry["telescope"]))
    asked = {e["pair_id"] for e in recorder.index}
    without = [{"pair_id": r.pair_id, "tier": r.tier,
                "why": (r.error.message if r.error else r.reason)[:300]}
               for r in results if r.pair_id not in asked]  # fmt: skip
    write_json(out / "index.json", recorder.index)
    write_json(out / "record.json", {
        "prompt": args.prompt,
        "inputs": [str(p) for p in inputs],
        "command": command,
        "exit_status": status,
        "settings": {k: env[k] for k in RUN_SETTINGS},
        "amc_commit": _git_commit(),
        "pairs": len(results),
        "requests": len(recorder.index),
        "pairs_without_request": without,
    })  # fmt: skip
    print(f"\nrecorded {len(recorder.index)} requests for {len(results)} pairs in {out}")
    for item in without:
        print(f"  no request: {item['pair_id']} ({item['tier']}): {item['why'][:120]}")
    _print_token_stats(recorder.index)


def _git_commit() -> str | None:
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=False)  # fmt: skip
    return done.stdout.strip() or None


def _print_token_stats(index: Sequence[Json]) -> None:
    if not index:
        return
    print("prompt tokens per request (o200k): median / mean / min / max")
    for part in ("schema", "system", "user", "total"):
        values = [e["tokens"][part] for e in index]
        print(f"  {part:>6}: {statistics.median(values):.0f} / {statistics.mean(values):.0f}"
              f" / {min(values)} / {max(values)}")  # fmt: skip


# -- bundle ------------------------------------------------------------------------------

INSTRUCTIONS = """\
# Instructions

You are the language model. A program that classifies astronomy papers sends a language
model one chat request per (paper, telescope) pair; the {count} requests in this folder
are such requests, and you answer them in the model's place.

Each file `requests/NNNN.md` holds one request: its system message, its user message and
the JSON schema that the answer must follow. For each `requests/NNNN.md`, write
`answers/NNNN.json` (the same number) containing only the JSON answer object that the
prompt and the schema ask for:

- exactly one JSON object: valid JSON, no Markdown code fence, no comment, no text before
  or after it;
- every field the schema lists and no other, with the types it gives; follow what the
  system message says about each field (its values, its limits, its evidence);
- answer every request, even a hard one: give your best judgement.

Answer from the prompt alone: read the one request you are answering and nothing else.
Do not read any other file (nothing outside this folder, no program source, no data file,
no other answers), do not look anything up, and do not carry over what you read in other
requests: treat each request as if it were the only one you had seen. Decide each answer
by reading it, as the model would; use tools only to read the request files and to write
the answer files.
"""


def _fence(text: str, info: str = "") -> str:
    """``text`` in a Markdown code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip(chr(10))}\n{ticks}"


def request_markdown(number: str, body: Json) -> str:
    """One request as an answerer sees it: the two messages and the answer's schema."""
    schema = request_schema(body) or {}
    return "\n".join([
        f"# Request {number}", "",
        "## System message", "", _fence(message_text(body, "system"), "text"), "",
        "## User message", "", _fence(message_text(body, "user"), "text"), "",
        "## JSON schema of the answer", "", _fence(json.dumps(schema, indent=2), "json"), "",
        f"Write the answer to `answers/{number}.json`.", "",
    ])  # fmt: skip


@dataclass
class Recorded:
    """One recorded request."""

    source: Path
    n: str
    key: str
    pair_id: str | None
    paper: str | None

    def body(self) -> Json:
        body: Json = read_json(self.source / "requests" / f"{self.n}.json")
        return body


def load_recording(folder: Path) -> tuple[Json, list[Recorded]]:
    folder = folder.resolve()
    if not (folder / "index.json").is_file():
        raise SystemExit(f"{folder} holds no recording (no index.json)")
    meta: Json = read_json(folder / "record.json")
    entries = [Recorded(folder, e["n"], e["key"], e.get("pair_id"), e.get("paper_cache_key"))
               for e in read_json(folder / "index.json")]  # fmt: skip
    return meta, entries


def split_parts(items: list[Recorded], parts: int, rng: random.Random) -> list[list[Recorded]]:
    """Balanced parts; the requests of one paper go to different parts where possible."""
    by_paper: dict[str, list[Recorded]] = {}
    for item in items:
        by_paper.setdefault(item.paper or item.key, []).append(item)
    groups = list(by_paper.values())
    rng.shuffle(groups)
    groups.sort(key=len, reverse=True)  # place the biggest papers first (stable: seeded)
    out: list[list[Recorded]] = [[] for _ in range(parts)]
    for group in groups:
        used: set[int] = set()
        for item in group:
            free = [i for i in range(parts) if i not in used] or list(range(parts))
            target = min(free, key=lambda i: (len(out[i]), i))
            out[target].append(item)
            used.add(target)
    for part in out:
        rng.shuffle(part)
    return out


def cmd_bundle(args: argparse.Namespace) -> None:
    out: Path = args.out.resolve()
    if out.exists() and any(out.glob("part-*/answers/*.json")) and not args.force:
        raise SystemExit(f"{out} already holds answers; not overwritten (use --force)")
    prompts: set[str] = set()
    items: list[Recorded] = []
    seen: set[str] = set()
    repeated = 0
    for folder in args.sources:
        meta, entries = load_recording(folder)
        prompts.add(meta["prompt"])
        for entry in entries:
            if entry.key in seen:
                repeated += 1
                continue
            seen.add(entry.key)
            items.append(entry)
    if len(prompts) > 1:
        raise SystemExit(f"the recordings use different prompts {sorted(prompts)}")
    if args.parts < 1 or not items:
        raise SystemExit("nothing to bundle (no request, or --parts below 1)")
    if out.exists():
        shutil.rmtree(out)
    parts = split_parts(items, args.parts, random.Random(args.seed))
    manifest: list[Json] = []
    number = 0
    for i, part in enumerate(parts, 1):
        folder = out / f"part-{i}"
        (folder / "requests").mkdir(parents=True)
        (folder / "answers").mkdir()
        (folder / "INSTRUCTIONS.md").write_text(INSTRUCTIONS.format(count=len(part)), "utf-8")
        for item in part:
            number += 1
            n = f"{number:04d}"
            (folder / "requests" / f"{n}.md").write_text(request_markdown(n, item.body()), "utf-8")
            manifest.append({"n": n, "part": folder.name, "key": item.key,
                             "source": str(item.source), "recorded_n": item.n,
                             "pair_id": item.pair_id})  # fmt: skip
    write_json(out / "manifest.json", {"prompt": prompts.pop(), "seed": args.seed,
                                       "sources": [str(p.resolve()) for p in args.sources],
                                       "requests": manifest})  # fmt: skip
    sizes = ", ".join(f"part-{i} {len(p)}" for i, p in enumerate(parts, 1))
    print(f"bundled {len(items)} requests into {out} ({sizes}); {repeated} repeated skipped")


# -- answers -------------------------------------------------------------------------------


def _manifest_for(answers: Path, given: Path | None) -> Path | None:
    if given is not None:
        return given
    for folder in (answers.parent, answers.parent.parent):
        if (folder / "manifest.json").is_file():
            return folder / "manifest.json"
    return None


def load_answers(dirs: Sequence[Path], manifest: Path | None) -> tuple[dict[str, str], list[str]]:
    """Answer text by request key, and problems found (unknown numbers, unreadable files).
    A file is ``NNNN.json`` (a bundle number, through the manifest) or ``<key>.json``."""
    answers: dict[str, str] = {}
    problems: list[str] = []
    for folder in dirs:
        if not folder.is_dir():
            raise SystemExit(f"no such answers folder: {folder}")
        found = _manifest_for(folder.resolve(), manifest)
        numbers = {e["n"]: e["key"] for e in read_json(found)["requests"]} if found else {}
        for path in sorted(folder.glob("*.json")):
            key = path.stem if KEY_RE.match(path.stem) else numbers.get(path.stem)
            if key is None:
                problems.append(f"{path}: no request with this number (manifest {found})")
                continue
            try:
                answers[key] = path.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: unreadable ({exc})")
    return answers, problems


def wire_content(text: str) -> str:
    """What the model would have sent: compact JSON when the file is JSON, else the text
    as it is (amc then judges it)."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return text


def cmd_check(args: argparse.Namespace) -> None:
    """Which answers of a bundle are missing or would not pass amc's answer check."""
    from amc.classify.llm.schema import (
        CitedPairAnswer,
        PairAnswer,
        answer_schema,
        parse_answer,
    )

    bundle: Path = args.bundle.resolve()
    manifest = read_json(bundle / "manifest.json")
    models = [(answer_schema(m), m) for m in (PairAnswer, CitedPairAnswer)]
    missing, invalid, ok = [], [], 0
    for entry in manifest["requests"]:
        path = bundle / entry["part"] / "answers" / f"{entry['n']}.json"
        if not path.is_file():
            missing.append(f"{entry['part']}/{entry['n']}")
            continue
        body = read_json(Path(entry["source"]) / "requests" / f"{entry['recorded_n']}.json")
        schema = request_schema(body)
        model = next((m for s, m in models if s == schema), None)
        if model is None:
            raise SystemExit(f"unknown answer schema in {entry['source']}")
        try:
            answer = parse_answer(path.read_text(encoding="utf-8"), model)
            if isinstance(answer, CitedPairAnswer):
                shown = [int(n) for n in re.findall(r"^\[(\d+)\]", message_text(body, "user"),
                                                    re.M)]  # fmt: skip
                bad = [c.sentence for c in answer.evidence if c.sentence not in shown]
                if bad:
                    raise ValueError(f"cites sentence numbers not shown: {bad}")
            ok += 1
        except (ValueError, OSError) as exc:
            invalid.append(f"{entry['part']}/{entry['n']}: {exc}")
    print(f"{ok} valid, {len(invalid)} invalid, {len(missing)} missing "
          f"of {len(manifest['requests'])} requests")  # fmt: skip
    for line in invalid:
        print(f"  invalid {line}")
    if missing:
        print(f"  missing: {' '.join(missing[:40])}{' ...' if len(missing) > 40 else ''}")


# -- replay --------------------------------------------------------------------------------


@dataclass
class Replayer:
    """The replay stub's state: answers by key; requests without one are refused."""

    answers: dict[str, str]
    recorded: dict[str, str]
    served: list[str] = field(default_factory=list)
    unanswered: list[Json] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: Json) -> tuple[int, Json]:
        key = request_key(body.get("messages"))
        text = self.answers.get(key)
        with self.lock:
            if text is None:
                telescope = TELESCOPE_RE.search(message_text(body, "user"))
                self.unanswered.append({"key": key, "recorded_n": self.recorded.get(key),
                                        "telescope": telescope[1] if telescope else None,
                                        "messages": len(body.get("messages", []))})  # fmt: skip
                where = "recorded" if key in self.recorded else "not recorded"
                return 500, _error(f"no answer for this request ({where}, key {key[:12]})",
                                   "server_error")  # fmt: skip
            self.served.append(key)
        return 200, chat_completion(body, wire_content(text))


def cmd_replay(args: argparse.Namespace) -> None:
    from amc.output.writers import ResultWriter

    meta, entries = load_recording(args.source)
    out: Path = args.out.resolve()
    answers, problems = load_answers(args.answers, args.manifest)
    recorded = {e.key: e.n for e in entries}
    relevant = {k: v for k, v in answers.items() if k in recorded}
    print(f"{len(relevant)} answers for the {len(recorded)} recorded requests "
          f"({len(answers) - len(relevant)} answers belong to other recordings)")  # fmt: skip
    for problem in problems:
        print(f"  {problem}")
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "home", ignore_errors=True)
    prices = json.loads(args.prices) if args.prices else json.loads(meta["settings"]["AMC_PRICES"])
    env = amc_env(out / "home", meta["prompt"], prices, concurrency=args.concurrency)
    count_tokens("warm up")
    replayer = Replayer(answers, recorded)
    inputs = [Path(p) for p in meta["inputs"]]
    with StubServer(replayer) as server:
        _, status = amc_classify(
            inputs, server.api_base, out / "predictions.jsonl", env, out / "replay.log"
        )
    results = read_results(out / "predictions.jsonl")
    with ResultWriter(out / "predictions.csv", "csv") as writer:
        for result in results:
            writer.write(result)
    failed = [{"pair_id": r.pair_id, "kind": r.error.kind, "error": r.error.message[:300]}
              for r in results if r.error is not None]  # fmt: skip
    write_json(out / "replay.json", {
        "recording": str(args.source.resolve()),
        "prompt": meta["prompt"],
        "exit_status": status,
        "pairs": len(results),
        "requests_answered": len(replayer.served),
        "requests_unanswered": replayer.unanswered,
        "failed_pairs": failed,
        "answer_problems": problems,
    })  # fmt: skip
    print(f"\nreplayed {len(replayer.served)} requests; {len(replayer.unanswered)} had no "
          f"answer (HTTP 500); {len(failed)} of {len(results)} pairs failed")  # fmt: skip
    for item in replayer.unanswered[:20]:
        print(f"  no answer: recorded request {item['recorded_n'] or '(not recorded)'} "
              f"{item['telescope']} key {item['key'][:12]}")  # fmt: skip
    print(f"wrote {out / 'predictions.jsonl'} and {out / 'predictions.csv'}")


# -- score ---------------------------------------------------------------------------------


def solution_frame(path: Path) -> Any:
    """The labels as a Kaggle solution table: a solution CSV as is, else the labelled
    pairs of an amc input (TRACS parquet, JSONL, ...) read by amc's own reader."""
    import pandas as pd

    from amc.cli.common import registry_of
    from amc.domain.metrics import LABEL_COLUMNS
    from amc.ingest.pairs import read_labelled_pairs
    from amc.settings import load_settings
    from eval.scoring import read_label_table

    if path.suffix.lower() == ".csv":
        return read_label_table(path, role="solution")
    settings = load_settings(environ={})
    pairs = read_labelled_pairs([path], registry_of(settings), settings)
    rows = [{"Id": p.pair_id, "telescope": p.telescope,
             **{c: bool(getattr(p.gold, c)) for c in LABEL_COLUMNS}} for p in pairs]  # fmt: skip
    return pd.DataFrame(rows)


def submission_frame(path: Path) -> tuple[Any, Json]:
    """A predictions CSV of amc as a submission (failed pairs all-false), and its totals."""
    import pandas as pd

    from amc.domain.metrics import LABEL_COLUMNS, parse_label_value

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    failed = frame["error_kind"].astype(str).str.len() > 0
    sub = frame[["Id", "telescope"]].copy()
    for column in LABEL_COLUMNS:
        sub[column] = [bool(parse_label_value(v)) for v in frame[column]]
    cost = pd.to_numeric(frame["cost_usd"], errors="coerce").fillna(0.0).sum()
    prompt = ",".join(sorted({p for p in frame["prompt"] if p})) or "-"
    tiers = frame["tier"].value_counts().to_dict()
    return sub, {"failed": int(failed.sum()), "cost_usd": float(cost), "prompt": prompt,
                 "tiers": tiers}  # fmt: skip


def _f(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def cmd_score(args: argparse.Namespace) -> None:
    from eval.scoring import score, score_markdown

    solution = solution_frame(args.labels)
    header = ["predictions", "prompt", "pairs", "failed", "cell macro-F1", "sklearn macro-F1",
              "official macro-F1", "micro-F1", "F1 sci", "F1 instr", "F1 mention",
              "F1 not_tel", "cost $"]  # fmt: skip
    rows: list[list[str]] = []
    details: list[tuple[str, str]] = []
    for pred in args.pred:
        sub, totals = submission_frame(pred)
        report = score(solution, sub)
        per_label = [_f(s.f1) for s in report.per_label]
        name = args.name[len(rows)] if len(args.name) > len(rows) else str(pred.parent)
        rows.append([name, totals["prompt"], str(report.n_rows), str(totals["failed"]),
                     _f(report.cell_macro_f1), _f(report.sklearn_macro_f1),
                     _f(report.official_macro_f1), _f(report.micro_f1), *per_label,
                     f"{totals['cost_usd']:.4f}"])  # fmt: skip
        details.append((name, score_markdown(report)))
    print(f"labels: {args.labels}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.detail:
        for name, text in details:
            print(f"\n### {name}\n\n{text}")


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="command", required=True)

    record = sub.add_parser("record", help="record amc's chat requests for a prompt")
    record.add_argument("--prompt", required=True, choices=PROMPTS)
    record.add_argument("--out", required=True, type=Path, help="recording folder")
    record.add_argument("--prices", default=json.dumps(DEFAULT_PRICES), help="AMC_PRICES JSON")
    record.add_argument("--force", action="store_true", help="replace an existing recording")
    record.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")

    bundle = sub.add_parser("bundle", help="write request files for blind answerers")
    bundle.add_argument("--from", dest="sources", nargs="+", required=True, type=Path,
                        metavar="DIR", help="recording folders (same prompt)")  # fmt: skip
    bundle.add_argument("--out", required=True, type=Path, help="bundle folder")
    bundle.add_argument("--parts", type=int, default=1)
    bundle.add_argument("--seed", type=int, default=0, help="order and split of the requests")
    bundle.add_argument("--force", action="store_true", help="replace a bundle with answers")

    check = sub.add_parser("check", help="list a bundle's missing and invalid answers")
    check.add_argument("--bundle", required=True, type=Path)

    replay = sub.add_parser("replay", help="replay answers through amc's LLM tier")
    replay.add_argument("--from", dest="source", required=True, type=Path, metavar="DIR")
    replay.add_argument("--answers", nargs="+", required=True, type=Path, metavar="DIR")
    replay.add_argument("--manifest", type=Path, help="bundle manifest.json (default: found "
                        "beside the answers' part folder)")  # fmt: skip
    replay.add_argument("--out", required=True, type=Path)
    replay.add_argument("--prices", help="AMC_PRICES JSON (default: the recording's)")
    replay.add_argument("--concurrency", type=int, default=4)

    score = sub.add_parser("score", help="score predictions against labels")
    score.add_argument(
        "--labels",
        required=True,
        type=Path,
        help="labelled amc input (parquet, jsonl) or Kaggle solution CSV",
    )
    score.add_argument(
        "--pred",
        required=True,
        nargs="+",
        type=Path,
        help="predictions.csv files (one table row each)",
    )
    score.add_argument("--name", nargs="*", default=[], help="row names, in --pred order")
    score.add_argument("--detail", action="store_true", help="also the per-label/cell tables")

    args = parser.parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], None]] = {
        "record": cmd_record, "bundle": cmd_bundle, "check": cmd_check,
        "replay": cmd_replay, "score": cmd_score,
    }  # fmt: skip
    commands[args.command](args)


if __name__ == "__main__":
    main()
