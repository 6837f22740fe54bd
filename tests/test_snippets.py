"""Tests for amc.snippets: registry hits (the anti-noise rules of telescopes.md) and
sentence windows around them, with offsets into the original fields."""

from __future__ import annotations

import time

import pytest

from amc.domain.models import Hit, Paper, Snippet
from amc.registry import Registry
from amc.snippets import candidate_telescopes, find_hits, find_snippets
from amc.snippets.sentences import MAX_SENTENCE_CHARS


def body(text: str, **fields: str) -> Paper:
    return Paper(bibcode="2024TEST....1....1X", body=text, **fields)


def hits_of(registry: Registry, key: str, text: str, field: str = "body") -> list[Hit]:
    return find_hits(Paper(bibcode="B", **{field: text}), registry.get(key))


def kinds(hits: list[Hit]) -> list[tuple[str, str]]:
    return [(h.text, h.kind) for h in hits]


def check_offsets(paper: Paper, snippets: list[Snippet]) -> None:
    for snip in snippets:
        source = getattr(paper, snip.field)
        assert snip.text == source[snip.start : snip.end]
        for hit in snip.hits:
            assert hit.field == snip.field
            assert source[hit.start : hit.end] == hit.text
            assert snip.start <= hit.start and hit.end <= snip.end


# --- substrings and people are not hits at all -------------------------------------------


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("HST", "The cosine of the angle, cos(theta), and the cosmic ray rate."),
        ("HST", "Galaxies in the COSMOS field were selected from COSMOS2020."),
        ("HST", "The PACS photometry and the acs of the blacs."),
        ("CHANDRA", "Following Ramachandran et al., we adopt the Chandrasekhar mass."),
        ("CHANDRA", "The Chandrasekhar limit and Chandrayaan-2 lunar data."),
        ("JWST", "The common-envelope efficiency of Webbink (1984) is used."),
        ("JWST", "As in \\cite{webb94}, the orbit decays."),
        ("TESS", "The test statistic and a statistical test; tessellation of the sky."),
        ("KEPLER", "A Keplerian orbit with Keplerian velocity around the star."),
        ("HST", "The hubble of the crowd was loud."),
    ],
)
def test_substrings_and_names_are_not_hits(registry: Registry, key: str, text: str) -> None:
    assert hits_of(registry, key, text) == []


def test_statistic_gives_no_tess_or_tic_candidate(registry: Registry) -> None:
    paper = body("The statistic is robust; statistics of the ticking clock.")
    assert "TESS" not in candidate_telescopes(paper, registry)


def test_keplerian_orbit_is_not_a_real_kepler_hit(registry: Registry) -> None:
    hits = hits_of(registry, "KEPLER", "The Keplerian orbit follows Kepler's third law.")
    assert not any(h.is_real for h in hits)


@pytest.mark.parametrize(
    "text",
    [
        "We fit a Kepler orbit to the radial velocities.",
        "Kepler's laws apply to the binary.",
        "The planet Kepler-186f orbits in the habitable zone.",
        "Johannes Kepler described elliptical orbits.",
    ],
)
def test_kepler_traps_are_false_positives(registry: Registry, text: str) -> None:
    hits = hits_of(registry, "KEPLER", text)
    assert hits, "the trap is kept as a hit"
    assert all(h.kind == "false_positive" for h in hits)


# --- HST traps: kept as false-positive hits ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We adopt a Hubble constant of 70 km/s/Mpc.",
        "The Hubble tension persists at 5 sigma.",
        "Galaxies in the Hubble flow recede from us.",
        "The supernova Hubble diagram is shown.",
        "Galaxies along the Hubble sequence differ in colour.",
        "The Hubble type of the host galaxy is Sb.",
        "Edwin Hubble discovered the expansion of the Universe.",
        "The Hubble parameter H(z) is measured at z = 1.",
        "The Hubble time sets the age scale.",
        "The Hubble radius grows with time.",
        "A Hubble law fit gives the slope.",
        "The Hubble residual correlates with host mass.",
        "Hubble (1926) proposed a classification.",
        "Hubble's law relates distance and velocity.",
        "The Hubble-Lemaître law is linear.",
    ],
)
def test_hubble_traps_are_false_positive_hits(registry: Registry, text: str) -> None:
    hits = hits_of(registry, "HST", text)
    assert len(hits) == 1
    assert hits[0].kind == "false_positive"
    assert hits[0].text == "Hubble"
    assert not hits[0].is_real


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("We adopt a Hubble~constant of 70 km/s/Mpc.", "false_positive"),
        ("The Hubble\u2010type of the host is Sb.", "false_positive"),
        ("Support for program HST\u2010GO\u201012345 was provided by NASA.", "grant"),
    ],
)
def test_hubble_trap_with_latex_tie_or_unicode_hyphen(
    registry: Registry, text: str, kind: str
) -> None:
    hits = hits_of(registry, "HST", text)
    assert [h.kind for h in hits] == [kind]


@pytest.mark.parametrize(
    "text",
    ["SN Ia Hubble diagrams are shown.", "Local and early-Universe Hubble constants differ."],
)
def test_plural_hubble_traps(registry: Registry, text: str) -> None:
    assert kinds(hits_of(registry, "HST", text)) == [("Hubble", "false_positive")]


def test_hubble_with_initial_is_the_person(registry: Registry) -> None:
    hits = hits_of(registry, "HST", "As argued by E. Hubble in his book, nebulae are galaxies.")
    assert kinds(hits) == [("Hubble", "false_positive")]


def test_real_hst_hit_and_trap_in_one_sentence(registry: Registry) -> None:
    text = "The Hubble Space Telescope Key Project measured the Hubble constant."
    paper = body(text)
    hits = find_hits(paper, registry.get("HST"))
    assert kinds(hits) == [
        ("Hubble Space Telescope", "alias"),
        ("Hubble", "false_positive"),
    ]
    assert hits[1].start == text.index("Hubble constant")
    snippets = find_snippets(paper, registry.get("HST"))
    assert [s.kind for s in snippets] == ["real"]


@pytest.mark.parametrize(
    ("text", "expected_text"),
    [
        ("This work was supported by a Hubble Fellowship.", "Hubble"),
        ("Support came from the NASA Hubble Fellowship Program.", "Hubble"),
        ("Support for program HST-GO-12345 was provided by NASA.", "HST"),
        ("J.D. is supported by grant HST-HF2-51234.001-A.", "HST"),
        ("Support for HST-AR-15012 was provided by STScI.", "HST"),
    ],
)
def test_hst_grants_are_grant_hits(registry: Registry, text: str, expected_text: str) -> None:
    hits = hits_of(registry, "HST", text, field="acknowledgments")
    assert [h.kind for h in hits] == ["grant"]
    assert hits[0].text == expected_text
    assert hits[0].field == "acknowledgments"


def test_hst_grant_in_body_is_grant_hit(registry: Registry) -> None:
    hits = hits_of(registry, "HST", "The author is a NASA Hubble Fellow at Caltech.")
    assert kinds(hits) == [("Hubble", "grant")]


@pytest.mark.parametrize("award", ["GO1-12345X", "AR0-21234A", "TM8-19006X"])
def test_chandra_award_number_is_grant_hit(registry: Registry, award: str) -> None:
    text = f"This work was supported by NASA through award {award} to the university."
    hits = hits_of(registry, "CHANDRA", text, field="acknowledgments")
    assert [(h.text, h.kind, h.field) for h in hits] == [(award, "grant", "acknowledgments")]
    paper = Paper(bibcode="B", acknowledgments=text)
    assert "CHANDRA" in candidate_telescopes(paper, registry)


def test_chandra_fellowship_is_grant_hit(registry: Registry) -> None:
    hits = hits_of(registry, "CHANDRA", "A.B. is a Chandra Fellow.", field="acknowledgments")
    assert kinds(hits) == [("Chandra", "grant")]


@pytest.mark.parametrize(
    "text",
    [
        "S. Chandra measured the rotation curve.",
        "Chandra et al. (2015) found the same.",
        "The Himalayan Chandra Telescope was used for photometry.",
    ],
)
def test_chandra_people_and_places_are_false_positives(registry: Registry, text: str) -> None:
    hits = hits_of(registry, "CHANDRA", text)
    assert [h.kind for h in hits] == ["false_positive"]


# --- K2, Roman, Webb ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The primary is a K2 V star.",
        "The host has spectral type K2 III.",
        "The sub-Neptune K2-18b has water vapour.",
        "A K2 dwarf hosts the planet.",
    ],
)
def test_k2_traps_are_false_positives(registry: Registry, text: str) -> None:
    hits = hits_of(registry, "K2", text)
    assert hits
    assert all(h.kind == "false_positive" for h in hits)


def test_k2_decimal_spectral_subtype_is_false_positive(registry: Registry) -> None:
    hits = hits_of(registry, "K2", "The secondary is a K2.5 V dwarf.")
    assert hits
    assert all(h.kind == "false_positive" for h in hits)


def test_k2_mission_is_real(registry: Registry) -> None:
    hits = hits_of(registry, "K2", "We analysed K2 photometry from Campaign 5.")
    assert kinds(hits) == [("K2", "alias")]


def test_roman_numerals_false_positive(registry: Registry) -> None:
    hits = hits_of(registry, "ROMAN", "Classes are labelled with Roman numerals I to V.")
    assert kinds(hits) == [("Roman", "false_positive")]
    real = hits_of(registry, "ROMAN", "The Nancy Grace Roman Space Telescope will survey.")
    assert kinds(real) == [("Nancy Grace Roman Space Telescope", "alias")]


def test_webb_citation_is_false_positive_but_jwst_names_are_real(registry: Registry) -> None:
    text = (
        "Webb et al. (2019) modelled the disk. "
        "We observed it with the James Webb Space Telescope. JWST resolves it."
    )
    hits = hits_of(registry, "JWST", text)
    assert kinds(hits) == [
        ("Webb", "false_positive"),
        ("James Webb Space Telescope", "alias"),
        ("JWST", "alias"),
    ]
    # the long name is one hit, not an extra "Webb" inside it
    assert hits[1].start == text.index("James")


def test_webb_alone_is_real(registry: Registry) -> None:
    hits = hits_of(registry, "JWST", "The Webb images reveal the ring.")
    assert kinds(hits) == [("Webb", "alias")]


# --- aliases, instruments, shared terms -----------------------------------------------------


def test_hst_slash_instrument(registry: Registry) -> None:
    text = "Imaging was obtained with HST/WFC3 in the F160W filter."
    hits = hits_of(registry, "HST", text)
    assert [(h.text, h.kind, h.term) for h in hits] == [
        ("HST", "alias", "HST"),
        ("WFC3", "instrument", "WFC3"),
    ]
    assert hits[0].start == text.index("HST")
    assert hits[1].start == text.index("WFC3")


def test_fgs_alone_is_shared_and_not_a_candidate(registry: Registry) -> None:
    paper = body("Guiding used the FGS throughout the sequence.")
    for key in ("HST", "JWST"):
        hits = find_hits(paper, registry.get(key))
        assert [(h.text, h.shared) for h in hits] == [("FGS", True)]
    candidates = candidate_telescopes(paper, registry)
    assert "HST" not in candidates
    assert "JWST" not in candidates


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("The target is TIC 123456789 (TOI-700).", "TESS"),
        ("Imaging from Hyper Suprime-Cam (HSC) was used.", "HST"),
        ("Guiding used the FGS.", "JWST"),
    ],
)
def test_shared_terms_alone_make_no_candidate(registry: Registry, text: str, absent: str) -> None:
    paper = body(text)
    hits = find_hits(paper, registry.get(absent))
    assert hits and all(h.shared for h in hits)
    assert absent not in candidate_telescopes(paper, registry)


def test_mast_alone_is_not_hst(registry: Registry) -> None:
    paper = body("All spectra were retrieved from MAST.")
    assert find_hits(paper, registry.get("HST")) == []
    assert candidate_telescopes(paper, registry) == []


def test_shared_hit_is_not_a_real_snippet_hit(registry: Registry) -> None:
    paper = body("Guiding used the FGS throughout the sequence.")
    snippets = find_snippets(paper, registry.get("HST"))
    assert len(snippets) == 1
    assert snippets[0].real_hits == []
    assert snippets[0].kind != "real"


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("HST", "We used \\textit{HST} imaging.", "HST"),
        ("CHANDRA", "Archival {\\it Chandra} data were used.", "Chandra"),
        ("HST", "The HST~observations were reduced.", "HST"),
        ("HST", "Data from the Hubble~Space~Telescope were used.", "Hubble~Space~Telescope"),
        ("HST", "THE HUBBLE SPACE TELESCOPE OBSERVED IT.", "HUBBLE SPACE TELESCOPE"),
        ("HST", "Data from the Hubble\nSpace Telescope were used.", "Hubble\nSpace Telescope"),
        ("JWST", "Observed with jwst in cycle 1.", "jwst"),
        ("CHANDRA", "The ACIS-S array was used.", "ACIS"),
    ],
)
def test_real_hits_survive_markup_case_and_line_breaks(
    registry: Registry, key: str, text: str, expected: str
) -> None:
    hits = hits_of(registry, key, text)
    assert len(hits) == 1
    assert hits[0].text == expected
    assert hits[0].is_real
    assert text[hits[0].start : hits[0].end] == expected


def test_candidate_telescopes_hst_and_chandra_only(registry: Registry) -> None:
    paper = Paper(
        bibcode="B",
        title="A multiwavelength view of NGC 1234",
        abstract="We combine HST imaging with Chandra spectroscopy.",
        body="The HST images and the Chandra spectra were reduced with standard tools.",
    )
    assert sorted(candidate_telescopes(paper, registry)) == ["CHANDRA", "HST"]


def test_candidate_telescopes_empty_paper(registry: Registry) -> None:
    assert candidate_telescopes(Paper(bibcode="B"), registry) == []


def test_trap_only_paper_is_still_a_candidate(registry: Registry) -> None:
    """Traps count: a librarian wants to see that every HST hit is the Hubble constant."""
    paper = body("We adopt a Hubble constant of 70 km/s/Mpc.")
    assert candidate_telescopes(paper, registry) == ["HST"]


# --- hits carry the right field ------------------------------------------------------------


def test_hits_in_every_field(registry: Registry) -> None:
    paper = Paper(
        bibcode="B",
        title="HST imaging of a nearby dwarf",
        abstract="We present new Hubble Space Telescope data.",
        body="Nothing to see here.",
        acknowledgments="Based on observations made with the NASA/ESA Hubble Space Telescope.",
        grants="HST-GO-12345",
    )
    hits = find_hits(paper, registry.get("HST"))
    assert [(h.field, h.text, h.kind) for h in hits] == [
        ("title", "HST", "alias"),
        ("abstract", "Hubble Space Telescope", "alias"),
        ("acknowledgments", "Hubble Space Telescope", "alias"),
        ("grants", "HST", "grant"),
    ]
    snippets = find_snippets(paper, registry.get("HST"))
    assert [s.field for s in snippets] == ["title", "abstract", "acknowledgments", "grants"]
    check_offsets(paper, snippets)


def test_references_only_searched_on_request(registry: Registry) -> None:
    paper = Paper(bibcode="B", body="Nothing.", references="Smith 2001, HST proposal 1234.")
    assert find_snippets(paper, registry.get("HST")) == []
    snippets = find_snippets(paper, registry.get("HST"), include_references=True)
    assert [s.field for s in snippets] == ["references"]


# --- sentence windows -------------------------------------------------------------------------


def numbered(n: int, with_hit: dict[int, str]) -> tuple[str, list[tuple[int, int]]]:
    """``n`` sentences "Sentence i is plain." joined by a space, ``with_hit[i]`` replacing
    sentence i; returns the text and each sentence's (start, end), 1-based by index i-1."""
    sentences = [with_hit.get(i, f"Sentence {i} is plain.") for i in range(1, n + 1)]
    spans = []
    pos = 0
    for s in sentences:
        spans.append((pos, pos + len(s)))
        pos += len(s) + 1
    return " ".join(sentences), spans


@pytest.mark.parametrize("window", [0, 1, 3, 5])
def test_window_of_n_sentences_each_side(registry: Registry, window: int) -> None:
    text, spans = numbered(20, {10: "Sentence 10 used HST data."})
    paper = body(text)
    snippets = find_snippets(paper, registry.get("HST"), window=window)
    assert len(snippets) == 1
    snip = snippets[0]
    assert (snip.start, snip.end) == (spans[10 - 1 - window][0], spans[10 - 1 + window][1])
    assert snip.text.startswith(f"Sentence {10 - window} ")
    assert snip.text.endswith(text[spans[10 - 1 + window][0] : spans[10 - 1 + window][1]])
    assert snip.text.count("Sentence ") == 2 * window + 1
    check_offsets(paper, snippets)


def test_window_three_spans_sentences_7_to_13(registry: Registry) -> None:
    text, spans = numbered(20, {10: "Sentence 10 used HST data."})
    snip = find_snippets(body(text), registry.get("HST"), window=3)[0]
    assert snip.text == text[spans[6][0] : spans[12][1]]
    assert "Sentence 6 " not in snip.text
    assert "Sentence 14 " not in snip.text


def test_window_zero_is_only_the_hit_sentence(registry: Registry) -> None:
    text, _ = numbered(20, {10: "Sentence 10 used HST data."})
    snip = find_snippets(body(text), registry.get("HST"), window=0)[0]
    assert snip.text == "Sentence 10 used HST data."


def test_close_hits_merge_into_one_snippet(registry: Registry) -> None:
    text, spans = numbered(
        30, {10: "Sentence 10 used HST data.", 12: "Sentence 12 used HST again."}
    )
    paper = body(text)
    snippets = find_snippets(paper, registry.get("HST"), window=3)
    assert len(snippets) == 1
    assert (snippets[0].start, snippets[0].end) == (spans[6][0], spans[14][1])
    assert len(snippets[0].hits) == 2
    check_offsets(paper, snippets)


def test_far_hits_give_two_snippets(registry: Registry) -> None:
    text, spans = numbered(40, {5: "Sentence 5 used HST data.", 30: "Sentence 30 used HST again."})
    paper = body(text)
    snippets = find_snippets(paper, registry.get("HST"), window=3)
    assert [(s.start, s.end) for s in snippets] == [
        (spans[1][0], spans[7][1]),  # sentences 2..8
        (spans[26][0], spans[32][1]),  # sentences 27..33
    ]
    assert [len(s.hits) for s in snippets] == [1, 1]
    check_offsets(paper, snippets)


def test_hits_at_start_and_end_of_field(registry: Registry) -> None:
    text, spans = numbered(12, {})
    text = "HST " + text + " Seen by HST"
    paper = body(text)
    hits = find_hits(paper, registry.get("HST"))
    assert [(h.start, h.end) for h in hits] == [(0, 3), (len(text) - 3, len(text))]
    snippets = find_snippets(paper, registry.get("HST"), window=2)
    assert len(snippets) == 2
    shift = len("HST ")
    # "HST Sentence 1 is plain." + 2 sentences; sentences 11, 12 + "Seen by HST"
    assert (snippets[0].start, snippets[0].end) == (0, shift + spans[2][1])
    assert (snippets[1].start, snippets[1].end) == (shift + spans[10][0], len(text))
    check_offsets(paper, snippets)


def test_field_that_is_only_the_term(registry: Registry) -> None:
    paper = Paper(bibcode="B", title="HST")
    snippets = find_snippets(paper, registry.get("HST"))
    assert [(s.field, s.start, s.end, s.text) for s in snippets] == [("title", 0, 3, "HST")]


def test_hit_deep_inside_a_huge_body(registry: Registry) -> None:
    filler = "The stellar population is old and metal poor in this region. "
    n = 5_000_000 // len(filler)
    half = filler * (n // 2)
    target = "We observed the nucleus with HST in 2019."
    text = half + target + " " + half
    paper = body(text)
    t0 = time.perf_counter()
    snippets = find_snippets(paper, registry.get("HST"), window=3)
    elapsed = time.perf_counter() - t0
    assert len(text) > 4_900_000
    assert len(snippets) == 1
    snip = snippets[0]
    check_offsets(paper, snippets)
    assert snip.hits[0].start == len(half) + target.index("HST")
    # 3 filler sentences, the target, 3 filler sentences
    assert snip.text == (filler * 3) + target + " " + (filler * 3).rstrip()
    assert elapsed < 2.0, f"took {elapsed:.2f} s"


def test_unpunctuated_paragraph_gives_bounded_snippet(registry: Registry) -> None:
    words = [f"token{i}" for i in range(7000)]  # ~ 50 KB without punctuation
    words[3500] = "HST"
    text = " ".join(words)
    assert len(text) > 45_000
    paper = body(text)
    window = 3
    snippets = find_snippets(paper, registry.get("HST"), window=window)
    assert len(snippets) == 1
    snip = snippets[0]
    check_offsets(paper, snippets)
    assert len(snip.text) <= (2 * window + 1) * MAX_SENTENCE_CHARS
    assert len(snip.text) < len(text) // 5
    assert "HST" in snip.text


def test_all_false_positive_paper(registry: Registry) -> None:
    paper = Paper(
        bibcode="B",
        title="Resolving the Hubble tension with lensed quasars",
        abstract="We measure the Hubble constant to 2 per cent.",
        body=(
            "The Hubble constant sets the scale. Galaxies in the Hubble flow are used. "
            + " ".join(f"Filler sentence {i} is here." for i in range(40))
            + " Edwin Hubble would be pleased. The Hubble diagram is shown in Fig. 3."
        ),
    )
    snippets = find_snippets(paper, registry.get("HST"))
    assert len(snippets) >= 3
    assert all(s.kind == "false_positive" for s in snippets)
    assert all(s.only_false_positive for s in snippets)
    assert all(h.kind == "false_positive" for s in snippets for h in s.hits)
    assert sum(len(s.hits) for s in snippets) == 6
    check_offsets(paper, snippets)


def test_grant_only_snippet_kind(registry: Registry) -> None:
    paper = Paper(bibcode="B", acknowledgments="Support was provided by grant HST-GO-12345.")
    snippets = find_snippets(paper, registry.get("HST"))
    assert [s.kind for s in snippets] == ["grant"]


def test_unicode_text_keeps_offsets(registry: Registry) -> None:
    text = (
        "The line at 1215 Ångström — “Lyman α” — is strong. "
        "İstanbul astronomers observed it with HST/COS in 2019 — “twice”. "
        "The ﬁnal spectra were co-added. Straße data from Chandra were also used."
    )
    paper = body(text)
    for key, terms in (("HST", ["HST", "COS"]), ("CHANDRA", ["Chandra"])):
        hits = find_hits(paper, registry.get(key))
        assert [h.text for h in hits] == terms
        for hit in hits:
            assert text[hit.start : hit.end] == hit.text
        snippets = find_snippets(paper, registry.get(key), window=0)
        check_offsets(paper, snippets)
        assert snippets


def test_unicode_case_insensitive_term_offsets(registry: Registry) -> None:
    """Lower-casing "İ" changes the text's length: offsets must still line up."""
    text = "İİİ we used the Hubble Space Telescope and hst data."
    hits = hits_of(registry, "HST", text)
    assert [h.text for h in hits] == ["Hubble Space Telescope", "hst"]
    for hit in hits:
        assert text[hit.start : hit.end] == hit.text


def test_no_hits_no_snippets(registry: Registry) -> None:
    paper = body("A paper about cosmology, cosine transforms and statistics.")
    assert find_snippets(paper, registry.get("HST")) == []
