"""Evidence made quick to verify (``amc/web/evidence.py``, ``amc/web/latex.py``): LaTeX
leftovers shown readably with offsets kept, marks that never nest, long windows cut to
excerpts around what is marked, quote passages first, PDF page numbers."""

from __future__ import annotations

from itertools import pairwise

import pytest

from amc.domain.models import Evidence, Hit, Paper, Snippet
from amc.web.evidence import MAX_PASSAGE_CHARS, Mark, highlight, pair_passages
from amc.web.latex import display_pieces, display_text
from amc.web.review import ViewParams, paper_links


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("1.1--1.7 $\\mu$m", "1.1–1.7 µm"),
        ("HST~WFC3 data \\citep{a2019, b2020}", "HST WFC3 data [a2019, b2020]"),
        ("< g r a p h i c s > Figure 2", "[figure] Figure 2"),
        ("$M_{\\odot}$ and $10^{-3}$ at $z\\sim1.5$", "M☉ and 10⁻³ at z~1.5"),
        ("\\textit{Hubble} ``data'' --- done", "Hubble “data” — done"),
        ("Fe {\\sc ii} and {\\it HST} data", "Fe II and HST data"),
        ("about ~10 K, a lone $ sign", "about ~10 K, a lone $ sign"),  # real text stays
        ("\\unknowncommand{x}", "\\unknowncommand{x}"),
    ],
)
def test_latex_leftovers_are_shown_readably(source: str, shown: str) -> None:
    assert display_text(source) == shown
    pieces = display_pieces(source)
    assert [(p.start, p.end) for p in pieces] == sorted((p.start, p.end) for p in pieces)
    assert pieces[0].start == 0 and pieces[-1].end == len(source)
    assert all(a.end == b.start for a, b in pairwise(pieces))


def test_marks_land_on_the_stored_offsets_through_replacements() -> None:
    text = "We used $\\mu$m data from HST~WFC3 <b>."
    term = text.index("HST")
    html = str(highlight(text, [Mark(term, term + 3, "term"), Mark(8, 14, "quote")]))
    assert '<mark class="term">HST</mark>' in html
    assert '<mark class="quote">µm</mark>' in html  # the construct and the "m" after it
    assert '<mark class="quote">µ</mark>' in str(highlight(text, [Mark(9, 10, "quote")]))
    assert "&lt;b&gt;" in html and "<b>" not in html
    overlap = str(highlight("abcdef", [Mark(0, 4, "quote"), Mark(2, 3, "term")]))
    assert (
        overlap == '<mark class="quote">ab</mark><mark class="quote term">c</mark>'
        '<mark class="quote">d</mark>ef'
    )


def _paper(body: str, **extra: object) -> Paper:
    return Paper(bibcode="2024ApJ...961..101A", body=body, **extra)  # type: ignore[arg-type]


def test_long_windows_become_short_excerpts_and_quotes_come_first() -> None:
    body = "x " * 5000 + "we used the Hubble Space Telescope here " + "y " * 5000 + "JWST end"
    paper = _paper(body, page_breaks={"body": [(0, 1), (9000, 2)]})
    at = body.index("Hubble")
    hit = Hit(telescope="HST", field="body", start=at, end=at + 22, text="Hubble Space Telescope",
              term="Hubble Space Telescope", kind="alias")  # fmt: skip
    window = Snippet(telescope="HST", field="body", start=0, end=len(body) - 8,
                     text=body[: len(body) - 8], hits=[hit], score=5.0)  # fmt: skip
    trap_at = body.index("JWST")
    quote = Evidence(quote="JWST end", field="body", start=trap_at, end=trap_at + 8,
                     verified=True)  # fmt: skip
    passages = pair_passages(paper, [window], [quote])
    assert passages[0].has_quote and "JWST end" in passages[0].text  # the quote's passage first
    assert all(len(p.text) <= MAX_PASSAGE_CHARS * 2 for p in passages)
    main = next(p for p in passages if "Hubble" in p.text)
    assert main.cut_before and main.cut_after and main.pages == (2, 2)
    assert main.page_label == "p. 2"
    marked = [main.text[m.start : m.end] for m in main.marks]
    assert marked == ["Hubble Space Telescope"] and main.marks[0].kind == "term"
    unverified = Evidence(quote="made up", field="body", start=0, end=7, verified=False)
    assert all(not p.has_quote for p in pair_passages(paper, [window], [unverified]))


def test_links_and_view_query_strings() -> None:
    paper = _paper("", identifiers={"doi": "10.3847/1538-4357/ab1234", "arxiv": "2401.01234"})
    links = dict(paper_links(paper, paper.bibcode))
    ads = "https://ui.adsabs.harvard.edu/abs/2024ApJ...961..101A/abstract"
    assert links == {"DOI": "https://doi.org/10.3847/1538-4357/ab1234",
                     "arXiv": "https://arxiv.org/abs/2401.01234", "ADS": ads}  # fmt: skip
    assert paper_links(None, "DEV.some_paper") == []
    assert dict(paper_links(None, "2019A&A...625A..10X"))["ADS"].endswith(
        "2019A%26A...625A..10X/abstract"
    )
    view = ViewParams.model_validate({"telescope": "HST", "label": "", "min_confidence": "",
                                      "sort": "", "review": "unreviewed"})  # fmt: skip
    assert view.filter.telescope == "HST" and view.min_confidence is None
    assert view.query() == "telescope=HST&review=unreviewed"
    assert "telescope HST" in view.filter.describe()
