"""Papers from PDF files: full text in reading order, split into the ``Paper`` fields.

``paper_from_pdf`` checks cheap things first (size, magic bytes, password,
page count) so a bad file costs little and fails with a specific
``PdfError`` that names the file and says what to do. Pages are read one at
a time into small line records (``amc.ingest.pdf.layout``); running headers,
footers and page numbers are removed by comparing pages; the text is cut
into title, abstract, body, acknowledgments and references by section
headings. The reference list goes to ``Paper.references`` so that a citation
list does not count as mentions of a telescope.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from amc.domain.errors import InputError
from amc.domain.models import Paper
from amc.ingest.pdf.layout import (
    Line,
    Paragraph,
    compound_words,
    find_gutter,
    join_rows,
    lines_from_dict,
    merge_continued,
    paragraphs,
    reading_order,
)
from amc.ingest.pdf.sections import Sections, split_sections

#: pymupdf text flags: keep white space, clip to the page, and no images (memory)
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
#: running headers and footers are looked for in this top/bottom share of a page
MARGIN_SHARE = 0.12
#: fewer extracted characters per page than this, with images, means a scan
MIN_CHARS_PER_PAGE = 20
OCR_HINT = "run OCR first, e.g. `ocrmypdf in.pdf out.pdf`, and classify the OCRed copy"


class PdfError(InputError):
    """A PDF cannot be turned into a paper."""

    kind = "pdf"


class PdfEncryptedError(PdfError):
    kind = "pdf_encrypted"


class PdfCorruptError(PdfError):
    kind = "pdf_corrupt"


class PdfNotPdfError(PdfCorruptError):
    """The file is something else (HTML, text, an image) with a ``.pdf`` name."""

    kind = "pdf_not_pdf"


class PdfEmptyError(PdfError):
    kind = "pdf_empty"


class PdfNeedsOcrError(PdfError):
    kind = "pdf_needs_ocr"


class PdfTooLargeError(PdfError):
    kind = "pdf_too_large"


@dataclass(slots=True)
class PageText:
    """What is kept of one page after reading it: lines, rotated text, image count."""

    number: int
    width: float
    height: float
    lines: list[Line]
    rotated: list[str]
    images: int = 0
    margin: list[str] = field(default_factory=list)


def paper_from_pdf(
    source: Path | bytes,
    name: str,
    *,
    max_pages: int | None = 500,
    max_bytes: int | None = 100 * 2**20,
    default_id: str | None = None,
) -> Paper:
    """Read a PDF (a path or its bytes) into a ``Paper``; ``name`` is used in messages
    and as ``Paper.source``; the bibcode is the one the paper names, else ``default_id``
    (else ``name``'s stem). Raises a ``PdfError`` subclass for a file that cannot be
    used (encrypted, corrupt, not a PDF, empty, image-only, over a limit)."""
    head = _check_bytes(source, name, max_bytes)
    _check_magic(head, name)
    with _open(source, name) as doc:
        _check_document(doc, name, max_pages)
        sections = extract_text(doc, name)
    return _to_paper(sections, name, default_id)


def _check_bytes(source: Path | bytes, name: str, max_bytes: int | None) -> bytes:
    """Size check before anything is parsed; returns the first KiB for sniffing."""
    try:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        if isinstance(source, bytes):
            head = source[:1024]
        else:
            with source.open("rb") as fh:
                head = fh.read(1024)
    except OSError as exc:
        raise PdfError(
            f"cannot read the file ({exc.strerror or exc}); check the path", name
        ) from None
    if size == 0:
        raise PdfEmptyError("is an empty file (0 bytes); download it again", name)
    if max_bytes is not None and size > max_bytes:
        raise PdfTooLargeError(
            f"is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit; "
            "raise max_bytes if this is really one paper",
            name,
        )
    return head


def _check_magic(head: bytes, name: str) -> None:
    # the PDF header may follow some junk, but must be in the first KiB
    if b"%PDF-" in head:
        return
    raise PdfNotPdfError(f"is not a PDF ({_sniff(head)}); check what was downloaded", name)


def _sniff(head: bytes) -> str:
    start = head.lstrip()[:64].lower()
    if start.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return "it is an HTML/XML page, often a publisher's login or download page"
    if start.startswith(b"pk\x03\x04"):
        return "it is a ZIP archive (a .docx or a bundle?)"
    if start.startswith(b"%!ps"):
        return "it is PostScript; convert it with ps2pdf"
    if start.startswith((b"\x89png", b"\xff\xd8\xff", b"gif8", b"ii*\x00", b"mm\x00*")):
        return "it is an image"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary content"
    return "it is plain text"


@contextmanager
def _open(source: Path | bytes, name: str) -> Iterator[pymupdf.Document]:
    try:
        if isinstance(source, bytes):
            doc = pymupdf.open(stream=source, filetype="pdf")
        else:
            doc = pymupdf.open(str(source), filetype="pdf")
    except Exception as exc:  # pymupdf raises several unrelated types for bad files
        raise PdfCorruptError(
            f"cannot be opened as a PDF ({exc}); download it again or repair it "
            "(e.g. `qpdf in.pdf out.pdf`)",
            name,
        ) from None
    try:
        yield doc
    finally:
        doc.close()


def _check_document(doc: pymupdf.Document, name: str, max_pages: int | None) -> None:
    if doc.needs_pass:
        raise PdfEncryptedError(
            "is password-protected; save a copy without a password "
            "(e.g. `qpdf --decrypt --password=PW in.pdf out.pdf`) and use that",
            name,
        )
    pages = doc.page_count
    if pages == 0 and doc.is_repaired:
        raise _damaged(name)
    if pages == 0:
        raise PdfEmptyError("has no pages; check that the right file was saved", name)
    if max_pages is not None and pages > max_pages:
        raise PdfTooLargeError(
            f"has {pages} pages, over the {max_pages}-page limit; "
            "raise max_pages if this is really one paper",
            name,
        )


def extract_text(doc: pymupdf.Document, name: str) -> Sections:
    """Text of an open PDF in reading order, split into sections, with identifiers.

    Raises ``PdfNeedsOcrError`` for a document without a text layer and
    ``PdfCorruptError`` when no page can be read.
    """
    pages = read_pages(doc, name)
    _check_text_layer(pages, name, doc.is_repaired)
    strip_running_lines(pages)
    size = body_font_size(pages)
    paras = [
        para
        for page in pages
        for para in paragraphs(
            reading_order(page.lines, find_gutter(page.lines, page.width)),
            page.number,
            page.height,
        )
    ]
    paras = merge_continued(paras)
    compounds = compound_words([row for para in paras for row in para.rows])
    for para in paras:
        para.text = join_rows(para.rows, compounds)
    metadata = {k: str(v) for k, v in (doc.metadata or {}).items() if v}
    return split_sections(paras, size, metadata, _identifier_texts(pages, metadata), name)


def read_pages(doc: pymupdf.Document, name: str) -> list[PageText]:
    """Read every page once, keeping only small line records; a page that cannot be
    read is skipped (one bad page should not lose the paper)."""
    pages: list[PageText] = []
    failed = 0
    for number in range(doc.page_count):
        try:
            page = doc.load_page(number)
            lines, rotated = lines_from_dict(page.get_text("dict", flags=TEXT_FLAGS))
            images = 0 if lines else len(page.get_images())
            rect = page.rect
        except Exception:  # a damaged page raises whatever mupdf hit
            failed += 1
            continue
        pages.append(PageText(number + 1, rect.width, rect.height, lines, rotated, images))
    if not pages:
        raise PdfCorruptError(
            f"none of its {failed} pages could be read; download it again or repair it", name
        )
    return pages


def _damaged(name: str) -> PdfCorruptError:
    return PdfCorruptError(
        "is damaged (truncated?) and no text could be recovered; download it again", name
    )


def _check_text_layer(pages: list[PageText], name: str, repaired: bool) -> None:
    chars = sum(len(line.text) for page in pages for line in page.lines)
    with_images = sum(1 for page in pages if page.images)
    if chars == 0 and repaired:
        raise _damaged(name)
    if chars == 0 and not with_images:
        raise PdfEmptyError("has pages but no text and no images; check the file", name)
    if chars < MIN_CHARS_PER_PAGE * len(pages) and with_images * 2 >= len(pages):
        raise PdfNeedsOcrError(f"has no text layer (scanned or image-only); {OCR_HINT}", name)


def strip_running_lines(pages: list[PageText]) -> None:
    """Remove running headers/footers (margin rows repeated on many pages, digits
    ignored) and bare page numbers; keep them in ``page.margin`` for identifiers."""
    rows_by_page = [_margin_rows(page) for page in pages]
    counts: Counter[str] = Counter()
    for rows in rows_by_page:
        counts.update({_running_key(text) for text, _ in rows})
    threshold = max(2, math.ceil(0.2 * len(pages)))
    for page, rows in zip(pages, rows_by_page, strict=True):
        drop: set[int] = set()
        for text, members in rows:
            if counts[_running_key(text)] >= threshold or _PAGE_NUMBER.match(text):
                drop.update(id(line) for line in members)
                page.margin.append(text)
        page.lines = [line for line in page.lines if id(line) not in drop]


_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?[-(\[]?\s*\d{1,4}\s*[-)\]]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE
)


def _margin_rows(page: PageText) -> list[tuple[str, list[Line]]]:
    """Lines in the top/bottom margins grouped into rows (same baseline)."""
    top, bottom = page.height * MARGIN_SHARE, page.height * (1 - MARGIN_SHARE)
    margin = sorted(
        (ln for ln in page.lines if ln.y1 <= top or ln.y0 >= bottom),
        key=lambda ln: (ln.y0 + ln.y1) / 2,
    )
    rows: list[list[Line]] = []
    for line in margin:
        centre = (line.y0 + line.y1) / 2
        if rows and abs(centre - (rows[-1][0].y0 + rows[-1][0].y1) / 2) < 0.5 * line.height:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [(" ".join(p.text for p in sorted(row, key=lambda p: p.x0)), row) for row in rows]


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.lower())).strip()


def body_font_size(pages: list[PageText]) -> float:
    """The font size carrying most characters in the document."""
    weight: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            weight[round(line.size * 2) / 2] += len(line.text)
    return weight.most_common(1)[0][0] if weight else 10.0


def _identifier_texts(pages: list[PageText], metadata: dict[str, str]) -> list[str]:
    """Where this paper's own DOI/arXiv id is written, most reliable first: metadata,
    rotated margin stamps (arXiv), page-1 headers/footers (page-1 text before the
    references is added by ``split_sections``)."""
    first = pages[0]
    return [
        " ".join(metadata.get(k, "") for k in ("title", "subject", "keywords")),
        " ".join(text for page in pages[:2] for text in page.rotated),
        " ".join(first.margin),
    ]


def _to_paper(sections: Sections, name: str, default_id: str | None) -> Paper:
    return Paper(
        bibcode=sections.bibcode or default_id or Path(name).stem or "paper",
        title=sections.title,
        abstract=sections.abstract,
        body=sections.body,
        acknowledgments=sections.acknowledgments,
        references=sections.references,
        year=sections.year,
        source=name,
        identifiers=sections.identifiers,
        page_breaks=sections.page_breaks,
    )


__all__ = [
    "PageText",
    "Paragraph",
    "PdfCorruptError",
    "PdfEmptyError",
    "PdfEncryptedError",
    "PdfError",
    "PdfNeedsOcrError",
    "PdfNotPdfError",
    "PdfTooLargeError",
    "body_font_size",
    "extract_text",
    "paper_from_pdf",
    "read_pages",
    "strip_running_lines",
]
