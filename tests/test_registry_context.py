"""Registry data about the words around a name: traps with gaps, packages, homonyms.

Sentences written for these tests. Before these keys, "Hubble recession velocity",
"Kepler's famous third law", NVIDIA's Kepler GPUs and "22:40 HST" were real hits, and a
hit inside "WebbPSF" or "jwst 1.12" counted like any name of JWST.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from amc.domain.errors import RegistryError
from amc.domain.models import Paper
from amc.registry import Registry, load_registry
from amc.registry.context import GappedTrap
from amc.snippets import find_hits


def kinds(registry: Registry, key: str, text: str) -> list[tuple[str, str, bool]]:
    hits = find_hits(Paper(bibcode="x", body=text), registry.get(key))
    return [(h.text, h.kind, h.package) for h in hits]


@pytest.mark.parametrize(
    "text",
    [
        "Deviations from the Hubble recession velocity are small.",
        "We fix the Hubble expansion parameter to 70 km/s/Mpc.",
        "Bars are longest in the middle of the Hubble morphological sequence.",
        "Bar Fractions across the Hubble Morphological Sequence",
        "the Hubble-Lemaître diagram of supernovae",
        "Hubble's famous law relates distance and velocity.",
    ],
)
def test_hubble_traps_with_words_in_between(registry: Registry, text: str) -> None:
    assert [k for _, k, _ in kinds(registry, "HST", text)] == ["false_positive"]


@pytest.mark.parametrize(
    "text",
    [
        "Hubble observations of the flow were taken in 2019.",
        "The Hubble Space Telescope time allocation committee approved the program.",
        "Hubble images show a sequence of knots.",
        "HST orbital parameters were adopted from the ephemeris.",
    ],
)
def test_data_words_and_verbs_never_fill_the_gap(registry: Registry, text: str) -> None:
    assert "false_positive" not in [k for _, k, _ in kinds(registry, "HST", text)]


def test_kepler_law_and_supernova_remnant_are_traps(registry: Registry) -> None:
    for text in ("Kepler's famous third law gives the period.",
                 "Proper motions in Kepler's supernova remnant."):  # fmt: skip
        assert [k for _, k, _ in kinds(registry, "KEPLER", text)] == ["false_positive"]


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("KEPLER", "Benchmarks ran on NVIDIA Kepler K20 GPUs."),
        ("KEPLER", "Workflows were run in the Kepler scientific workflow system."),
        ("ROMAN", "Set the text in 10 pt Times New Roman."),
        ("K2", "The expedition reached the summit of K2 in July."),
        ("FUSE", "Buckets are mounted through a FUSE file system."),
        ("HST", "The observations started at 22:40 HST on October 3."),
        ("HST", "The catalogue is distributed as HDF files."),
        ("PANSTARRS", "The game was ported to the Sony PS1 console."),
    ],
)
def test_homonyms_from_computing_and_everyday_language(
    registry: Registry, key: str, text: str
) -> None:
    assert [k for _, k, _ in kinds(registry, key, text)] == ["false_positive"]


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("KEPLER", "We used the Kepler long-cadence light curves of 600 stars."),
        ("HST", "We observed the field with HST/WFC3 in 12 orbits."),
        ("ROMAN", "The Roman Space Telescope will survey the bulge."),
    ],
)
def test_the_telescope_itself_is_not_a_homonym(registry: Registry, key: str, text: str) -> None:
    assert "false_positive" not in [k for _, k, _ in kinds(registry, key, text)]


@pytest.mark.parametrize(
    "text",
    [
        "Model PSFs were generated with WebbPSF.",
        "Files follow the data model of jwst 1.12.5.",
        "We wrapped the jwst package in a workflow.",
        "Noise was estimated with the JWST Exposure Time Calculator.",
    ],
)
def test_software_named_after_the_telescope_is_a_package_hit(registry: Registry, text: str) -> None:
    found = kinds(registry, "JWST", text)
    assert found and all(kind == "alias" and package for _, kind, package in found)


def test_the_telescope_named_next_to_software_is_no_package(registry: Registry) -> None:
    found = kinds(registry, "JWST", "We reduced the JWST NIRSpec data with the pipeline.")
    assert found and not any(package for _, _, package in found)


# --- as registry data: validated, extended by a user file --------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_user_file_adds_all_three_for_a_new_telescope(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
telescopes:
  SPITZER:
    name: Spitzer Space Telescope
    aliases: [{term: Spitzer, case_sensitive: true}]
    traps_with_gaps:
      - {name: '(?-i:Spitzer)', nouns: [formula, conductivity], max_words: 2}
    packages: ['Spitzer[\\s~]+Pipeline[\\s~]+Tool']
    homonyms: [{context: '\\b(?:Eliot|Mark)\\b', within_words: 1}]
""",
    )
    registry = load_registry([path])
    assert kinds(registry, "SPITZER", "the Spitzer plasma electrical conductivity") == [
        ("Spitzer", "false_positive", False)
    ]
    assert kinds(registry, "SPITZER", "using the Spitzer Pipeline Tool") == [
        ("Spitzer", "alias", True)
    ]
    assert kinds(registry, "SPITZER", "as Mark Spitzer wrote") == [
        ("Spitzer", "false_positive", False)
    ]
    assert kinds(registry, "SPITZER", "We observed with Spitzer.") == [("Spitzer", "alias", False)]


def test_a_user_file_extends_a_bundled_telescope(tmp_path: Path, registry: Registry) -> None:
    bundled = registry.get("HST").traps_with_gaps
    mine = [*(t.model_dump() for t in bundled), {"name": "(?-i:Hubble)", "nouns": ["bubble"]}]
    path = write(tmp_path, yaml.safe_dump({"telescopes": {"HST": {"traps_with_gaps": mine}}}))
    extended = load_registry([path])
    assert len(extended.get("HST").traps_with_gaps) == len(bundled) + 1
    assert extended.content_hash != registry.content_hash


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("traps_with_gaps: [{name: '(?-i:Hubble', nouns: [flow]}]", "traps_with_gaps.0.name"),
        ("traps_with_gaps: [{name: Hubble, nouns: []}]", "traps_with_gaps.0.nouns"),
        ("traps_with_gaps: [{name: Hubble, nouns: [flow], max_words: 9}]",
         "traps_with_gaps.0.max_words"),
        ("traps_with_gaps: [{name: Hubble, nouns: [flow], gap: 2}]", "traps_with_gaps.0.gap"),
        ("packages: ['Webb(PSF']", "packages"),
        ("homonyms: ['(GPU']", "homonyms.0.context"),
        ("homonyms: [{context: GPU, within_words: 0}]", "homonyms.0.within_words"),
        ("support_patterns: ['F[0-9']", "support_patterns"),
    ],
)  # fmt: skip
def test_invalid_entries_name_file_entry_and_field(tmp_path: Path, entry: str, field: str) -> None:
    path = write(tmp_path, f"telescopes:\n  HST:\n    {entry}\n")
    with pytest.raises(RegistryError) as caught:
        load_registry([path])
    message = str(caught.value)
    assert str(path) in message and "'HST'" in message and field in message


def test_gapped_trap_pattern_is_one_regex() -> None:
    trap = GappedTrap(name="(?-i:Hubble)", nouns=["tuning fork"], max_words=1)
    pattern = re.compile(trap.pattern(), re.IGNORECASE)
    assert pattern.search("the Hubble classic tuning fork")
    assert pattern.search("the Hubble tuning-fork diagram")
    assert not pattern.search("the Hubble very classic tuning fork")  # two words: over the gap
    assert not pattern.search("the hubble tuning fork")  # the name keeps its case


def test_an_award_issued_by_the_cxc_is_a_grant_not_a_reference(registry: Registry) -> None:
    text = "We acknowledge Chandra award GO7-18001X issued by the CXC."
    assert {kind for _, kind, _ in kinds(registry, "CHANDRA", text)} == {"grant"}
