"""The pipeline end to end on files: pairs, candidates, bad input, big input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amc.classify.stream import classify_papers
from amc.domain.errors import InputError, UnknownTelescopeError
from amc.ingest.pairs import read_pairs
from amc.registry import load_registry
from amc.settings import load_settings

REGISTRY = load_registry()


def settings(**flags: object):  # type: ignore[no-untyped-def]
    return load_settings(environ={}, **flags)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_rows_naming_a_telescope_become_one_pair_each(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"bibcode": "2020A", "telescope": "hst", "body": "We observed with HST/WFC3."},
            {"bibcode": "2020A", "telescope": "JWST", "body": "We observed with HST/WFC3."},
        ],
    )
    results = list(classify_papers([path], REGISTRY, settings()))
    assert [c.pair_id for c in results] == ["2020A_HST", "2020A_JWST"]
    assert results[0].labels is not None and results[0].labels.science
    assert results[1].labels is not None and results[1].labels.not_telescope


def test_telescope_option_filters_rows_that_name_one(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"bibcode": "2020A", "telescope": "HST", "body": "HST data."},
            {"bibcode": "2020A", "telescope": "JWST", "body": "HST data."},
        ],
    )
    pairs = list(read_pairs([path], REGISTRY, settings(), ["JWST"]))
    assert [p.pair_id for p in pairs] == ["2020A_JWST"]


def test_text_without_telescope_gets_every_candidate(tmp_path: Path) -> None:
    path = tmp_path / "paper.txt"
    path.write_text(
        "We observed the cluster with the Chandra X-ray Observatory (ObsID 1234). "
        "We adopt a Hubble constant of 70 km/s/Mpc. The cosmic web is cosine-shaped.",
        encoding="utf-8",
    )
    results = {c.telescope: c for c in classify_papers([path], REGISTRY, settings())}
    assert set(results) == {"CHANDRA", "HST"}
    assert results["CHANDRA"].labels is not None and results["CHANDRA"].labels.science
    assert results["HST"].labels is not None and results["HST"].labels.not_telescope
    assert results["CHANDRA"].bibcode == "paper"


def test_paper_naming_no_telescope_gets_a_none_row(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_text("A purely theoretical study of stellar winds.", encoding="utf-8")
    (result,) = classify_papers([path], REGISTRY, settings())
    assert result.telescope == "NONE"
    assert result.labels is not None and not result.labels.positives


def test_explicit_telescopes_for_text_input(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("Future JWST spectra will test this.", encoding="utf-8")
    results = list(classify_papers([path], REGISTRY, settings(), ["JWST", "TESS"]))
    assert [c.pair_id for c in results] == ["p_JWST", "p_TESS"]
    assert results[0].labels is not None and results[0].labels.mention
    assert results[1].labels is not None and results[1].labels.not_telescope


def test_unknown_telescope_option_names_the_known_ones() -> None:
    with pytest.raises(UnknownTelescopeError) as info:
        list(read_pairs([], REGISTRY, settings(), ["SPITZER"]))
    assert "SPITZER" in str(info.value) and "HST" in str(info.value)


def test_unknown_telescope_in_a_row_stops_by_default_and_is_recorded_when_skipping(
    tmp_path: Path,
) -> None:
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"bibcode": "A", "telescope": "SPITZER", "body": "Spitzer IRAC data."},
            {"bibcode": "B", "telescope": "HST", "body": "HST data."},
        ],
    )
    with pytest.raises(UnknownTelescopeError, match=r"in\.jsonl, row 1.*known telescopes"):
        list(classify_papers([path], REGISTRY, settings()))
    results = list(classify_papers([path], REGISTRY, settings(skip_bad_rows=True)))
    assert [c.pair_id for c in results] == ["A_SPITZER", "B_HST"]
    assert results[0].error is not None and results[0].error.kind == "unknown_telescope"
    assert "CHANDRA" in results[0].error.message
    assert results[1].ok


def test_bad_rows_stop_or_are_recorded(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"bibcode": "A", "telescope": "HST", "body": "HST data"}\n'
        b'{"bibcode": "B", "telescope": "HST", "year": "soon"}\n'
        b'{"bibcode": "C", "telescope": "HST", "body": "caf\xe9 HST"}\n'
        b'{"bibcode": "D", "telescope": "HST", "body": ""}\n'
    )
    with pytest.raises(InputError, match=r"in\.jsonl.*row 2"):
        list(classify_papers([path], REGISTRY, settings()))
    results = list(classify_papers([path], REGISTRY, settings(skip_bad_rows=True)))
    assert len(results) == 4
    assert [c.ok for c in results] == [True, False, False, True]
    assert results[1].error is not None and "year" in results[1].error.message
    assert results[2].error is not None and "row 3" in results[2].error.message
    # an empty body is not an error: nothing names the telescope
    assert results[3].labels is not None and results[3].labels.not_telescope


def test_empty_files_give_no_pairs_and_no_crash(tmp_path: Path) -> None:
    for name in ("empty.jsonl", "empty.csv", "empty.json"):
        (tmp_path / name).write_bytes(b"")
        assert list(classify_papers([tmp_path / name], REGISTRY, settings())) == []


def test_five_megabyte_body_is_classified(tmp_path: Path) -> None:
    filler = "The gas temperature rises with radius in this model. " * 100_000
    body = filler[:2_500_000] + " We observed the nucleus with HST/STIS. " + filler[:2_500_000]
    assert len(body) > 5_000_000
    path = write_jsonl(
        tmp_path / "big.jsonl", [{"bibcode": "BIG", "telescope": "HST", "body": body}]
    )
    (result,) = classify_papers([path], REGISTRY, settings())
    assert result.ok and result.labels is not None
    assert not result.labels.not_telescope
    assert result.evidence and "HST/STIS" in result.evidence[0].quote
    ev = result.evidence[0]
    assert ev.start is not None and body[ev.start : ev.end] == ev.quote


def test_one_broken_pair_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import amc.classify.rules as rules

    real = rules.classify_rules

    def flaky(pair, *args, **kwargs):  # type: ignore[no-untyped-def]
        if pair.paper.bibcode == "BAD":
            raise ZeroDivisionError("boom")
        return real(pair, *args, **kwargs)

    monkeypatch.setattr(rules, "classify_rules", flaky)
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"bibcode": "BAD", "telescope": "HST", "body": "HST"},
            {"bibcode": "GOOD", "telescope": "HST", "body": "HST"},
        ],
    )
    results = list(classify_papers([path], REGISTRY, settings()))
    assert results[0].error is not None and results[0].error.kind == "ZeroDivisionError"
    assert results[1].ok
