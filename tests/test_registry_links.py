"""Link patterns are registry data: bundled, validated on load, extended by a user file."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from amc.domain.errors import RegistryError
from amc.domain.models import Paper
from amc.links import extract_links
from amc.registry import Registry, load_registry
from amc.registry.link_matching import MIN_MASK_DIGITS, _id_patterns
from amc.registry.links import LinkIds
from amc.registry.regex_shape import case_exact_literals, leading_digits

XMM_YAML = r"""
telescopes:
  XMM:
    name: XMM-Newton
    aliases: [{term: XMM-Newton, case_sensitive: true}, {term: XMM, case_sensitive: true}]
    instruments: [{term: EPIC, case_sensitive: true}, {term: RGS, case_sensitive: true}]
    link_instruments:
      EPIC:
        names: [{term: EPIC, case_sensitive: true}, European Photon Imaging Camera]
        modes: [{term: EPIC-pn, case_sensitive: true}, {term: EPIC-MOS, case_sensitive: true}]
      RGS: {names: [{term: RGS, case_sensitive: true}, Reflection Grating Spectrometer]}
    link_ids:
      obsid:
        keywords: ['Obs(?:ervation)?[\s~.\-]*IDs?\b']
        number: '0[0-9]{9}'
        keep_zeros: true
    link_dois: ['10.5270']
link_context:
  other_facilities: ['(?-i:\b(?:Swift|NuSTAR|Suzaku)\b)']
"""

PAPER = Paper(
    bibcode="2024XMM..1..1A",
    body=(
        "We analysed the XMM-Newton EPIC-pn data of the cluster (ObsIDs 0801234501 and "
        "0801234601), and the Chandra ObsID 4977. The XMM data are at doi:10.5270/esa-abc123."
    ),
)


def test_the_bundled_registry_has_the_canonical_instruments_and_id_patterns() -> None:
    registry = load_registry()
    assert set(registry.get("HST").link_instruments) >= {
        "WFC3",
        "ACS",
        "STIS",
        "COS",
        "NICMOS",
        "WFPC2",
        "FGS",
    }
    assert set(registry.get("JWST").link_instruments) == {
        "NIRCam",
        "NIRSpec",
        "MIRI",
        "NIRISS",
        "FGS",
    }
    assert set(registry.get("CHANDRA").link_instruments) == {"ACIS", "HRC", "HETG", "LETG"}
    assert set(registry.get("CHANDRA").link_ids) == {"obsid", "programme"}
    assert registry.get("HST").link_dois == ["10.17909"]
    assert registry.get("CHANDRA").link_dois == ["10.25574"]
    for telescope in registry:  # every pattern compiles
        assert telescope.link_patterns is not None


def test_a_user_file_adds_a_missions_ids_instruments_and_dois_without_code(
    tmp_path: Path,
) -> None:
    user = tmp_path / "xmm.yaml"
    user.write_text(XMM_YAML, encoding="utf-8")
    registry = load_registry([user])
    found = {
        (link.kind, link.value) for link in extract_links(PAPER, registry.get("XMM"), registry)
    }
    assert found == {
        ("instrument", "EPIC"),
        ("obsid", "XMM:0801234501"),
        ("obsid", "XMM:0801234601"),
        ("doi", "10.5270/esa-abc123"),
    }
    chandra = {
        (link.kind, link.value) for link in extract_links(PAPER, registry.get("CHANDRA"), registry)
    }
    assert chandra == {("obsid", "CHANDRA:4977")}
    # the user's link_context key replaced the bundled list; the other keys stay
    assert registry.link_context.other_facilities == ["(?-i:\\b(?:Swift|NuSTAR|Suzaku)\\b)"]
    assert registry.link_context.data_use == load_registry().link_context.data_use
    assert registry.content_hash != load_registry().content_hash


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("link_ids: {obsid: {keywords: ['ObsID'], number: '(\\d+)'}}", "link_ids.obsid.number"),
        ("link_ids: {visit: {keywords: ['visit'], number: '\\d+'}}", "link_ids.visit"),
        ("link_ids: {obsid: {number: '\\d+'}}", "give keywords, prefixes or table_headers"),
        ("link_ids: {obsid: {keywords: ['Obs[ID'], number: '\\d+'}}", "invalid regular expression"),
        ("link_dois: ['doi:10.123']", "is not a DOI prefix"),
        ("link_instruments: {EPIC: {names: []}}", "link_instruments.EPIC.names"),
        ("link_instruments: {EPIC: {names: [EPIC], filter: ['x']}}", "filter"),
    ],
)
def test_invalid_link_patterns_name_the_file_entry_and_field(
    tmp_path: Path, entry: str, message: str
) -> None:
    user = tmp_path / "bad.yaml"
    user.write_text(f"telescopes:\n  XMM:\n    name: XMM\n    aliases: [XMM]\n    {entry}\n")
    with pytest.raises(RegistryError) as caught:
        load_registry([user])
    text = str(caught.value)
    assert "bad.yaml" in text and "'XMM'" in text and message in text


def test_an_unknown_link_context_key_is_an_error(tmp_path: Path) -> None:
    user = tmp_path / "ctx.yaml"
    user.write_text("link_context:\n  data_usage: ['we observed']\n")
    with pytest.raises(RegistryError, match="link_context: field 'data_usage'"):
        load_registry([user])


# -- numbers of an id's shape, found through a digit mask ------------------------------------

_NUMBER_SHAPES = [r"[1-9][0-9]{3,4}", r"[1-9][0-9]{3}", r"[0-2][0-9]{7}", r"[0-9]{4}[A-Z]?",
                  r"0[0-9]{3}", r"[0-9]{3,6}", r"[0-9]{3}(?:-[0-9]+)?"]  # fmt: skip


def test_leading_digits_counts_only_what_every_match_starts_with() -> None:
    assert leading_digits(r"[1-9][0-9]{3,4}") == 4
    assert leading_digits(r"[0-2][0-9]{7}") == 8
    assert leading_digits(r"[0-9]{1,5}") == 1
    assert leading_digits(r"[0-9]{2,3}[0-9]{4}") == 2  # a lower bound is enough
    assert leading_digits(r"\d{4}") == 0  # \d takes other scripts' digits too
    assert leading_digits(r"(?<!\d)[0-9]{4}") == 0
    assert leading_digits(r"(?:12|34)5") == 0
    assert leading_digits(r"[0-9a]{4}") == 0


@pytest.mark.parametrize("seed", range(3))
def test_numbers_from_the_digit_mask_are_those_of_the_pattern(seed: int) -> None:
    """``IdPatterns.numbers`` finds exactly ``number.finditer``'s matches: digit runs of
    every length, decimals, ranges, letters after digits, other scripts' digits."""
    rng = random.Random(seed)
    pieces = ["1", "0", "12", "2024", "13473", "123456789", "0.5", "-", " ", "GO ", "A", "x",
              "\u0663\u0664\u0665\u0666", "\u00e9", "\n", "(", "9999", "10000", "05"]  # fmt: skip
    patterns = [(_id_patterns("programme", LinkIds(prefixes=["GO"], number=shape)))
                for shape in _NUMBER_SHAPES]  # fmt: skip
    assert all(p.number_digits >= MIN_MASK_DIGITS for p in patterns)
    found = 0
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        for p in patterns:
            expected = [m.span() for m in p.number.finditer(text)]
            assert [m.span() for m in p.numbers(text)] == expected, (p.number.pattern, text)
            found += len(expected)
    assert found > 1000


def test_id_heads_are_the_same_with_the_digit_mask(registry: Registry) -> None:
    rng = random.Random(5)
    pieces = ["HST", "GO", "GO/DD", "JWST", "DD", "program", "proposal", "ObsID", "#", "-", " ",
              "~", "1234", "12345", "2024", "0.5", "and", ",", "Hubble", "\u2013"]  # fmt: skip
    for telescope in registry:
        for ids in telescope.link_patterns.ids.values():
            plain = replace(ids, number_digits=0)
            for _ in range(150):
                text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
                lowered = text.lower()
                expected = [(m.span(), m.groupdict()) for m in plain.heads(text, lowered)]
                assert [(m.span(), m.groupdict()) for m in ids.heads(text, lowered)] == expected


def test_id_heads_are_the_same_without_the_prefix_needles(registry: Registry) -> None:
    """A number is looked at for a prefix only when one of the prefix's case-sensitive
    codes stands just before it: the heads are those found looking every time."""
    rng = random.Random(7)
    pieces = ["HST", "hst", "Hubble", "JWST", "Webb", "GO", "go", "Go", "DD", "dd", "GO/DD",
              "DDT", "SNAP", "AR", "CAL", "ERS", "COM", "GTO", "program", "#", "-", " ", "~",
              "\u2013", "/", "1234", "12345", "2024", "0.5", "and", ",", "x"]  # fmt: skip
    with_needles = 0
    for telescope in registry:
        for ids in telescope.link_patterns.ids.values():
            if ids.prefix_needles is None:
                continue
            with_needles += 1
            plain = replace(ids, prefix_needles=None)
            for _ in range(400):
                text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
                lowered = text.lower()
                expected = [(m.span(), m.groupdict()) for m in plain.heads(text, lowered)]
                assert [(m.span(), m.groupdict()) for m in ids.heads(text, lowered)] == expected
    assert with_needles >= 2  # HST's and JWST's programme ids at least


def test_case_exact_literals_come_only_from_case_sensitive_parts() -> None:
    prefix = r"\b(?:(?:HST|Hubble)[\s~]*(?-i:GO|SNAP)|(?-i:GO/DD|DD))[\s#]*"
    assert case_exact_literals(prefix, re.IGNORECASE) == {"GO", "SNAP", "GO/DD", "DD"}
    assert case_exact_literals("Hubble", re.IGNORECASE) is None  # any case matches
    assert case_exact_literals("Hubble") == {"Hubble"}
    assert case_exact_literals(r"(?i:ab)cd") == {"cd"}
    assert case_exact_literals(r"(?:GO|go)\d", re.IGNORECASE) is None
