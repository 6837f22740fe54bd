"""The bundled labelled sample ``amc/data/sample.jsonl``: schema, labels, coverage, traps.

The file is read with plain ``json`` on purpose (no dependency on the ingestion
module). Hits come from the bundled registry: every science / instrumentation /
mention row must contain a real (non-shared alias or instrument) hit of its
telescope, and every not_telescope row must contain hits that are all traps or
grants. Where the registry misses a realistic trap, the row is marked
``xfail(strict=True)`` with the reason, so fixing the registry makes the test
fail until the mark is removed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import amc
from amc.domain.models import LABELS, NONE_TELESCOPE, Hit, Paper, TelescopeLabels
from amc.registry import Registry, load_registry
from amc.snippets import find_hits

SAMPLE = Path(amc.__file__).parent / "data" / "sample.jsonl"

TEXT_KEYS = ("title", "abstract", "body", "acknowledgments", "grants")
LABEL_KEYS = tuple(label.value for label in LABELS)
KEYS = ("bibcode", "telescope", "author", "year", *TEXT_KEYS, *LABEL_KEYS)
TELESCOPES = {"CHANDRA", "HST", "JWST", "TESS", "KEPLER", "K2", "GALEX", "PANSTARRS", "ROMAN"}
BIBCODE_RE = re.compile(r"^(\d{4})[A-Za-z&.]{5}[\d.]{4}[A-Za-z.][\d.]{4}[A-Z]$")

#: not_telescope rows whose trap the registry does not (yet) recognise
#: trap rows whose telescope word the registry never matches at all (so no hit is
#: the right outcome): Keck's NIRSPEC is kept out by the case-sensitive JWST "NIRSpec"
UNMATCHED_TRAPS = {"2021ApJ...915...66D_JWST"}
#: trap rows the registry still gets wrong (strict xfail: fixing the registry must
#: remove the entry); empty now
KNOWN_REGISTRY_GAPS: dict[str, str] = {}


@cache
def rows() -> tuple[dict[str, Any], ...]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


@cache
def registry() -> Registry:
    return load_registry()


def pid(row: dict[str, Any]) -> str:
    return f"{row['bibcode']}_{row['telescope']}"


def paper_of(row: dict[str, Any]) -> Paper:
    return Paper(
        bibcode=row["bibcode"],
        year=row["year"],
        authors=[a for a in row["author"].split("; ") if a],
        **{key: row[key] for key in TEXT_KEYS},
    )


def hits_of(row: dict[str, Any]) -> list[Hit]:
    return find_hits(paper_of(row), registry().get(row["telescope"]))


def is_real(hit: Hit) -> bool:
    return hit.kind in ("alias", "instrument") and not hit.shared


def rows_where(predicate) -> list[Any]:  # type: ignore[no-untyped-def]
    out = []
    for row in rows():
        if predicate(row):
            reason = KNOWN_REGISTRY_GAPS.get(pid(row))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(row, id=pid(row), marks=marks))
    return out


def is_trap(row: dict[str, Any]) -> bool:
    return bool(row["not_telescope"])


def is_positive(row: dict[str, Any]) -> bool:
    return bool(row["science"] or row["instrumentation"] or row["mention"])


# ------------------------------------------------------------------ file and schema


def test_file_is_small_and_has_enough_rows() -> None:
    assert SAMPLE.stat().st_size < 400_000
    assert len(rows()) >= 48
    assert len({row["bibcode"] for row in rows()}) >= 30


def test_schema_and_types() -> None:
    for row in rows():
        where = pid(row)
        assert tuple(row) == KEYS, where
        assert isinstance(row["bibcode"], str) and BIBCODE_RE.match(row["bibcode"]), where
        assert isinstance(row["year"], int) and not isinstance(row["year"], bool), where
        assert str(row["year"]) == row["bibcode"][:4], where
        assert row["telescope"] in TELESCOPES | {NONE_TELESCOPE}, where
        assert row["telescope"] in registry(), where
        assert isinstance(row["author"], str) and row["author"], where
        for key in TEXT_KEYS:
            assert isinstance(row[key], str), (where, key)
        for key in LABEL_KEYS:
            assert isinstance(row[key], bool), (where, key)
        assert row["title"].strip(), where
        paper_of(row)  # builds a valid Paper


def test_pairs_are_unique_and_papers_repeat_identical_text() -> None:
    ids = [pid(row) for row in rows()]
    assert len(ids) == len(set(ids))
    text_by_bibcode: dict[str, tuple[Any, ...]] = {}
    for row in rows():
        text = tuple(row[k] for k in ("author", "year", *TEXT_KEYS))
        assert text_by_bibcode.setdefault(row["bibcode"], text) == text, row["bibcode"]


def test_some_bibcodes_have_an_ampersand() -> None:
    assert any("&" in row["bibcode"] for row in rows())


# ------------------------------------------------------------------ labels


def test_labels_already_satisfy_precedence() -> None:
    for row in rows():
        raw = {key: row[key] for key in LABEL_KEYS}
        assert not TelescopeLabels.conflicts(**raw), pid(row)
        assert TelescopeLabels(**raw).as_dict() == raw, pid(row)


def test_none_rows_are_all_false() -> None:
    none_rows = [row for row in rows() if row["telescope"] == NONE_TELESCOPE]
    assert len(none_rows) >= 2
    for row in none_rows:
        assert not any(row[key] for key in LABEL_KEYS), pid(row)


def test_real_telescope_rows_have_a_positive_label() -> None:
    for row in rows():
        if row["telescope"] != NONE_TELESCOPE:
            assert any(row[key] for key in LABEL_KEYS), pid(row)


def test_label_counts_and_balance() -> None:
    counts = Counter(key for row in rows() for key in LABEL_KEYS if row[key])
    assert counts["science"] >= 12
    assert counts["instrumentation"] >= 5
    assert counts["mention"] >= 10
    assert counts["not_telescope"] >= 10
    assert any(row["science"] and row["instrumentation"] for row in rows())
    assert any(row["instrumentation"] and not row["science"] for row in rows())
    # science is the largest class, as in TRACS
    assert counts["science"] == max(counts.values())


def test_label_coverage_by_telescope() -> None:
    science = {row["telescope"] for row in rows() if row["science"]}
    assert {"HST", "CHANDRA", "JWST", "TESS", "KEPLER", "GALEX", "PANSTARRS"} <= science
    traps = {row["telescope"] for row in rows() if row["not_telescope"]}
    assert {"HST", "CHANDRA", "JWST", "KEPLER", "K2", "ROMAN"} <= traps
    mentions = {row["telescope"] for row in rows() if row["mention"]}
    assert {"HST", "CHANDRA", "JWST", "ROMAN"} <= mentions


# ------------------------------------------------------------------ realistic input


def test_missing_sections_occur() -> None:
    assert any(not row["body"] and row["abstract"] for row in rows()), "an empty-body row"
    assert any(not row["abstract"] and row["body"] for row in rows()), "a row with no abstract"
    assert any(not row["acknowledgments"] for row in rows())
    assert any(row["grants"] for row in rows())


def test_text_looks_like_real_papers() -> None:
    for row in rows():
        if row["abstract"]:
            assert 90 <= len(row["abstract"].split()) <= 260, pid(row)
        if row["body"]:
            assert 1_200 <= len(row["body"]) <= 8_000, pid(row)
    bodies = " ".join(row["body"] for row in rows())
    assert "$" in bodies and "\\citep{" in bodies and "~" in bodies
    assert re.search(r"\(\w[\w\s&\\.]+ et al\. \d{4}\)", bodies)
    acks = " ".join(row["acknowledgments"] for row in rows())
    assert "NAS 5-26555" in acks


def test_a_row_names_the_telescope_only_outside_the_body() -> None:
    found = []
    for row in rows():
        if row["telescope"] == NONE_TELESCOPE or not row["body"] or not is_positive(row):
            continue
        hits = hits_of(row)
        if hits and not any(h.field == "body" for h in hits):
            found.append(pid(row))
    assert found


# ------------------------------------------------------------------ hits against the registry


@pytest.mark.parametrize("row", rows_where(is_positive))
def test_positive_rows_have_a_real_hit(row: dict[str, Any]) -> None:
    hits = hits_of(row)
    assert any(is_real(h) for h in hits), [(h.text, h.kind, h.shared) for h in hits]


@pytest.mark.parametrize("row", rows_where(is_trap))
def test_trap_rows_have_only_trap_or_grant_hits(row: dict[str, Any]) -> None:
    hits = hits_of(row)
    if pid(row) in UNMATCHED_TRAPS:
        assert not hits
    else:
        assert hits, "a not_telescope row should name the telescope somewhere"
    real = [(h.field, h.text) for h in hits if is_real(h)]
    assert not real, f"real hits in a not_telescope row: {real}"


def test_none_rows_name_no_telescope() -> None:
    for row in rows():
        if row["telescope"] == NONE_TELESCOPE:
            paper = paper_of(row)
            assert not any(find_hits(paper, t) for t in registry()), pid(row)


def test_known_gaps_name_existing_trap_rows() -> None:
    traps = {pid(row) for row in rows() if row["not_telescope"]}
    assert set(KNOWN_REGISTRY_GAPS) | UNMATCHED_TRAPS <= traps
