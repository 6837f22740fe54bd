"""RE2 stands in for ``re`` in the unions' lower-cased searches: the same spans, counts
and prefilter answers as the plain ``re`` union, or it is not used.

The spans test of ``test_registry_patterns`` runs every union through RE2 where RE2 is
used; here the text also holds what RE2 reads unlike ``re`` (a vertical tab, a final
newline), the patterns use syntax RE2 refuses or reads otherwise, counts are compared
with ``re`` itself, and the prefilter (patterns without their look-arounds) is shown to
pass every text the union matches.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from itertools import islice

import pytest
from test_registry_patterns import ADVERSARIAL, assert_finds_as_re, random_text, unions

from amc.registry import Registry, re2_search
from amc.registry.counting import count_each
from amc.registry.lowering import lower_pattern
from amc.registry.patterns import PatternUnion
from amc.registry.re2_search import Re2Union, without_lookarounds

#: ``re`` warns that "[[:alpha:]]" may one day mean what it means to RE2: the point here
pytestmark = pytest.mark.filterwarnings("ignore:Possible nested set:FutureWarning")

#: read otherwise by RE2 (``$``, ``{,n}``, ``[:alpha:]``), refused by it (possessive,
#: look-behind), spaces RE2's ``\s`` leaves out (``\v``), code escapes
ODD_SYNTAX = [
    r"end$",
    r"\ba{,2}b",
    r"[[:alpha:]]x",
    r"\bx\s\w",
    r"data\s+were",
    r"\bgo\w*+\b",
    r"(?<!x)ab\b",
    r"[\s\u2010-\u2013]+ray",
    r"\bis\b(?!\s+not)",
]


def texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = [random_text(rng, rng.randint(1, 120)).encode("ascii", "ignore").decode()
           for _ in range(n)]  # fmt: skip
    extra = ["end", "end\n", "x\vis", "data\vwere", "aab b ab", "Aab", "x-ray", "go goes",
             "is\vnot is", "a\vb end\n"]  # fmt: skip
    return out + [f"{t} {e}" for t, e in zip(out, extra * 10, strict=False)] + extra


@pytest.fixture
def without_re2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Unions built inside run on ``re`` only, as without the ``google-re2`` wheel."""
    monkeypatch.setattr(re2_search, "_re2", None)
    yield


def test_re2_spans_and_counts_are_those_of_re(registry: Registry) -> None:
    rng = random.Random(3)
    pool = texts(11, 200)
    cases = [*unions(registry), ("odd syntax", ODD_SYNTAX, re.I),
             *((f"odd syntax: {p}", [p], re.I) for p in ODD_SYNTAX)]  # fmt: skip
    used = 0
    for name, patterns, flags in cases:
        union = PatternUnion(patterns, flags)
        used += union.fast is not None
        plain = re.compile("|".join(f"(?:{p})" for p in patterns), flags)
        for text in pool:
            expected = assert_finds_as_re(union, plain, text, rng, name)
            for cap in (1, 3):
                assert union.count(text, cap) == len(expected[:cap]), (name, text)
    assert used >= 20  # RE2 really ran: the bundled cue lists, science patterns, ...


def test_count_each_counts_as_re_with_and_without_re2(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    cues = registry.cues.unions
    groups = [
        [t.compiled.science, t.compiled.instrumentation, cues["science"],
         cues["instrumentation"], cues["mention"]]
        for t in registry
    ]  # fmt: skip
    odd = [p for p in [*ADVERSARIAL, *ODD_SYNTAX] if lower_pattern(p) is not None]
    groups.append([PatternUnion(odd[::2], re.I), PatternUnion(odd[1::2], re.I)])
    groups.append([PatternUnion(odd[:4], re.I), PatternUnion([r"\bdata\b"], re.I)])
    pool = texts(7, 60)
    for with_re2 in (True, False):
        if not with_re2:
            monkeypatch.setattr(re2_search, "_re2", None)
        used = 0
        for group in groups:
            unions_ = [PatternUnion(u.patterns, u.flags) for u in group if u is not None]
            used += sum(u.fast is not None for u in unions_)
            plain = [re.compile("|".join(f"(?:{p})" for p in u.patterns), u.flags)
                     for u in unions_]  # fmt: skip
            for text in pool:
                expected = [sum(1 for _ in islice(p.finditer(text), 3)) for p in plain]
                assert count_each(unions_, text, 3) == expected, (text, with_re2)
        assert bool(used) == with_re2


def test_re2_is_not_used_where_it_reads_otherwise() -> None:
    for pattern in (r"end$", r"xa{,2}", r"[[:alpha:]]", r"(?<!x)a", r"a(?=b)", r"\w*+x", r"x?",
                    r"(\w)\1", r"a{1001}"):  # fmt: skip
        assert Re2Union.of([pattern]) is None, pattern
    assert Re2Union.of([r"[\s\u2010-\u2013]+ray", r"\bdata\s+were\b"]) is not None
    # a vertical tab is a space for ``re`` only: such text is searched with ``re``
    assert not Re2Union.usable("a\vb") and not Re2Union.usable("é") and Re2Union.usable("ab")
    union = PatternUnion([r"\bdata\s+were\b"], re.I)
    assert union.fast is not None and list(union.spans("Data\vwere")) == [(0, 9)]


def test_without_re2_every_union_runs_on_re(without_re2: None) -> None:
    union = PatternUnion([r"\bdata\s+were\b", r"(?-i:GO)\s*\d+"], re.I)
    assert union.fast is None and union._prefilter is None
    assert list(union.spans("The data were GO 123, go 4")) == [(4, 13), (14, 20)]
    cue = PatternUnion([r"\bdata\b", r"\bwere\b"], re.I)
    assert cue.fast is None and count_each([cue, cue], "data were data", 5) == [3, 3]


def test_lookarounds_are_left_out_of_the_prefilter() -> None:
    assert without_lookarounds(r"\bHubble(?![\s~]+(?:Space|Deep))\s+constant") == (
        r"\bHubble(?:)\s+constant"
    )
    assert without_lookarounds(r"(?<!\d)0*12(?!\d)") == r"(?:)0*12(?:)"
    assert without_lookarounds(r"a(?=b(?:c|\)))x") == "a(?:)x"  # nested groups, escaped ")"
    assert without_lookarounds(r"[(?=]x(?!y)") == r"[(?=]x(?:)"  # "(?=" in a class: literal
    assert without_lookarounds(r"[]a(]x(?!y)") == r"[]a(]x(?:)"
    assert without_lookarounds(r"a{(?=2)2}") == r"a{(?:)2}"  # no count glued together
    assert without_lookarounds(r"\(?!x") == r"\(?!x"  # an escaped "(" opens no group
    assert without_lookarounds(r"a(?=b)*") is None  # a quantified look-around
    assert without_lookarounds(r"a(?=b") is None


def test_the_prefilter_passes_every_text_the_union_matches(registry: Registry) -> None:
    """Traps and grant patterns run with ASCII rules but not lower-cased (``(?-i:...)``
    groups): RE2 of them without look-arounds is a prefilter that must let every
    window with a match through (and here spares most of the others)."""
    pool = texts(23, 300)
    spared = checked = 0
    for telescope in registry:
        for union in (telescope.compiled.false_positives, telescope.compiled.grants):
            if not isinstance(union, PatternUnion) or union._prefilter is None:
                continue
            plain = re.compile(union.pattern, union.flags)
            for text in filter(Re2Union.usable, pool):
                found = union._prefilter.search(text.lower())
                if plain.search(text) is not None:
                    assert found is not None, (telescope.key, text)
                checked += 1
                spared += found is None
    assert checked and spared > checked / 2


def test_a_non_ascii_space_stands_in_as_a_space_re2_knows() -> None:
    """PDF text is full of no-break and thin spaces: their ASCII stand-in is one RE2's
    ``\\s`` matches, so such windows still run on RE2."""
    union = PatternUnion([r"\bdata\s+were\b"], re.I)
    real, searched = union.fast, []
    assert real is not None

    class Spy:
        def spans(self, text: str, pos: int = 0) -> Iterator[tuple[int, int]]:
            searched.append(text)
            return real.spans(text, pos)

    union.fast = Spy()  # type: ignore[assignment]
    assert list(union.spans("Data\u00a0were \u2009 DATA\u2009\u00a0were")) == [(0, 9), (12, 22)]
    assert searched and Re2Union.usable(searched[0])


#: found by a review: each once gave other spans than ``re`` (or broke)
REVIEWED = [
    (["a{01}"], re.I, ["a{01} A", "aa"]),  # a leading zero: a count for ``re`` only
    (["a{0002,3}"], re.I, ["aaa"]),
    (["x(?:a|b??)+", "bq"], re.I, ["xab", "xabq"]),  # a loop over what may be empty
    ([r"x(?:\b|.)*"], re.I, ["xa-"]),
    (["(?-i:Z)", "a{(?=2)2}"], re.I, ["a{2}"]),  # a look-around left out glued a count
    (["(?-i:Z)", "a{2(?=,),3}"], re.I, ["a{2,3}"]),
    (["x[^a-z]"], 0, ["xA", "xa"]),  # case-sensitive: no lower-cased prefilter
    (["(?-i:[^a-z])x(?!(?-i:Q))"], re.I, ["Ax", "ax"]),  # a negated class kept as it is
    (["(?-i:[^a-z])y"], re.I, ["Ay"]),
    (["x[^]A-z]"], re.I, ["x_", "xa"]),  # "[^]": that "]" is a member
    (["x[0-a]"], re.I, ["xb", "xB", "x5"]),  # a range over the upper-case letters
    ([r"x[\x2d-z]"], re.I, ["xB", "x-"]),
    (["x\ud800y"], re.I, ["x\ud800y", "xy"]),  # a lone surrogate: no RE2, no crash
]


@pytest.mark.parametrize(("patterns", "flags", "cases"), REVIEWED)
def test_reviewed_cases_match_as_re(patterns: list[str], flags: int, cases: list[str]) -> None:
    union = PatternUnion(patterns, flags)
    plain = re.compile("|".join(f"(?:{p})" for p in patterns), flags)
    rng = random.Random(1)
    for text in [*cases, *(f"{rng.choice(cases)} {rng.choice(cases)}" for _ in range(20))]:
        assert list(union.spans(text)) == [m.span() for m in plain.finditer(text)], text
        found = plain.search(text)
        assert union.search(text) == (found.span() if found else None), text
        assert count_each([union, union], text, 5) == [len(list(plain.finditer(text))[:5])] * 2
