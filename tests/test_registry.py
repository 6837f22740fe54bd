"""Tests for amc.registry: the bundled file, user files layered over it, validation."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from amc.domain.errors import RegistryError, UnknownTelescopeError
from amc.domain.models import Paper
from amc.registry import Registry, load_registry
from amc.registry.matching import MAX_STARTS, _starts
from amc.registry.terms import literal_pattern, literal_trie
from amc.snippets import candidate_telescopes, find_hits

REQUIRED = [
    "CHANDRA",
    "HST",
    "JWST",
    "TESS",
    "KEPLER",
    "K2",
    "GALEX",
    "IUE",
    "FUSE",
    "EUVE",
    "PANSTARRS",
    "ROMAN",
]

SPITZER_YAML = """\
telescopes:
  SPITZER:
    name: Spitzer Space Telescope
    aliases:
      - {term: Spitzer, case_sensitive: true}
      - Spitzer Space Telescope
    instruments:
      - {term: IRAC, case_sensitive: true}
      - {term: MIPS, case_sensitive: true}
    false_positives:
      - 'Lyman\\s+Spitzer'
"""

SPITZER_TOML = """\
[telescopes.SPITZER]
name = "Spitzer Space Telescope"
aliases = [{term = "Spitzer", case_sensitive = true}, "Spitzer Space Telescope"]
instruments = [{term = "IRAC", case_sensitive = true}, {term = "MIPS", case_sensitive = true}]
false_positives = ['Lyman\\s+Spitzer']
"""


@pytest.fixture(scope="module")
def bundled() -> Registry:
    return load_registry()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- bundled ---------------------------------------------------------------------------


def test_bundled_registry_has_required_missions(bundled: Registry) -> None:
    for key in REQUIRED:
        assert key in bundled.keys, key
    assert len(bundled) >= len(REQUIRED)
    assert bundled.sources == ["amc/data/telescopes.yaml"]


def test_bundled_keys_have_no_underscore(bundled: Registry) -> None:
    for tel in bundled:
        assert "_" not in tel.key
        assert tel.key == tel.key.upper()
        assert tel.aliases


def test_bundled_cues_compile(bundled: Registry) -> None:
    compiled = bundled.cues.compiled
    assert compiled["science"] is not None and compiled["own_data"] is not None
    assert compiled["own_data"].search("We observed the target")
    assert compiled["science"].search("The observations were obtained on 2020 May 3")


def test_get_is_case_insensitive(bundled: Registry) -> None:
    assert bundled.get("hst").key == "HST"
    assert bundled.get("Jwst").key == "JWST"
    assert "chandra" in bundled
    assert "none" in bundled
    assert "SPITZER" not in bundled


def test_unknown_key_lists_known_keys(bundled: Registry) -> None:
    with pytest.raises(UnknownTelescopeError) as info:
        bundled.get("SPITZER", where="input.csv, row 3")
    message = str(info.value)
    assert "SPITZER" in message
    assert "input.csv, row 3" in message
    for key in ("HST", "JWST", "CHANDRA", "NONE"):
        assert key in message
    assert "NONE" in info.value.known


def test_check_normalises_and_allows_none(bundled: Registry) -> None:
    assert bundled.check(" hst ") == "HST"
    assert bundled.check("none") == "NONE"
    with pytest.raises(UnknownTelescopeError):
        bundled.check("hubble")


# --- user files ------------------------------------------------------------------------


def _spitzer_paper() -> Paper:
    return Paper(
        bibcode="2020ApJ...1....1X",
        body="We observed the field with Spitzer using IRAC channels 1 and 2.",
    )


@pytest.mark.parametrize(
    ("name", "text"), [("extra.yaml", SPITZER_YAML), ("extra.toml", SPITZER_TOML)]
)
def test_user_file_adds_telescope_without_code_change(tmp_path: Path, name: str, text: str) -> None:
    registry = load_registry([write(tmp_path, name, text)])
    assert "SPITZER" in registry.keys
    # bundled entries are still there
    assert "HST" in registry.keys
    assert registry.sources[-1] == str(tmp_path / name)
    spitzer = registry.get("spitzer")
    hits = find_hits(_spitzer_paper(), spitzer)
    assert [(h.text, h.kind) for h in hits] == [("Spitzer", "alias"), ("IRAC", "instrument")]
    assert "SPITZER" in candidate_telescopes(_spitzer_paper(), registry)


def test_user_telescope_case_sensitivity_and_false_positive(tmp_path: Path) -> None:
    spitzer = load_registry([write(tmp_path, "s.yaml", SPITZER_YAML)]).get("SPITZER")
    # case-sensitive alias: lower-case "spitzer" and "mips" inside a word are no hits
    paper = Paper(bibcode="B", body="the spitzer-like design; glimpses of MIPSY are no hits.")
    assert find_hits(paper, spitzer) == []
    # the trap is kept as a false-positive hit
    trap = Paper(bibcode="B", body="As Lyman Spitzer proposed in 1946, space telescopes help.")
    hits = find_hits(trap, spitzer)
    assert [(h.text, h.kind) for h in hits] == [("Spitzer", "false_positive")]


def test_user_file_overrides_one_field_keeps_others(tmp_path: Path, bundled: Registry) -> None:
    path = write(tmp_path, "o.yaml", "telescopes:\n  HST:\n    name: Hubble (renamed)\n")
    registry = load_registry([path])
    hst = registry.get("HST")
    original = bundled.get("HST")
    assert hst.name == "Hubble (renamed)"
    assert hst.aliases == original.aliases
    assert hst.instruments == original.instruments
    assert hst.false_positives == original.false_positives
    assert hst.grants == original.grants
    # other telescopes untouched
    assert registry.get("JWST") == bundled.get("JWST")


def test_later_user_file_wins(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "telescopes:\n  HST:\n    name: First\n")
    b = write(tmp_path, "b.toml", '[telescopes.HST]\nname = "Second"\n')
    assert load_registry([a, b]).get("HST").name == "Second"
    assert load_registry([b, a]).get("HST").name == "First"


def test_user_file_without_bundled(tmp_path: Path) -> None:
    registry = load_registry([write(tmp_path, "s.yaml", SPITZER_YAML)], include_bundled=False)
    assert registry.keys == ["SPITZER"]


def test_empty_registry_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="no telescopes"):
        load_registry([write(tmp_path, "empty.yaml", "")], include_bundled=False)


# --- invalid entries: the message names the file, the entry and the field -------------------


@pytest.mark.parametrize(
    ("entry_yaml", "field"),
    [
        (
            "    name: X\n    aliases: [Foo]\n    false_positives: ['Foo(unclosed']\n",
            "false_positives",
        ),
        ("    name: X\n", "aliases"),
        ("    name: X\n    aliases: []\n", "aliases"),
        ("    name: X\n    aliases: [{term: Foo, case_sensitive: maybe}]\n", "case_sensitive"),
        ("    name: X\n    alias: [Foo]\n", "alias"),
        ("    name: X\n    aliases: [{term: 'Foo(', regex: true}]\n", "aliases"),
        ("    name: X\n    aliases: [{term: ''}]\n", "term"),
        ("    name: X\n    aliases: [Foo]\n    grants: ['[a-']\n", "grants"),
    ],
)
def test_invalid_entry_names_file_entry_and_field(
    tmp_path: Path, entry_yaml: str, field: str
) -> None:
    path = write(tmp_path, "bad.yaml", "telescopes:\n  FOO:\n" + entry_yaml)
    with pytest.raises(RegistryError) as info:
        load_registry([path])
    message = str(info.value)
    assert str(path) in message
    assert "'FOO'" in message
    assert field in message


@pytest.mark.parametrize("key", ["FOO_BAR", "foo", "Spitzer", "NONE", "1FOO"])
def test_invalid_key_rejected(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, "bad.yaml", f"telescopes:\n  {key}:\n    name: X\n    aliases: [Foo]\n")
    with pytest.raises(RegistryError) as info:
        load_registry([path])
    message = str(info.value)
    assert str(path) in message
    assert repr(key) in message
    assert "key" in message


def test_unparsable_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "telescopes:\n  FOO: [unclosed\n    name: x\n")
    with pytest.raises(RegistryError, match="cannot be parsed") as info:
        load_registry([path])
    assert str(path) in str(info.value)


def test_unparsable_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", "[telescopes.FOO\nname = 'x'\n")
    with pytest.raises(RegistryError, match="cannot be parsed") as info:
        load_registry([path])
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(RegistryError, match="does not exist") as info:
        load_registry([path])
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "- just\n- a list\n",
        "telescope:\n  FOO: {}\n",
        "telescopes: [FOO]\n",
        "telescopes:\n  FOO: 3\n",
    ],
)
def test_bad_structure(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "shape.yaml", text)
    with pytest.raises(RegistryError) as info:
        load_registry([path])
    assert str(path) in str(info.value)


def test_invalid_cue_regex(tmp_path: Path) -> None:
    path = write(tmp_path, "cues.yaml", "cues:\n  science: ['(unclosed']\n")
    with pytest.raises(RegistryError, match="science"):
        load_registry([path])


# --- content hash ----------------------------------------------------------------------


def test_content_hash_stable_across_loads() -> None:
    assert load_registry().content_hash == load_registry().content_hash


def test_content_hash_changes_with_user_file(tmp_path: Path, bundled: Registry) -> None:
    path = write(tmp_path, "o.yaml", "telescopes:\n  HST:\n    name: Hubble (renamed)\n")
    first = load_registry([path]).content_hash
    assert first != bundled.content_hash
    assert load_registry([path]).content_hash == first
    path.write_text("telescopes:\n  HST:\n    name: Hubble (renamed again)\n", encoding="utf-8")
    assert load_registry([path]).content_hash != first


def test_content_hash_ignores_a_no_op_override(tmp_path: Path, bundled: Registry) -> None:
    """The hash is of the effective registry, not of the files that produced it."""
    name = bundled.get("HST").name
    path = write(tmp_path, "same.yaml", f"telescopes:\n  HST:\n    name: {name}\n")
    assert load_registry([path]).content_hash == bundled.content_hash


def test_content_hash_changes_with_cues(tmp_path: Path, bundled: Registry) -> None:
    path = write(tmp_path, "c.yaml", "cues:\n  mention: ['\\bsomeday\\b']\n")
    assert load_registry([path]).content_hash != bundled.content_hash


def _flat(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)
    return re.compile("(?:" + "|".join(map(literal_pattern, ordered)) + r")(?!\w)")


@pytest.mark.parametrize("seed", range(6))
def test_a_trie_of_terms_matches_as_their_alternation_longest_first(seed: int) -> None:
    """Terms that are prefixes of each other, share words or differ only by a word gap
    ("x ray" / "x-ray" / "xray"): the trie finds the same spans as the plain alternation
    of the same terms, longest first, on text made of their pieces."""
    rng = random.Random(seed)
    pieces = ["hst", "hs", "h", "wfc", "wfc3", "uvis", "x", "ray", "xray", "a", "acs"]
    words = {" ".join(rng.sample(pieces, rng.randint(1, 3))) for _ in range(25)}
    words |= {w.replace(" ", "-", 1) for w in list(words)[:5]}
    terms = sorted(words)
    trie = literal_trie(terms)
    assert trie is not None
    compiled = re.compile(trie + r"(?!\w)")
    for _ in range(200):
        text = "".join(rng.choice([*pieces, " ", "-", " ~", "\n", ".", "3", "  "])
                       for _ in range(rng.randint(1, 40)))  # fmt: skip
        expected = [m.span() for m in _flat(terms).finditer(text)]
        assert [m.span() for m in compiled.finditer(text)] == expected, text


def test_a_term_with_a_tilde_is_not_made_a_trie() -> None:
    assert literal_trie(["a~b", "a"]) is None
    assert literal_trie(["Hubble Space Telescope", "hubble"]) is not None


@pytest.mark.parametrize("seed", range(3))
def test_a_telescope_said_not_named_has_no_term_in_the_text(bundled: Registry, seed: int) -> None:
    """``may_name`` (substring tests of each term's required literals) is only a shortcut:
    wherever it says no, the term scan finds nothing; the texts are made of the registry's
    own term words, case-mangled, so most telescopes are named somewhere and some not."""
    rng = random.Random(seed)
    words = [w for t in bundled for term in (*t.aliases, *t.instruments)
             for w in re.findall(r"[A-Za-z0-9]+", term.term)]  # fmt: skip
    filler = ["the", "data", "of", "we", "-", ".", "(", ")", "3", "space", "x"]
    skipped = named = 0
    for _ in range(300):
        parts = rng.choices(words, k=rng.randint(0, 3)) + rng.choices(filler, k=rng.randint(1, 8))
        rng.shuffle(parts)
        text = " ".join(p.upper() if rng.random() < 0.3 else p for p in parts)
        for telescope in bundled:
            compiled = telescope.compiled
            if compiled.may_name(text.lower()):
                named += 1
            else:
                skipped += 1
                assert compiled.find_terms(text) == [], (telescope.key, text)
    assert skipped > 100 and named > 100  # both ways exercised


@pytest.mark.parametrize("seed", range(4))
def test_term_scan_from_start_words_finds_what_the_pattern_finds(
    bundled: Registry, seed: int
) -> None:
    """A term group with ``starts`` tries its pattern only where a term's first word is:
    on texts made of the registry's own term words (cut, glued, case-mangled, behind
    other words, with word gaps of every kind and now and then a character whose
    lower-casing changes the length), every telescope's terms are found exactly as by
    scanning with the pattern."""
    rng = random.Random(seed)
    words = [w for t in bundled for term in (*t.aliases, *t.instruments)
             for w in re.split(r"[\s\-\u2010-\u2013]+", term.term)]  # fmt: skip
    pieces = [*words, *(w[:-1] for w in words), *("x" + w for w in words[:30]), "the", "3"]
    gaps = [" ", "  ", "-", "~", "\n", "\u2013", ".", "/", "", "(", " \u00e9 "]
    plain = {t.key: replace(t.compiled, groups=tuple(replace(g, starts=None)
                                                     for g in t.compiled.groups))
             for t in bundled}  # fmt: skip
    assert any(g.starts for t in bundled for g in t.compiled.groups)
    found = 0
    for _ in range(250):
        text = "".join(rng.choice(pieces) + rng.choice(gaps) for _ in range(rng.randint(1, 12)))
        text = "".join(c.upper() if rng.random() < 0.2 else c for c in text)
        if rng.random() < 0.1:
            text += " \u0130"  # lower() makes it two characters: the fallback pattern runs
        for telescope in bundled:
            expected = plain[telescope.key].find_terms(text)
            assert telescope.compiled.find_terms(text) == expected, (telescope.key, text)
            found += bool(expected)
    assert found > 100  # terms were there to find


def test_start_words_are_kept_only_when_few_and_long() -> None:
    assert _starts(["hubble space telescope", "hubble", "hst", "wfc3"]) == ("hst", "hubble", "wfc3")
    assert _starts(["hst", "hstx"]) == ("hst",)  # "hstx" begins with "hst": found there
    assert _starts(["x ray telescope", "hst"]) is None  # "x" is everywhere
    assert _starts([f"{chr(97 + i)}bcd" for i in range(MAX_STARTS + 1)]) is None


def test_every_bundled_telescope_has_term_needles(bundled: Registry) -> None:
    """Without needles the link judge scans each sentence for every telescope's terms."""
    assert all(t.compiled.needles for t in bundled)
    hst = bundled.get("HST").compiled
    assert hst.may_name("observed with the wfc3 camera")
    assert not hst.may_name("observed with the vlt")
    assert hst.may_name("observed with the vlt \u00e9")  # non-ASCII text: always scanned
