"""The LLM tier's local parts: quotes, prompts, schema, ranking, cache keys, retry waits."""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import pytest

from amc.classify.llm.cache import AnswerCache, cache_key
from amc.classify.llm.errors import PromptError
from amc.classify.llm.planning import prepare_registry
from amc.classify.llm.prompts import load_prompt
from amc.classify.llm.provider.protocol import retry_after_s as _retry_after_s
from amc.classify.llm.quotes import QuoteLocator, normalise
from amc.classify.llm.schema import PairAnswer, answer_schema, paper_answer_model, parse_answer
from amc.domain.models import Paper
from amc.domain.text import QUOTE_FOLD as _TRANSLATE
from amc.registry import load_registry
from amc.registry.counting import _merged_lookahead
from amc.snippets import find_snippets
from amc.snippets.ranking import rank_snippets, select_snippets, trim_snippet

# -- quotes -------------------------------------------------------------------------

BODY = (
    "Intro text.  We obtained \u201cdeep\u201d HST/WFC3\nobservations of the spectro-\n"
    "graph field \ufb01rst\u2014then more. End."
)


DEEP = "We obtained \u201cdeep\u201d HST/WFC3\nobservations"
SPECTRO = "the spectro-\ngraph field \ufb01rst\u2014then more"


@pytest.mark.parametrize(
    ("quote", "original"),
    [
        ('we obtained "deep" hst/wfc3 observations', DEEP),
        ("the spectrograph field first-then more", SPECTRO),
        ("We obtained ... the spectrograph", DEEP + " of the spectro-\ngraph"),
    ],
)
def test_quote_found_with_offsets_into_the_original(quote: str, original: str) -> None:
    evidence = QuoteLocator(Paper(bibcode="Q", body=BODY)).locate(quote, "science")
    assert evidence.verified and evidence.field == "body"
    assert BODY[evidence.start : evidence.end] == original
    assert evidence.supports == "science"


@pytest.mark.parametrize("quote", ["We observed it with JWST and MIRI", "HST", ""])
def test_missing_or_too_short_quote_is_unverified(quote: str) -> None:
    evidence = QuoteLocator(Paper(bibcode="Q", body=BODY)).locate(quote)
    assert not evidence.verified and evidence.start is None


@pytest.mark.parametrize(
    ("quote", "original"),
    [
        ("We obtained \u201cdeep\u201d HST/WFC3\nobservations", DEEP),  # as it stands
        (" 'We obtained \u201cdeep\u201d HST/WFC3  observations' ", DEEP),  # other white space
    ],
)
def test_quote_as_it_stands_is_found_without_normalising_the_paper(
    quote: str, original: str
) -> None:
    locator = QuoteLocator(Paper(bibcode="Q", body=BODY))
    evidence = locator.locate(quote, "science")
    assert evidence.verified and BODY[evidence.start : evidence.end] == original
    assert locator._norm == {}  # the paper was never normalised: ~1 ms saved per answer


def test_quote_searched_in_every_field() -> None:
    paper = Paper(bibcode="Q", body=BODY, acknowledgments="Based on observations with HST.")
    evidence = QuoteLocator(paper).locate("based on observations with HST")
    assert evidence.field == "acknowledgments" and evidence.start == 0


# -- prompts ------------------------------------------------------------------------


def write_prompt(tmp_path: Path, user: str, variables: str) -> Path:
    text = (
        "name: t.v1\nmessages:\n  system:\n    variables: []\n    text: hello\n"
        f"  user:\n    variables: [{variables}]\n    text: '{user}'\n"
    )
    (tmp_path / "t.v1.yaml").write_text(text)
    return tmp_path


def test_prompt_undeclared_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"undeclared variable\(s\) \['b'\]"):
        load_prompt("t.v1", write_prompt(tmp_path, "${a} ${b}", "a"))


def test_prompt_unused_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"declares unused variable\(s\) \['b'\]"):
        load_prompt("t.v1", write_prompt(tmp_path, "${a}", "a, b"))


def test_prompt_render_checks_values(tmp_path: Path) -> None:
    prompt = load_prompt("t.v1", write_prompt(tmp_path, "x=${a} {json: 1}", "a"))
    assert prompt.render("user", a="1") == "x=1 {json: 1}"
    with pytest.raises(PromptError, match="missing"):
        prompt.render("user")
    with pytest.raises(PromptError, match="unknown"):
        prompt.render("user", a="1", c="2")


def test_missing_prompt_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"nope\.yaml does not exist"):
        load_prompt("nope", tmp_path)


def test_shipped_prompts_load_and_hash() -> None:
    pair, paper = load_prompt("classify_pair.v1"), load_prompt("classify_paper.v1")
    assert len(pair.hash) == 16 and pair.hash != paper.hash
    assert "not_telescope" in pair.messages["system"].text


# -- schema -------------------------------------------------------------------------


def test_schema_is_strict_and_inlined() -> None:
    schema = answer_schema(PairAnswer)
    assert "$defs" not in str(schema) and "$ref" not in str(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])


def test_paper_schema_restricts_telescopes() -> None:
    model = paper_answer_model(("HST", "JWST"))
    good = '{"results": [{"telescope": "TESS", "science": true}]}'
    with pytest.raises(ValueError, match="telescope"):
        parse_answer(good, model)


def test_parse_tolerates_code_fence_and_prose() -> None:
    text = (
        'Here you go:\n```json\n{"science": false, "instrumentation": false, "mention": true,'
        ' "not_telescope": false, "confidence": {"science": 0, "instrumentation": 0,'
        ' "mention": 1, "not_telescope": 0}, "evidence": [], "reason": "r"}\n```'
    )
    assert parse_answer(text, PairAnswer).mention is True


def test_a_truncated_answer_is_called_truncated_not_missing() -> None:
    with pytest.raises(ValueError, match="cut off") as cut:
        parse_answer('{"science": true, "instrumentation": false, "mention": fal', PairAnswer)
    assert "no JSON object" not in str(cut.value)
    with pytest.raises(ValueError, match="no JSON object"):
        parse_answer("Sure! It was used for science.", PairAnswer)


# -- ranking ------------------------------------------------------------------------


def test_real_science_snippet_ranks_above_traps_and_one_trap_is_kept() -> None:
    registry = load_registry()
    filler = " ".join(f"Sentence number {i} says nothing in particular." for i in range(12))
    body = (
        f"We adopt the Hubble constant from Planck. {filler} "
        f"We observed the cluster with the Hubble Space Telescope (program GO 12345). {filler} "
        "Earlier studies mentioned HST in passing."
    )
    telescope = registry.get("HST")
    snippets = find_snippets(Paper(bibcode="R", body=body), telescope, window=1)
    ranked = rank_snippets(snippets, telescope, registry.cues)
    assert "We observed" in ranked[0].text
    assert ranked[-1].only_false_positive
    chosen = select_snippets(ranked, max_snippets=2, max_chars=2000, max_total_chars=10_000)
    assert len(chosen) == 2 and chosen[-1].only_false_positive


def test_ranking_scans_are_compiled_before_the_first_paper() -> None:
    """A worker says it is ready after ``prepare_registry``: ranking a paper then
    compiles nothing more (the one scan counting each telescope's cue lists)."""
    registry = load_registry()
    _merged_lookahead.cache_clear()
    prepare_registry(registry)
    compiled = _merged_lookahead.cache_info().misses
    assert compiled >= 3  # HST, JWST, Chandra at least have a scan of their own
    body = "We observed the field with HST, JWST and Chandra; the data were reduced."
    paper = Paper(bibcode="W", body=body)
    for key in ("HST", "JWST", "CHANDRA"):
        telescope = registry.get(key)
        assert rank_snippets(find_snippets(paper, telescope), telescope, registry.cues)
    assert _merged_lookahead.cache_info().misses == compiled


def test_trim_keeps_offsets_valid() -> None:
    registry = load_registry()
    body = "word " * 400 + "We observed it with HST in 2020. " + "more " * 400
    paper = Paper(bibcode="T", body=body)
    [snippet] = find_snippets(paper, registry.get("HST"), window=50)
    cut = trim_snippet(snippet, 200)
    assert len(cut.text) <= 200 and "HST" in cut.text
    assert body[cut.start : cut.end] == cut.text


# -- cache and retries ----------------------------------------------------------------


def test_cache_key_depends_on_every_part(tmp_path: Path) -> None:
    base = cache_key("m", "p", [{"role": "user", "content": "x"}], {"t": 0})
    assert base != cache_key("m2", "p", [{"role": "user", "content": "x"}], {"t": 0})
    assert base != cache_key("m", "p2", [{"role": "user", "content": "x"}], {"t": 0})
    assert base != cache_key("m", "p", [{"role": "user", "content": "y"}], {"t": 0})
    assert base != cache_key("m", "p", [{"role": "user", "content": "x"}], {"t": 1})
    cache = AnswerCache(tmp_path / "c.sqlite")
    cache.put(base, "m", "p", "answer")
    assert cache.get(base) == "answer" and cache.get("other") is None and len(cache) == 1


def test_cache_commits_without_a_sync_each_and_keeps_answers_across_processes(
    tmp_path: Path,
) -> None:
    """An fsync per answer (~9 ms here) on the event loop's thread capped a run at ~110
    answers/s; WAL with synchronous=NORMAL syncs at checkpoints only. What a process wrote
    is still there for the next one (only a machine crash may lose the last answers)."""
    cache = AnswerCache(tmp_path / "c.sqlite")
    assert cache._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL, not FULL
    cache.put("k", "m", "p", "answer")
    cache.close()
    script = (
        "import sys; from pathlib import Path; from amc.classify.llm.cache import AnswerCache;"
        "print(AnswerCache(Path(sys.argv[1])).get('k'))"
    )
    seen = subprocess.run([sys.executable, "-c", script, str(tmp_path / "c.sqlite")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert seen.stdout.strip() == "answer"


def test_a_cache_another_process_is_setting_up_is_waited_for(tmp_path: Path) -> None:
    """Two workers' first tasks open a new cache file at once: switching it to WAL needs
    the file to itself, and the one that does not get it saw "database is locked" (its
    task failed, its papers waited for the sweep). Setting up is retried while the other
    holds the file (here, longer than SQLite's own 5 s wait)."""
    path = tmp_path / "c.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE setting_up (x)")
    other.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(6.0, other.execute, ["COMMIT"])
    release.start()
    try:
        cache = AnswerCache(path)
    finally:
        release.join()
    cache.put("k", "m", "p", "answer")
    assert cache.get("k") == "answer"
    assert cache._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class _Response:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


class _RateLimited(Exception):
    def __init__(self, value: str) -> None:
        self.response = _Response({"retry-after": value})


def test_retry_after_seconds_and_http_date() -> None:
    assert _retry_after_s(_RateLimited("2.5")) == 2.5
    assert _retry_after_s(_RateLimited("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # in the past
    assert _retry_after_s(_RateLimited("soon")) is None


# -- normalisation: the fast path against the character-by-character definition -------------


def reference_normalise(text: str) -> tuple[str, list[int]]:
    """The definition, one character at a time (what ``normalise`` did before numpy)."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        for out in unicodedata.normalize("NFKC", char).translate(_TRANSLATE).lower():
            if out.isspace() or unicodedata.category(out) == "Cf":
                if out.isspace() and chars and chars[-1] != " ":
                    chars.append(" ")
                    offsets.append(i)
                continue
            chars.append(out)
            offsets.append(i)
    joined = "".join(chars)
    drop: set[int] = set()
    for m in re.finditer(r"(?<=[a-z])- (?=[a-z])", joined):
        if "\n" in text[offsets[m.start()] : offsets[m.start() + 1] + 1]:
            drop.update((m.start(), m.start() + 1))
    keep = [i for i in range(len(joined)) if i not in drop]
    return "".join(joined[i] for i in keep), [offsets[i] for i in keep]


ALPHABET = [
    *"abcXYZ -\n\t~`.,", "\u00a0", "\ufb01", "\u2013", "\u201c", "\u00ad", "\u200b",
    "\u00e9", "e\u0301", "\u2126", "\x1c", "\u3000", "\u2212", "\u00bd", "\x00",
]  # fmt: skip


def test_fast_normalise_equals_the_definition_on_random_text() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        text = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 60)))
        fast = normalise(text)
        assert (fast.text, fast.offsets.tolist()) == reference_normalise(text), repr(text)


DEV_PAPERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev-papers"


@pytest.mark.skipif(not DEV_PAPERS.is_dir(), reason="dev-papers data not present")
def test_fast_normalise_equals_the_definition_on_real_papers() -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(DEV_PAPERS / "papers.parquet").to_pylist()
    texts = [
        str(row[field]) for row in table for field in ("body", "acknowledgments") if row.get(field)
    ]
    assert len(texts) >= 10
    for text in texts:
        fast = normalise(text)
        assert (fast.text, fast.offsets.tolist()) == reference_normalise(text)
