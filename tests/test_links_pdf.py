"""Links read from PDFs: DOIs and ids broken across lines survive extraction.

The PDFs are typeset by ``tests/pdfgen.py`` with line breaks planted inside a DOI
(``|``), as a journal's two-column layout breaks long identifiers.
"""

from __future__ import annotations

import pdfgen

from amc.domain.models import Pair
from amc.ingest.pdf import paper_from_pdf
from amc.ingest.pdf.layout import join_rows
from amc.links import extract_links
from amc.registry import load_registry

REGISTRY = load_registry()


def test_a_line_break_after_a_hyphen_inside_an_identifier_keeps_the_hyphen() -> None:
    """Joining PDF rows undoes hyphenation ("observa-" + "tions"), but a DOI broken at
    its own hyphen keeps it: the DOI is 10.17909/6wjp-qb35, not 10.17909/6wjpqb35."""
    assert join_rows(["doi:10.17909/6wjp-", "qb35 in MAST."], set()) == (
        "doi:10.17909/6wjp-qb35 in MAST."
    )
    assert join_rows(["observa-", "tions"], set()) == "observations"


def _pdf_paper(availability: str) -> Pair:
    spec = pdfgen.PaperSpec(
        sections=[
            (
                "1. Observations",
                [
                    "We observed the target with the Hubble Space Telescope Wide Field Camera 3 "
                    "in program GO 16789. The data were reduced with calwf3. " * 2,
                ],
            ),
            ("2. Data availability", [availability]),
        ],
    )
    return Pair(paper=paper_from_pdf(pdfgen.two_column_paper(spec), "broken.pdf"), telescope="HST")


def test_dois_broken_across_pdf_lines_are_joined() -> None:
    pair = _pdf_paper(
        "All the HST data used in this paper can be found in MAST: "
        "doi:10.17909/6wjp-|qb35. The reduced spectra of the second visit are "
        "at https://doi.org/10.17909/|t9-abcd-1234 as well."
    )
    links = extract_links(pair.paper, REGISTRY.get("HST"), REGISTRY)
    dois = {link.value for link in links if link.kind == "doi"}
    assert dois == {"10.17909/6wjp-qb35", "10.17909/t9-abcd-1234"}
    assert {link.value for link in links if link.kind == "programme"} == {"HST:16789"}
    assert {link.value for link in links if link.kind == "instrument"} == {"WFC3"}
    assert all(link.verified for link in links)
