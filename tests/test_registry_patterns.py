"""``PatternUnion`` finds exactly what the plain ``re`` union finds, faster.

Compared span for span with ``re.compile("(?:p1)|(?:p2)|...", flags).finditer`` on
seeded random text mixing the registry's own cue words with the characters where
ASCII and Unicode rules differ (accented and Greek letters, non-ASCII digits and
spaces, dashes, the dotted and dotless i, the long s, the Kelvin sign), over the
bundled registry's cues, traps, grant patterns and the link judge's other facilities, and
hand-written adversarial ones.
It does not prove equivalence for every possible regex; constructs the proxy
cannot handle (back-references, non-ASCII letters in a pattern) are shown to fall
back to the Unicode path.
"""

from __future__ import annotations

import random
import re

import pytest

from amc.classify.llm.verdict import _INSTRUCTION
from amc.registry import Registry
from amc.registry.counting import _merged_lookahead, count_each
from amc.registry.entries import CUE_LISTS
from amc.registry.lowering import lower_pattern
from amc.registry.patterns import NEEDLE_TRIAL, PatternUnion, required_literals

WORDS = " ".join(
    [
        "we observed obtained the data were reduced archival exposure time program ID proposal "
        "pipeline calibration software detector future will could be previously et al. e.g. "
        "Hubble constant HST-GO-12345 GO 12345 F606W WFC3/UVIS drizzled 10.17909/T9 orbits visit 3 "
        "Chandrasekhar mass Webb (Smith 2001) [12, 14] \\citep{x} MAST Mikulski Archive flt.fits "
        "_flt.fits GTO 1234 DD-1234 zero-point flat-field ramp effect throughput in-flight "
        "Spitzer spitzer XMM-Newton XMM Newton Fermi level Planck function VLT swift Swift "
        "Dr. Prof. Mr Administrator chemokines receptor NVIDIA GPUs CUDA K80m sales tax 10:30 "
        "a.m. UTC Kubernetes WebbPSF jwst 1.12.5 jwst.pipeline Chandra Ray Tracer "
        "CHANDRA chandra Dr. Chandra Hubble's law HUBBLE time Webb's theorem GOAL Goal Go go DATA",
    ]
).split()
ODD = [
    "é", "Å", "μ", "σ", "ς", "Σ", "–", "—", "\u00a0", "\u2009", "٣", "\u2028", "′", "²", "ß",
    "ﬁ", "\u0130", "\u0131", "\u017f", "\u212a", "Ω", "日本", "\u200b", "\t", "\n",
]  # fmt: skip

ADVERSARIAL = [
    r"\bcolou?r\b",
    r"(?i:Å)ngstr(?:ö|o)m",  # a non-ASCII letter: Unicode path
    r"(\w+)\s+\1",  # a back-reference: Unicode path
    r"[^\W\d]{3}\d",
    r"\d{2,}",
    r"[^a-z\s]+",
    r"(?-i:GO)\s*\d+",
    r"\bis\b",
    r"ki\w",
    r"(?<=\s)s\w+",
    r"(?<!\w{3})ing\b",  # looks three characters back
    r"[\u2010-\u2013]\w",
    r"\S+\.fits",
    r"x?",  # empty matches
    r"\bfoo|bar",  # a top-level alternation: its \b is not shared
    r"\b\(x",  # \b before a non-word character
    r"\b(?:we)?\s+are",  # may start with a space
    r"\bthe\b",
    r"(?-i:Chandra)(?!\s+(?:mass|limit))",  # a case-sensitive part: relaxed prefilter
    r"\b(?-i:Go)(?!(?-i:AL))\w*",  # ... not inside a negative lookahead
    r"(?<!(?-i:The) )(?-i:Webb)\b",
    r"(?=(?-i:DA))\w+\s*\u2013?",
]


def random_text(rng: random.Random, words: int) -> str:
    pieces = []
    for _ in range(words):
        roll = rng.random()
        if roll < 0.15:
            pieces.append(rng.choice(ODD))
        elif roll < 0.2:
            word = rng.choice(WORDS)
            i = rng.randrange(len(word) + 1)
            pieces.append(word[:i] + rng.choice(ODD) + word[i:])
        else:
            word = rng.choice(WORDS)
            pieces.append(word.upper() if rng.random() < 0.1 else word)
        pieces.append(rng.choice([" ", " ", " ", "\n", "~", ", ", ". "]))
    return "".join(pieces)


def unions(registry: Registry) -> list[tuple[str, list[str], int]]:
    cues = registry.cues
    out = [(f"cues.{n}", list(getattr(cues, n)), re.I) for n in CUE_LISTS if getattr(cues, n)]
    for telescope in registry:
        for name in ("false_positives", "grants", "science_patterns", "instrumentation_patterns",
                     "packages"):  # fmt: skip
            if getattr(telescope, name):
                out.append((f"{telescope.key}.{name}", list(getattr(telescope, name)), re.I))
        for words in sorted({h.within_words for h in telescope.homonyms}):
            contexts = [h.context for h in telescope.homonyms if h.within_words == words]
            out.append((f"{telescope.key}.homonyms.{words}", contexts, re.I))
    link_context = registry.link_context
    out.append(("link_context.other_facilities", list(link_context.other_facilities), re.I))
    out.append(("instruction-like text", [_INSTRUCTION.pattern], re.I))
    out.append(("adversarial", ADVERSARIAL, re.I))
    out.append(("adversarial, case-sensitive", ADVERSARIAL, 0))
    return out


def assert_finds_as_re(
    union: PatternUnion, plain: re.Pattern[str], text: str, rng: random.Random, name: str
) -> list[tuple[int, int]]:
    """The union's spans, spans in a random window and first match there are ``re``'s;
    ``re``'s spans in the whole text."""
    expected = [m.span() for m in plain.finditer(text)]
    assert list(union.spans(text)) == expected, (name, text)
    a = rng.randrange(len(text) + 1)
    b = rng.randrange(a, len(text) + 1)
    window = [m.span() for m in plain.finditer(text, a, b)]
    assert list(union.spans(text, a, b)) == window, (name, text, a, b)
    found = plain.search(text, a, b)
    assert union.search(text, a, b) == (found.span() if found else None), (name, a, b)
    return expected


def test_spans_are_those_of_the_plain_union(registry: Registry) -> None:
    rng = random.Random(17)
    texts = [random_text(rng, rng.randint(1, 160)) for _ in range(150)]
    # ASCII text takes the lower-cased paths (and the relaxed prefilter of the unions
    # with case-sensitive parts): the same texts without their other characters
    texts += [t.encode("ascii", "ignore").decode() for t in texts[:80]]
    texts += [random_text(rng, rng.randint(1, 3)).encode("ascii", "ignore").decode()
              for _ in range(300)]  # fmt: skip
    for name, patterns, flags in unions(registry):
        fast = PatternUnion(patterns, flags)
        plain = re.compile("|".join(f"(?:{p})" for p in patterns), flags)
        for text in texts:
            expected = assert_finds_as_re(fast, plain, text, rng, name)
            assert fast.count(text, 3) == min(3, len(expected))
            first = plain.search(text)
            assert fast.search(text) == (first.span() if first else None)


def test_characters_that_fold_to_ascii_take_the_unicode_path() -> None:
    union = PatternUnion([r"\bsink\b", r"\bit\b"], re.I)
    # the long s and the Kelvin sign match s and k when ignoring case; dotted I matches i
    for text in ("the \u017fin\u212a", "\u0130T is", "\u0131t"):
        plain = re.compile(union.pattern, re.I)
        assert list(union.spans(text)) == [m.span() for m in plain.finditer(text)]
        assert list(union.spans(text))  # and there is something to find


def test_needles_are_literals_every_match_contains() -> None:
    assert required_literals(r"\barchival\b", re.I) == {"archival"}
    assert required_literals(r"\bobservations?[\s~]+were", re.I) == {"observation"}
    assert required_literals(r"\b(?:data|images?)\s+reduced", re.I) == {"reduced"}
    assert required_literals(r"\b(?:data|images?)\s+(?:is|are)", re.I) == {"data", "image"}
    assert required_literals(r"\d+\s*orbits?", re.I) == {"orbit"}
    assert required_literals(r"\w+", re.I) is None
    assert required_literals(r"(?:a|\d)b?", 0) is None  # one branch has no literal


def test_the_bundled_unions_take_the_ascii_path(registry: Registry) -> None:
    """The speed-up needs ASCII rules; a union that cannot have them says so."""
    for name, patterns, flags in unions(registry)[:-3]:
        # "3π" (Pan-STARRS) names a Greek letter, whose rules differ: Unicode path
        letters = any(not c.isascii() and c.isalnum() for p in patterns for c in p)
        assert PatternUnion(patterns, flags).ascii_rules != letters, name
    assert PatternUnion(registry.cues.mention, re.I).ascii_rules
    assert not PatternUnion([r"(\w+)\s+\1"], re.I).ascii_rules
    assert not PatternUnion([r"Ångström"], re.I).ascii_rules
    assert PatternUnion([r"[\u2010-\u2013]"], re.I).ascii_rules  # dashes are neither


@pytest.mark.parametrize("flags", [0, re.I])
def test_an_empty_union_matches_nothing(flags: int) -> None:
    union = PatternUnion([r"\bzzzq\b"], flags)
    assert union.search("nothing here") is None and union.count("zzzq zzzq") == 2


def test_needles_are_kept_only_while_they_spare_searches() -> None:
    """Looking for a union's needles costs about what the search does: a union whose
    needles are in most texts stops looking (and still finds every match), one whose
    needles are missing from most texts keeps them."""
    common = PatternUnion([r"\bthe\s+data\b", r"\bwe\s+observed\b"], re.IGNORECASE)
    rare = PatternUnion([r"\bHubble\s+constant\b"], re.IGNORECASE)
    texts = [f"In the {i} data we observed the field {i}." for i in range(NEEDLE_TRIAL + 50)]
    for text in texts:
        assert [text[a:b] for a, b in common.spans(text)] == ["we observed"]
        assert list(rare.spans(text)) == []
    assert common._needles is None and rare._needles is not None
    assert list(common.spans("Nothing to find here.")) == []
    assert [m for m in rare.spans("the Hubble constant of 70")] == [(4, 19)]


def test_case_insensitive_unions_run_lower_cased_when_their_text_allows() -> None:
    """A lower-cased, case-sensitive union is 2x faster; only patterns whose lower-cased
    text means the same take it (the spans test above checks that they match alike)."""
    for pattern, lowered in [
        (r"\bObserv(?:ed|ations)\b", r"\bobserv(?:ed|ations)\b"),
        (r"[A-Z]\S+\W\B\D", r"[a-z]\S+\W\B\D"),  # escapes keep their case
        (r"prog\(?s\)?", r"prog\(?s\)?"),  # an escaped "(" then "?" is no group
        (r"(?<!NOT )Data(?=\s)", r"(?<!not )data(?=\s)"),
    ]:
        assert lower_pattern(pattern) == lowered
    for unsafe in [r"\b(?-i:GO)\d+", r"(?i:a)", r"[A-z]", r"\x41", r"\N{DASH}", r"(a)\1",
                   r"(?P<n>a)", r"\p{L}", r"\u00C9"]:  # fmt: skip
        assert lower_pattern(unsafe) is None, unsafe
    # a character named by number and without case is kept as it is
    assert lower_pattern(r"A[\s\u2010-\u2013]+\x2dB") == r"a[\s\u2010-\u2013]+\x2db"
    # relaxed: a case-sensitive part is lower-cased too (it then finds more), except
    # inside a negative lookaround (there it would find less)
    assert lower_pattern(r"\b(?-i:GO)\d+", relax=True) == r"\b(?:go)\d+"
    assert lower_pattern(r"A(?=(?-i:B))", relax=True) == r"a(?=(?:b))"
    for unsafe in [r"a(?!(?-i:B))", r"(?<!x(?-i:B))a", r"(?!(?:c|(?-i:B)))a"]:
        assert lower_pattern(unsafe, relax=True) is None, unsafe
    assert lower_pattern(r"(?!b)(?-i:A)", relax=True) == r"(?!b)(?:a)"  # after it: fine
    assert PatternUnion([r"\bData\b", r"\b(?-i:GO)\b"], re.I)._relaxed is not None
    union = PatternUnion([r"\b(?-i:Go)(?!(?-i:AL))\w*"], re.I)
    assert list(union.spans("Goal")) == [(0, 4)] and list(union.spans("GoAL")) == []
    assert PatternUnion([r"\bData\b", r"\bpipeline"], re.I).lowered is not None
    assert PatternUnion([r"\bData\b", r"\b(?-i:GO)\b"], re.I).lowered is None
    assert PatternUnion([r"\bData\b"], 0).lowered is None  # case-sensitive: as it is
    union = PatternUnion([r"\bdata\s+were\s+REDUCED\b"], re.I)
    text = "The DATA were reduced; data  Were Reduced."
    assert list(union.spans(text)) == [(4, 21), (23, 41)]
    assert [text[a:b] for a, b in union.spans(text)][1] == "data  Were Reduced"


def test_the_bundled_cue_lists_run_lower_cased(registry: Registry) -> None:
    for name in ("science", "instrumentation", "mention"):
        union = registry.cues.unions[name]
        assert union is not None and union.lowered is not None, name


def test_unions_counted_together_count_as_each_alone(registry: Registry) -> None:
    """``count_each`` replays each union's ``finditer`` over the positions one lookahead
    scan found: the same capped counts as counting each union alone, on text where the
    unions' matches overlap, nest and run into each other (ranking's five lists of every
    telescope, and the adversarial ones)."""
    rng = random.Random(5)
    texts = [random_text(rng, rng.randint(1, 120)) for _ in range(120)]
    texts = [t.encode("ascii", "ignore").decode() for t in texts] + texts[:20]
    cues = registry.cues.unions
    groups = [
        (t.compiled.science, t.compiled.instrumentation, cues["science"],
         cues["instrumentation"], cues["mention"])
        for t in registry
    ]  # fmt: skip
    odd = [p for p in ADVERSARIAL if lower_pattern(p) is not None and p != "x?"]
    groups.append((PatternUnion(odd[::2], re.I), PatternUnion(odd[1::2], re.I),
                   PatternUnion([r"\bdata\b", r"data\s+were"], re.I)))  # fmt: skip
    merged = 0
    for group in groups:
        unions = [u for u in group if u is not None]
        merged += _merged_lookahead(tuple(unions)) is not None
        for text in texts:
            for cap in (1, 3, 50):
                expected = [u.count(text, cap) for u in unions]
                assert count_each(unions, text, cap) == expected, (text, cap)
    assert merged == len(groups)  # the merged scan ran for every group


def test_unions_that_may_match_nothing_are_not_merged() -> None:
    empty = PatternUnion([r"x?"], re.I)
    other = PatternUnion([r"\bab\b", r"\bb"], re.I)
    third = PatternUnion([r"\bba"], re.I)
    found = _merged_lookahead((empty, other, third))
    assert found is not None and empty not in found[1]
    assert count_each([empty, other, third], "ab ba x", 10) == [
        empty.count("ab ba x", 10), other.count("ab ba x", 10), third.count("ab ba x", 10)
    ]  # fmt: skip
