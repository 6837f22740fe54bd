"""Link extraction (``amc.links``) on sentences written the way papers write them.

Each case states the links a telescope bibliography would record for that text; the
sentences are ours (not taken from the dev papers), in the forms real papers use:
acknowledgment boiler-plate, observation logs, data-availability statements.
"""

from __future__ import annotations

import random
import re

import pytest
from link_papers import PAPERS

from amc.domain.models import Link, Pair, Paper, TelescopeLabels
from amc.links import extract_links, holds_number, judge_candidates, pair_links, verify_link
from amc.links.tables import _separator_rows
from amc.registry import load_registry

REGISTRY = load_registry()


def links_of(telescope: str, **fields: str) -> set[tuple[str, str]]:
    paper = Paper(bibcode="2024Test..1..1A", **fields)
    links = extract_links(paper, REGISTRY.get(telescope), REGISTRY)
    for link in links:  # every link points at its quote and holds its value
        assert link.verified and link.source == "rules"
        assert paper.text(link.field)[link.start : link.end] == link.quote
    return {(link.kind, link.value) for link in links}


# --- Chandra observation ids ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "We analysed four archival Chandra ACIS-S observations of the cluster (ObsIDs 1234, "
            "5678, 9012 and 21345), with a total exposure of 210 ks.",
            {"1234", "5678", "9012", "21345"},
        ),
        (
            "The Chandra data (ObsID 22001; PI: Smith) were reprocessed with chandra_repro.",
            {"22001"},
        ),
        (
            "Chandra observed the field three times (Obs. IDs 3380, 4421 & 5002).",
            {"3380", "4421", "5002"},
        ),
        ("The source was observed by Chandra (22.7 ks exposure; obs-id 3083) in 2002.", {"3083"}),
        ("We use Chandra observation 00345 (ObsID 00345) of the remnant.", {"345"}),
    ],
)
def test_obsids_in_prose_lists(body: str, expected: set[str]) -> None:
    found = {v for k, v in links_of("CHANDRA", body=body) if k == "obsid"}
    assert found == {f"CHANDRA:{n}" for n in expected}


def test_counts_after_a_list_of_ids_are_not_ids() -> None:
    body = (
        "We used Chandra ObsID 1234 and 2 other observations of the field; observation "
        "numbers 3 and 4 were affected by flares."
    )
    assert {v for k, v in links_of("CHANDRA", body=body) if k == "obsid"} == {"CHANDRA:1234"}


def test_another_missions_observation_ids_are_not_chandras() -> None:
    body = (
        "The XMM-Newton observation (ObsID 0801234501) was reduced with SAS 19, while the "
        "Chandra ObsIDs 1523 and 1524 were reprocessed with CIAO 4.14."
    )
    assert {v for k, v in links_of("CHANDRA", body=body) if k == "obsid"} == {
        "CHANDRA:1523",
        "CHANDRA:1524",
    }


LATEX_LOG = r"""
\begin{deluxetable}{lccc}
\tablecaption{Chandra observation log of Abell 2029}
\tablehead{\colhead{ObsID} & \colhead{Date} & \colhead{Exposure (ks)} & \colhead{Instrument}}
\startdata
4977 & 2004-01-08 & 77.9 & ACIS-S \\
6101 & 2004-12-17 & 9.9 & ACIS-I \\
10437 & 2008-06-12 & 19.9 & ACIS-I \\
\enddata
\end{deluxetable}
"""

TABULAR_LOG = r"""
\begin{table}
\caption{The X-ray data.}
\begin{tabular}{lcc}
\hline
Obs. ID & Date & Exp. (ks) \\
\hline
10795 & 2009-06-01 & 30.0 \\
10796 & 2009-06-03 & 28.5 \\
\hline
\end{tabular}
\end{table}
"""


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (LATEX_LOG, {"4977", "6101", "10437"}),
        (TABULAR_LOG, {"10795", "10796"}),
        (
            "| Obs. ID | Date | Exposure |\n|---|---|---|\n| 3380 | 2002-02-11 | 48.2 |\n"
            "| 4421 | 2003-03-01 | 21.0 |\n\nThe next paragraph.",
            {"3380", "4421"},
        ),
        (
            "ObsID     Date          Exposure (ks)\n3380      2002-02-11    48.2\n"
            "4421      2003-03-01    21.0\n\nWe fitted the spectra.",
            {"3380", "4421"},
        ),
    ],
)
def test_obsids_in_tables(table: str, expected: set[str]) -> None:
    body = f"We use Chandra observations of the cluster, listed in Table 1.\n{table}"
    found = links_of("CHANDRA", body=body)
    assert {v for k, v in found if k == "obsid"} == {f"CHANDRA:{n}" for n in expected}


def test_an_instrument_in_a_row_of_the_observation_log_is_linked() -> None:
    found = links_of("CHANDRA", body=f"Table 1 lists the Chandra data.\n{LATEX_LOG}")
    assert ("instrument", "ACIS") in found


def test_prose_that_says_obsid_is_not_read_as_a_table() -> None:
    body = "ObsID   is the identifier of a Chandra observation.\nIt has 5 digits 12345  at most."
    assert not {v for k, v in links_of("CHANDRA", body=body) if k == "obsid"}


# --- programme ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("telescope", "text", "expected"),
    [
        ("HST", "We obtained WFC3 images of the cluster (GO-12345, PI: Lee).", {"12345"}),
        ("HST", "The galaxy was observed with HST in program 15678.", {"15678"}),
        ("HST", "Our HST/STIS spectra (PID 16789) were taken in 2021.", {"16789"}),
        ("HST", "These observations are associated with program #13056.", {"13056"}),
        (
            "HST",
            "These observations are associated with program(s) 9822 and 10092.",
            {"9822", "10092"},
        ),
        (
            "HST",
            "We use data from HST programs GO-12345, GO-13456, and GO-14567.",
            {"12345", "13456", "14567"},
        ),
        (
            "HST",
            "This work is based on observations made with the NASA/ESA Hubble Space "
            "Telescope, HST-GO-14918, obtained at STScI.",
            {"14918"},
        ),
        (
            "HST",
            "The data were taken with HST as part of Proposal ID 11563 (PI Illingworth).",
            {"11563"},
        ),
        ("JWST", "We observed the planet with NIRSpec G395H (GO 2110).", {"2110"}),
        ("JWST", "The JWST data were obtained in program 3456.", {"3456"}),
        ("JWST", "These observations are associated with program JWST-GO-2110.", {"2110"}),
        ("JWST", "We use the public JWST ERS 1324 data of the cluster.", {"1324"}),
        ("JWST", "The JWST-Cycle 1 program (ID 2561) imaged the field with NIRCam.", {"2561"}),
        (
            "JWST",
            "These observations are associated with program #3215 and #1963.",
            {"3215", "1963"},
        ),
        ("CHANDRA", "The Chandra data were obtained under proposal number 17700315.", {"17700315"}),
    ],
)
def test_programme_ids_in_every_form(telescope: str, text: str, expected: set[str]) -> None:
    found = {v for k, v in links_of(telescope, body=text) if k == "programme"}
    assert found == {f"{telescope}:{n}" for n in expected}


def test_a_programme_is_attributed_to_the_facility_written_with_it() -> None:
    body = (
        "We observed the transit with the Hubble Space Telescope (HST; Program GO 14915, PI "
        "Kreidberg). The eclipse was observed by Spitzer Program 13052 (PI Werner)."
    )
    assert {v for k, v in links_of("HST", body=body) if k == "programme"} == {"HST:14915"}
    jwst = "The HST images come from HST-GO-1234; we observed with JWST in program 1345."
    assert {v for k, v in links_of("JWST", body=jwst) if k == "programme"} == {"JWST:1345"}


def test_years_and_ranges_are_not_programme_ids() -> None:
    body = (
        "We used HST data from program 12345 and 2019 imaging of the field; the Treasury "
        "program (2024-2028) continues."
    )
    assert {v for k, v in links_of("HST", body=body) if k == "programme"} == {"HST:12345"}


def test_planned_programmes_are_not_links() -> None:
    body = (
        "We observed WASP-107b with HST/WFC3 (program 14915). The planet is already being "
        "observed at other wavelengths (HST Program GO 14916, PI J. Spake). We will observe "
        "it again with HST in Cycle 31 (GO 17500)."
    )
    assert {v for k, v in links_of("HST", body=body) if k == "programme"} == {"HST:14915"}


# --- grants -----------------------------------------------------------------------------------


def test_a_number_only_in_a_grant_string_is_a_grant_link() -> None:
    found = links_of(
        "HST",
        body="We observed NGC 1275 with HST/WFC3 in program 15000.",
        acknowledgments="Support for this work was provided by NASA through grant number "
        "HST-GO-16543.001-A from the Space Telescope Science Institute.",
    )
    assert ("programme", "HST:15000") in found
    assert ("grant", "HST:16543") in found
    assert ("programme", "HST:16543") not in found


def test_a_programme_both_used_and_funded_is_a_data_link_only() -> None:
    found = links_of(
        "HST",
        acknowledgments="Based on observations made with the NASA/ESA Hubble Space Telescope. "
        "These observations are associated with program 15049. Support for program 15049 was "
        "provided by NASA through a grant from the Space Telescope Science Institute.",
    )
    assert found == {("programme", "HST:15049")}


def test_jwst_funding_sentence_alone_gives_a_grant_and_a_fellowship_gives_nothing() -> None:
    found = links_of(
        "JWST",
        body="We reduced the NIRCam data with the jwst pipeline.",
        acknowledgments="Support for program JWST-GO-2345 was provided by NASA through a grant "
        "from the Space Telescope Science Institute. J.S. is supported by NASA Hubble "
        "Fellowship grant HST-HF2-51234.001-A.",
    )
    assert ("grant", "JWST:2345") in found
    assert not any(kind == "programme" for kind, _ in found)
    assert not any("51234" in value for _, value in found)


# --- instruments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("telescope", "text", "expected"),
    [
        ("HST", "We imaged the field with the Advanced Camera for Surveys in F814W.", "ACS"),
        ("HST", "We obtained far-UV spectra with the Cosmic Origins Spectrograph.", "COS"),
        ("HST", "The nucleus was observed with the Space Telescope Imaging Spectrograph.", "STIS"),
        (
            "HST",
            "Archival Wide Field and Planetary Camera 2 images were retrieved from MAST.",
            "WFPC2",
        ),
        ("HST", "We observed a transit with HST's Wide Field Camera 3 (WFC3).", "WFC3"),
        (
            "JWST",
            "The data were taken with the Near Infrared Imager and Slitless Spectrograph.",
            "NIRISS",
        ),
        ("JWST", "We obtained spectra with the Mid-Infrared Instrument's MRS.", "MIRI"),
        (
            "CHANDRA",
            "The nova was observed with the High Resolution Camera (HRC-I) for 20 ks.",
            "HRC",
        ),
        ("CHANDRA", "We obtained HETGS spectra of the star in 2019.", "HETG"),
        ("HST", "We obtained WFC3/IR grism spectra of the planet.", "WFC3"),
        ("JWST", "The NIRSpec MSA spectra were reduced with msaexp.", "NIRSpec"),
        ("CHANDRA", "The cluster was imaged with ACIS-I for 120 ks.", "ACIS"),
    ],
)
def test_spelled_out_names_and_modes_give_the_canonical_instrument(
    telescope: str, text: str, expected: str
) -> None:
    found = {v for k, v in links_of(telescope, body=text) if k == "instrument"}
    assert found == {expected}


@pytest.mark.parametrize(
    ("telescope", "text"),
    [
        ("HST", "Kreidberg et al. (2014) used WFC3 to show that GJ 1214b has a flat spectrum."),
        ("HST", "Previous STIS spectra of this target revealed sodium absorption."),
        (
            "HST",
            "The Cosmic Origins Spectrograph has been used to study the CGM of many "
            "galaxies (e.g., Tumlinson et al. 2011).",
        ),
        ("JWST", "Future observations with MIRI will constrain the dust composition."),
        ("JWST", "These results agree with the NIRSpec measurements of Smith et al. (2023)."),
        ("HST", "WASP-39b was observed with STIS by Sing et al. (2016)."),
        ("JWST", "A NIRCam program to image the field is planned for Cycle 4."),
    ],
)
def test_instruments_only_cited_or_planned_are_not_links(telescope: str, text: str) -> None:
    body = f"We observed the target from the ground. {text} We fitted a model."
    assert not {v for k, v in links_of(telescope, body=body) if k == "instrument"}


def test_instruments_named_in_an_introduction_need_data_use() -> None:
    body = (
        "§ INTRODUCTION\n\nWFC3 has detected water in dozens of exoplanet atmospheres.\n\n"
        "§ OBSERVATIONS\n\nThe target was imaged with ACS in the F606W filter."
    )
    assert {v for k, v in links_of("HST", body=body) if k == "instrument"} == {"ACS"}


def test_a_facilities_line_links_each_telescopes_own_instruments() -> None:
    body = "Facilities: HST (WFC3, STIS), CXO (ACIS), Spitzer (IRAC)"
    assert {v for k, v in links_of("HST", body=body) if k == "instrument"} == {"WFC3", "STIS"}
    assert {v for k, v in links_of("CHANDRA", body=body) if k == "instrument"} == {"ACIS"}


def test_names_of_other_telescopes_instruments_and_traps_are_not_links() -> None:
    assert not links_of("CHANDRA", body="We obtained ACS/HRC images of the jet with HST.")
    assert not links_of("HST", body="We reanalysed the COS-B gamma-ray data of the region.")
    hst = links_of("HST", body="We obtained HST FGS astrometry of the binary.")
    jwst = links_of("JWST", body="We obtained HST FGS astrometry of the binary.")
    assert ("instrument", "FGS") in hst and ("instrument", "FGS") not in jwst


# --- DOIs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The HST data used in this paper can be found in MAST: 10.17909/T9-\nRP4V-4Y85.",
            "10.17909/t9-rp4v-4y85",
        ),
        (
            "All HST data are available at https://doi.org/10.\n17909/ab12-cd34.",
            "10.17909/ab12-cd34",
        ),
        (
            "The HST observations are available in MAST via doi:10.17909/ab\ncd12 as well.",
            "10.17909/abcd12",
        ),
        ("The HST data can be accessed via [doi: 10.17909/6wjp- qb35]", "10.17909/6wjp-qb35"),
        ("The HST data are at 10.17909/T9RP4V.", "10.17909/t9rp4v"),
    ],
)
def test_dois_broken_across_lines_are_joined_and_lower_cased(text: str, expected: str) -> None:
    assert {v for k, v in links_of("HST", body=text) if k == "doi"} == {expected}


def test_dois_belong_to_the_telescopes_named_with_them() -> None:
    body = (
        "We observed the galaxy with JWST/NIRSpec and archival HST/ACS imaging. The Chandra "
        "data are at https://doi.org/10.25574/cdc.123. The JWST data presented in this article "
        "were obtained from MAST. They can be accessed via doi:10.17909/abcd-1234. A paper "
        "on the method is at doi:10.1088/0004-637X/800/1/1."
    )
    assert {v for k, v in links_of("JWST", body=body) if k == "doi"} == {"10.17909/abcd-1234"}
    assert {v for k, v in links_of("HST", body=body) if k == "doi"} == set()
    assert {v for k, v in links_of("CHANDRA", body=body) if k == "doi"} == {"10.25574/cdc.123"}


def test_a_doi_with_no_telescope_named_near_it_is_kept_only_when_unambiguous() -> None:
    alone = "We observed M31 with HST/ACS.\n\n" + "Filler sentence. " * 20 + "Data: 10.17909/xy12."
    assert ("doi", "10.17909/xy12") in links_of("HST", body=alone)
    both = alone.replace("with HST/ACS", "with HST/ACS and JWST/NIRCam")
    assert ("doi", "10.17909/xy12") not in links_of("HST", body=both)


# --- the pair, the evidence, verification ------------------------------------------------------


def test_links_are_only_made_for_science_or_instrumentation_pairs() -> None:
    pair = Pair(
        paper=Paper(bibcode="b", body="We observed it with HST/WFC3 (GO 12345)."), telescope="HST"
    )
    assert pair_links(pair, TelescopeLabels(mention=True), REGISTRY) == []
    assert pair_links(pair, None, REGISTRY) == []
    kinds = [link.kind for link in pair_links(pair, TelescopeLabels(science=True), REGISTRY)]
    assert kinds == ["instrument", "programme"]
    instrumentation = TelescopeLabels(instrumentation=True)
    assert len(pair_links(pair, instrumentation, REGISTRY)) == 2
    none = Pair(paper=pair.paper, telescope="NONE")
    assert pair_links(none, TelescopeLabels(science=True), REGISTRY) == []


def test_each_link_quotes_its_sentence_with_offsets() -> None:
    body = "Intro text here. We observed the transit with WFC3 in 2017. Then we fit it."
    paper = Paper(bibcode="b", body=body)
    (link,) = extract_links(paper, REGISTRY.get("HST"), REGISTRY)
    assert link.quote == "We observed the transit with WFC3 in 2017."
    assert (link.field, link.start) == ("body", body.index("We observed"))


def test_a_link_whose_value_is_not_in_its_quote_is_never_kept() -> None:
    paper = Paper(bibcode="b", body="We observed it with WFC3 in program 12345.")
    hst = REGISTRY.get("HST")
    good = Link(
        kind="programme",
        value="HST:12345",
        quote=paper.body,
        field="body",
        start=0,
        end=len(paper.body),
    )
    assert verify_link(good, paper, hst) == good.model_copy(update={"verified": True})
    for wrong in (
        good.model_copy(update={"value": "HST:12346"}),  # another number
        good.model_copy(update={"value": "HST:1234"}),  # a prefix of the number
        good.model_copy(update={"value": "JWST:12345"}),  # another telescope's
        good.model_copy(update={"start": 1}),  # offsets that do not give the quote
        good.model_copy(update={"kind": "instrument", "value": "ACS"}),
        good.model_copy(update={"kind": "doi", "value": "10.17909/abc"}),
    ):
        assert verify_link(wrong, paper, hst) is None


def test_the_decisions_say_why() -> None:
    paper = Paper(
        bibcode="b",
        body=(
            "Smith et al. (2019) observed it with STIS. We observed it with WFC3. "
            "A future MIRI program will follow."
        ),
    )
    reasons = {
        j.candidate.value: (j.verdict, j.reason)
        for j in judge_candidates(paper, REGISTRY.get("HST"), REGISTRY)
    }
    assert reasons["STIS"] == ("rejected", "others' work or a comparison")
    assert reasons["WFC3"] == ("data", "data-use sentence")


@pytest.mark.parametrize("row", PAPERS, ids=lambda r: f"{r['bibcode']}-{r['telescope']}")
def test_ids_alone_are_judged_as_among_everything(row: dict[str, str]) -> None:
    """The LLM tier asks only for ids and DOIs (instruments are the model's to name):
    without instruments the same ids get the same decisions, and no instrument is read."""
    paper = Paper(**{k: v for k, v in row.items() if k != "telescope"})
    telescope = REGISTRY.get(row["telescope"])
    everything = judge_candidates(paper, telescope, REGISTRY)
    ids_only = judge_candidates(paper, telescope, REGISTRY, instruments=False)
    assert any(j.candidate.kind == "instrument" for j in everything)
    assert [j for j in everything if j.candidate.kind != "instrument"] == ids_only


def _separator_rows_by_rfind(text: str) -> list[tuple[int, int]]:
    """The first version of ``tables._separator_rows`` (rfind back from each separator:
    quadratic on a long text without LaTeX rows), which the bisecting one must equal."""
    rows: set[tuple[int, int]] = set()
    for separator in ("&", "|", "\t", "  "):
        pos = text.find(separator)
        while pos >= 0:
            latex_row = text.rfind("\\\\", 0, pos)
            start = max(text.rfind("\n", 0, pos) + 1, latex_row + 2 if latex_row >= 0 else 0)
            ends = [i for i in (text.find("\n", pos), text.find("\\\\", pos)) if i >= 0]
            row = (start, min(ends) if ends else len(text))
            rows.add(row)
            pos = text.find(separator, max(row[1], pos + 1))
    return sorted(rows)


def test_table_rows_are_found_as_by_looking_back_from_each_separator() -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", " ", "  ", "&", "|", "\t", "\n", "\\", "\\\\", "\\\\\\", "ObsID"]
    texts = ["", "&", "\\\\", "a\\\\&", "&\\\\", "\\\\\\&\n|"]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 60))) for _ in range(3000)]
    for text in texts:
        assert _separator_rows(text) == _separator_rows_by_rfind(text), repr(text)


def test_a_number_is_found_in_a_quote_as_the_pattern_per_number_found_it() -> None:
    rng = random.Random(3)
    alphabet = ["0", "00", "1", "12", "7", "9", " ", "-", "a", "\u0663", "\u00b2", ".", "GO"]
    numbers = ["0", "00", "1", "12", "012", "0012", "7", "120", "112", "\u0663", "1\u0663"]
    for _ in range(4000):
        quote = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
        number = rng.choice(numbers)
        want = number.lstrip("0") or "0"
        old = re.search(rf"(?<!\d)0*{want}(?!\d)", quote) is not None
        assert holds_number(quote, number) == old, (quote, number)
