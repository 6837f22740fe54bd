"""Structure from plain text: title, abstract, body, acknowledgments and references found
in ``.txt`` papers, and what it changes for the rules tier.

The texts are written for these tests in the shapes real text exports take (a PDF
text dump, a JOSS Markdown file, a LaTeX source, an ADS-style record without
headings). Before ``amc.ingest.structure`` a ``.txt`` paper was all body, so an
instrument paper, recognised by its title and abstract, came out as science or
mention.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amc.classify.stream import classify_papers
from amc.ingest import InputRow, read_inputs
from amc.ingest.structure import split_text
from amc.registry import load_registry
from amc.settings import load_settings

ABSTRACT = (
    "We characterise the flat fields of the UVIS channel of Wide Field Camera 3 on the "
    "Hubble Space Telescope over twelve years. The pixel-to-pixel flat-field errors grow by "
    "0.1 per cent per year, and the low-frequency structure tracks the detector temperature. "
    "New reference files correct both effects to 0.3 per cent."
)
BODY = (
    "Flat fields correct the pixel-to-pixel sensitivity of a detector. The UVIS flats were "
    "built before launch and refined in orbit.\n\n"
    "We used internal lamp exposures taken every month since 2009 and compared them with "
    "the ground flats."
)
ACK = "We thank the WFC3 team. Based on observations made with the NASA/ESA Hubble Space Telescope."

#: a long author list with affiliations, as large collaborations print them
AUTHORS = "\n".join(
    f"{chr(65 + i % 26)}. Author{i}{i % 7 + 1}, Department of Physics and Astronomy, University "
    f"of Somewhere {i}, {1000 + 37 * i} College Road, Town, Country"
    for i in range(24)
)

PDF_DUMP = f"""Instrument Science Report WFC3 2022-07

Twelve Years of the UVIS Channel in Orbit

A. Author, B. Builder and C. Checker
Space Telescope Science Institute, Baltimore, MD, USA
{AUTHORS}

ABSTRACT
{ABSTRACT}

1. INTRODUCTION
{BODY}

ACKNOWLEDGMENTS
{ACK}

REFERENCES
Mack, J. et al. 2013, WFC3 ISR 2013-10
Sabbi, E. 2009, WFC3 ISR 2009-19
"""

JOSS = f"""---
title: 'uvisflat: Flat-field Tools for WFC3/UVIS'
tags:
  - Python
---

# Summary

{ABSTRACT}

# Statement of need

{BODY}

# Acknowledgements

{ACK}

# References
"""

LATEX = f"""\\documentclass{{aastex631}}
\\begin{{document}}
\\title{{Flat-field Stability of the \\\\ WFC3/UVIS Detector}}
\\author{{A. Author}}
\\begin{{abstract}}
{ABSTRACT}
\\end{{abstract}}
\\section{{Introduction}}
{BODY}
\\begin{{acknowledgements}}
{ACK}
\\end{{acknowledgements}}
\\bibliography{{refs}}
\\end{{document}}
"""

BARE = f"""Flat-field Stability of the WFC3/UVIS Detector over Twelve Years

{ABSTRACT}

{BODY}
"""


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (PDF_DUMP, "Twelve Years of the UVIS Channel in Orbit"),
        (JOSS, "uvisflat: Flat-field Tools for WFC3/UVIS"),
        (LATEX, "Flat-field Stability of the WFC3/UVIS Detector"),
        (BARE, "Flat-field Stability of the WFC3/UVIS Detector over Twelve Years"),
    ],
    ids=["pdf-text-dump", "joss-markdown", "latex", "no-headings"],
)
def test_title_and_abstract_are_found(text: str, title: str) -> None:
    parts = split_text(text)
    assert parts.title == title
    assert parts.abstract.split() == ABSTRACT.split()
    assert "internal lamp exposures" in parts.body
    assert ABSTRACT[:40] not in parts.body  # nothing is counted twice


@pytest.mark.parametrize("text", [PDF_DUMP, JOSS, LATEX], ids=["pdf", "joss", "latex"])
def test_acknowledgments_and_references_are_kept_apart(text: str) -> None:
    parts = split_text(text)
    assert parts.acknowledgments.split() == ACK.split()
    assert ACK[:20] not in parts.body
    assert "Sabbi" not in parts.body


def test_inline_abstract_heading() -> None:
    text = f"A Title of Several Words\n\nAbstract. {ABSTRACT}\n\n1 Introduction\n\n{BODY}\n"
    parts = split_text(text)
    assert parts.title == "A Title of Several Words"
    assert parts.abstract.startswith("We characterise the flat fields")


def test_a_single_paragraph_stays_body() -> None:
    parts = split_text("We used Hubble.\nThanks.")
    assert (parts.title, parts.abstract, parts.body) == ("", "", "We used Hubble.\nThanks.")


def test_front_matter_lines_are_not_the_title() -> None:
    text = (
        "Draft version March 3, 2024\nTypeset using LaTeX\n\n"
        "Dust Attenuation Curves of Lyman-break Galaxies\n\n"
        "A. Smith, B. Jones\n\n" + ABSTRACT + "\n\n1. Introduction\n\n" + BODY
    )
    assert split_text(text).title == "Dust Attenuation Curves of Lyman-break Galaxies"


def test_nothing_is_lost() -> None:
    parts = split_text(PDF_DUMP)
    kept = " ".join([parts.title, parts.abstract, parts.body, parts.acknowledgments,
                     parts.references])  # fmt: skip
    for word in ("Builder", "lamp", "ground", "WFC3 team", "Mack"):
        assert word in kept


def test_a_txt_instrument_paper_is_instrumentation(tmp_path: Path) -> None:
    """The point of finding the structure: the title and abstract frame an instrument paper.
    With the whole file read as body (before), the abstract lies behind two thousand
    characters of authors and affiliations and the paper came out as science."""
    path = tmp_path / "2022wfc3.isr....7A.txt"
    path.write_text(PDF_DUMP, encoding="utf-8")
    (row,) = list(read_inputs([path]))
    assert isinstance(row, InputRow) and row.paper.title and row.paper.abstract
    settings = load_settings(progress=False)
    (result,) = list(classify_papers([path], load_registry(), settings, ["HST"]))
    assert result.labels is not None and result.labels.instrumentation, result.reason


@pytest.mark.parametrize(
    ("line", "is_title"),
    [
        ("21 cm Intensity Mapping with MeerKAT", True),
        ("3D Simulations of Core-collapse Supernovae", True),
        ("2024 03 05", False),
        ("March 3, 2024", False),
        ("Instrument Science Report WFC3 2022-07", False),
        ("A. Smith, B. Jones and C. Lee", False),
        ("Department of Astronomy, University of Somewhere", False),
    ],
)
def test_what_looks_like_a_title(line: str, is_title: bool) -> None:
    parts = split_text(f"{line}\n\n{ABSTRACT}\n\n1. Introduction\n\n{BODY}\n")
    assert (parts.title == line) is is_title
