"""Generate test PDFs with pymupdf: papers with planted structure, and broken files.

``two_column_paper`` is a tiny typesetter: a full-width title, authors and
abstract on page 1, then two columns of numbered sections, an
acknowledgments section and a reference list, with a running header, a
journal footer and a page number on every page. In paragraph text a ``|``
forces a line break there, so a test can plant "observa-|tions" or
"X-|ray" exactly at a line end.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

import pymupdf

PAGE_W, PAGE_H = 612.0, 792.0
MARGIN, GUTTER = 54.0, 24.0
TOP, BOTTOM = 72.0, 740.0
COL_W = (PAGE_W - 2 * MARGIN - GUTTER) / 2
BODY, LEADING = 10.0, 12.0
RUNNING_TITLE = "Smith et al."
JOURNAL_FOOTER = "Journal of Planted Results 12, 1-20 (2024)"

#: words of the random filler text
VOCABULARY = (
    "the transit light curve spectrum planet star model data orbit fit residual noise "
    "analysis telescope observation pipeline calibration detector exposure flux water "
    "atmosphere signal depth error band cloud haze retrieval measured derived"
)


@dataclass
class PaperSpec:
    """What to print; defaults give a small complete paper."""

    title: str = "A Planted Title About Transit Spectroscopy"
    authors: str = "Ann Smith, Bob Jones and Cy Lee"
    affiliation: str = "Space Telescope Science Institute, Baltimore, MD 21218, USA"
    abstract: str = "We present planted abstract text observed with the Hubble Space Telescope."
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    acknowledgments: str = "We thank the planted referee. Based on observations with HST."
    ack_heading: bool = True
    references: list[str] = field(default_factory=list)
    arxiv_stamp: str | None = None
    doi_footer: str | None = None
    metadata_title: str | None = None
    filler_pages: int = 0
    seed: int = 0


def filler_paragraph(rng: random.Random, sentences: int = 5) -> str:
    """A paragraph of random sentences; one in ten names the telescope."""
    vocabulary = VOCABULARY.split()
    out = []
    for _ in range(sentences):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(8, 16))]
        if rng.random() < 0.1:
            words.insert(3, "HST")
        sentence = " ".join(words)
        out.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(out)


class _Writer:
    """Flows text into two columns over as many pages as needed."""

    def __init__(self, doc: pymupdf.Document, spec: PaperSpec) -> None:
        self.doc, self.spec = doc, spec
        self.page: pymupdf.Page
        self.column, self.y, self.column_top = 0, TOP, TOP
        self.new_page()

    def new_page(self) -> None:
        self.page = self.doc.new_page(width=PAGE_W, height=PAGE_H)
        _add_unicode_fonts(self.page)
        number = self.doc.page_count
        self.page.insert_text((MARGIN, 40), RUNNING_TITLE, fontsize=8, fontname="helv")
        self.page.insert_text((PAGE_W - MARGIN - 12, 40), str(number), fontsize=8)
        self.page.insert_text((MARGIN, 770), JOURNAL_FOOTER, fontsize=8)
        self.page.insert_text((PAGE_W / 2 - 15, 782), f"Page {number}", fontsize=8)
        self.column, self.y = 0, TOP

    def full_width(self, text: str, size: float, font: str = "uni", gap: float = 6) -> None:
        self.y += gap
        for line in wrap(text, PAGE_W - 2 * MARGIN, size, font):
            self.y += size * 1.2
            self.page.insert_text((MARGIN, self.y), line, fontsize=size, fontname=font)
        self.y += 4

    def column_text(self, text: str, size: float = BODY, font: str = "uni", gap: float = 8) -> None:
        self.y += gap
        for line in wrap(text, COL_W, size, font):
            if self.y + LEADING > BOTTOM:
                self.next_column()
            self.y += LEADING
            x = MARGIN + self.column * (COL_W + GUTTER)
            self.page.insert_text((x, self.y), line, fontsize=size, fontname=font)

    def next_column(self) -> None:
        if self.column == 0:
            self.column, self.y = 1, self.column_top
        else:
            self.new_page()
            self.column_top = TOP


def _add_unicode_fonts(page: pymupdf.Page) -> None:
    """Embed the built-in Helvetica clones as Unicode fonts ("uni", "unibold"): the
    base-14 encoding would turn ligatures, curly quotes and dashes into "?"."""
    page.insert_font(fontname="uni", fontbuffer=pymupdf.Font("helv").buffer)
    page.insert_font(fontname="unibold", fontbuffer=pymupdf.Font("hebo").buffer)


@functools.cache
def _char_width(char: str, bold: bool) -> float:
    return float(pymupdf.Font("hebo" if bold else "helv").text_length(char, fontsize=1))


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Printed width of ``text`` in the Helvetica clones (pymupdf's own measuring is
    slow per call; the width table is cached per character)."""
    return size * sum(_char_width(c, bold) for c in text)


def wrap(text: str, width: float, size: float, font: str) -> list[str]:
    """Greedy word wrap; ``|`` inside a word forces a line break there."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        pieces = word.split("|")
        for i, piece in enumerate(pieces):
            trial = f"{current} {piece}".strip()
            if current and text_width(trial, size, bold=font == "unibold") > width:
                lines.append(current)
                trial = piece
            current = trial
            if i < len(pieces) - 1:
                lines.append(current)
                current = ""
    if current:
        lines.append(current)
    return lines


def two_column_paper(spec: PaperSpec | None = None) -> bytes:
    """A paper laid out as described in the module docstring, as PDF bytes."""
    spec = spec or PaperSpec()
    doc = pymupdf.open()
    w = _Writer(doc, spec)
    w.full_width(spec.title, 16, "unibold", gap=10)
    w.full_width(spec.authors, 10)
    w.full_width(spec.affiliation, 8)
    w.full_width("Abstract", 10, "unibold", gap=10)
    w.full_width(spec.abstract, 9)
    w.column_top = w.y + 10
    w.y = w.column_top
    _page_one_extras(w.page, spec)
    rng = random.Random(spec.seed)
    for heading, paras in spec.sections:
        w.column_text(heading, font="unibold", gap=14)
        for para in paras:
            w.column_text(para)
    while doc.page_count < spec.filler_pages:
        w.column_text(filler_paragraph(rng))
    if spec.acknowledgments:
        if spec.ack_heading:
            w.column_text("Acknowledgments", font="unibold", gap=14)
        w.column_text(spec.acknowledgments)
    if spec.references:
        w.column_text("References", font="unibold", gap=14)
        for ref in spec.references:
            w.column_text(ref, size=8, gap=4)
    if spec.metadata_title:
        doc.set_metadata({"title": spec.metadata_title})
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return bytes(data)


def _page_one_extras(page: pymupdf.Page, spec: PaperSpec) -> None:
    if spec.arxiv_stamp:
        page.insert_text((30, 500), spec.arxiv_stamp, fontsize=14, rotate=90, color=(0.5, 0.5, 0.5))
    if spec.doi_footer:
        page.insert_text((MARGIN, 755), f"https://doi.org/{spec.doi_footer}", fontsize=7)


def one_column_pdf(paragraphs: list[str], title: str = "One Column Note") -> bytes:
    """A one-column document: title then paragraphs, no headers."""
    doc = pymupdf.open()
    page = doc.new_page(width=PAGE_W, height=PAGE_H)
    _add_unicode_fonts(page)
    y = TOP
    page.insert_text((MARGIN, y), title, fontsize=16, fontname="unibold")
    for para in paragraphs:
        y += 10
        for line in wrap(para, PAGE_W - 2 * MARGIN, BODY, "uni"):
            y += LEADING
            page.insert_text((MARGIN, y), line, fontsize=BODY, fontname="uni")
    data = doc.tobytes()
    doc.close()
    return bytes(data)


def encrypted_pdf(password: str = "secret") -> bytes:
    """A paper that needs a user password to open."""
    doc = pymupdf.open("pdf", two_column_paper())
    data = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner"
    )
    doc.close()
    return bytes(data)


def image_only_pdf(pages: int = 2) -> bytes:
    """Pages holding only a picture: what a scanner produces without OCR."""
    doc = pymupdf.open()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 120, 160), False)
    pix.set_rect(pix.irect, (200, 200, 200))
    for _ in range(pages):
        page = doc.new_page(width=PAGE_W, height=PAGE_H)
        page.insert_image(page.rect, pixmap=pix)
    data = doc.tobytes()
    doc.close()
    return bytes(data)


def zero_page_pdf() -> bytes:
    """A valid PDF whose page tree is empty (pymupdf refuses to save one)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def joined_copies(data: bytes, copies: int) -> bytes:
    """``copies`` copies of a PDF in one file: a long document made quickly."""
    src = pymupdf.open("pdf", data)
    doc = pymupdf.open()
    for _ in range(copies):
        doc.insert_pdf(src)
    out = doc.tobytes(garbage=1)
    doc.close()
    src.close()
    return bytes(out)


def truncated_pdf(keep: float = 0.3) -> bytes:
    """The first ``keep`` share of a real paper's bytes (an interrupted download)."""
    data = two_column_paper()
    return data[: int(len(data) * keep)]
