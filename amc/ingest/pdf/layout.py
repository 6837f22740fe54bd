"""Page geometry for PDF text: lines, columns, reading order, paragraphs, clean text.

Part of ``amc.ingest.pdf``. Works on small ``Line`` records (text + bounding box +
font size) so that pymupdf's page dictionaries can be dropped as soon as a
page is read. The order of work on one page is: find the column gutter,
cut the page into horizontal bands at full-width lines (title, abstract,
wide tables), read each band left column then right column, merge pieces of
one visual line (sub/superscripts, inline maths), move small-font rows at
the bottom of a column (footnotes) to the end of the page, and group rows
into paragraphs by vertical gaps, indents and font size.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from amc.domain.text import FOLD

#: where the gutter between two columns may lie, as fractions of the page width
GUTTER_RANGE = (0.35, 0.65)
#: a column must hold this share of the page's characters and this many lines to count
#: (a page may end with a short right column; equation numbers are few and short)
MIN_COLUMN_SHARE = 0.1
MIN_COLUMN_LINES = 3
FULL, LEFT, RIGHT = 0, 1, 2


@dataclass(slots=True)
class Line:
    """One visual line (or piece of one) with its box in page coordinates (y down)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    column: int = FULL

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 0.1)


@dataclass(slots=True)
class Paragraph:
    """Consecutive rows of one column, not yet joined (joining needs the whole paper)."""

    rows: list[str]
    size: float
    page: int
    footnote: bool = False
    text: str = field(default="")


# --- text normalisation -----------------------------------------------------------

# Old TeX fonts (pdfTeX with Type 1 CM fonts) emit accents as separate spacing
# characters before the letter: "Jord´an", "¨Oberg", "Oklopˇci´c".
_SPACING_ACCENTS = {
    "\u00b4": "\u0301",  # acute
    "`": "\u0300",  # grave
    "\u00a8": "\u0308",  # diaeresis
    "\u02c6": "\u0302",  # circumflex
    "\u02dc": "\u0303",  # tilde
    "\u02c7": "\u030c",  # caron
    "\u02d8": "\u0306",  # breve
    "\u02da": "\u030a",  # ring
    "\u02dd": "\u030b",  # double acute
    "\u00b8": "\u0327",  # cedilla
}
# a backtick counts only inside a word ("Molli`ere"): elsewhere it may be code
_ACCENT_RE = re.compile(
    r"([\u00b4\u00a8\u02c6\u02dc\u02c7\u02d8\u02da\u02dd\u00b8]|(?<=[A-Za-z])`)([A-Za-z])"
)
# en dash between digits or letters is a range/compound ("1-45", "Hertzsprung-Russell");
# em dash or a spaced en dash is punctuation
_DASH_RE = re.compile(r"\s*\u2014\s*|\s+\u2013\s+|\u2015")
_SPACE_RE = re.compile(r"[ \t\u00a0]+")


def _fix_accent(match: re.Match[str]) -> str:
    return match.group(2) + _SPACING_ACCENTS[match.group(1)]


def normalise_text(text: str) -> str:
    """NFKC (ligatures, math letters, full-width forms), ASCII quotes and dashes, TeX
    spacing accents re-attached, soft hyphens and zero-width characters removed."""
    text = _ACCENT_RE.sub(_fix_accent, text)
    text = unicodedata.normalize("NFKC", text)
    text = _DASH_RE.sub(" - ", text).replace("\u2013", "-")
    text = text.translate(FOLD)
    return _SPACE_RE.sub(" ", text).strip()


# --- reading one page ----------------------------------------------------------------


def lines_from_dict(page_dict: dict[str, Any]) -> tuple[list[Line], list[str]]:
    """Horizontal text lines of a pymupdf ``get_text("dict")`` page, and the text of
    rotated lines apart (arXiv stamps in the margin, rotated table headers)."""
    lines: list[Line] = []
    rotated: list[str] = []
    for block in page_dict.get("blocks", ()):
        for raw in block.get("lines", ()):
            spans = [s for s in raw.get("spans", ()) if s.get("text")]
            text = normalise_text("".join(s["text"] for s in spans))
            if not text:
                continue
            dx, dy = raw.get("dir", (1.0, 0.0))
            if abs(dy) > 0.05 or dx < 0:
                rotated.append(text)
                continue
            x0, y0, x1, y1 = raw["bbox"]
            lines.append(Line(text, x0, y0, x1, y1, _dominant_size(spans)))
    return lines, rotated


def _dominant_size(spans: list[dict[str, Any]]) -> float:
    """The font size carrying most characters (ignores super/subscripts)."""
    weight: dict[float, int] = {}
    for span in spans:
        size = round(float(span.get("size", 0.0)), 1)
        weight[size] = weight.get(size, 0) + len(span["text"].strip())
    return max(weight, key=lambda s: weight[s]) if weight else 0.0


# --- columns and reading order -------------------------------------------------------


def find_gutter(lines: list[Line], width: float) -> float | None:
    """x of the gap between two text columns, or None for a one-column page.

    The gutter is the x, in the middle part of the page, crossed by the fewest
    characters; it counts only when text of both sides is substantial.
    """
    total = sum(len(line.text) for line in lines)
    if total == 0 or width <= 0:
        return None
    crossing = _crossing_chars(lines, int(width) + 2)
    lo, hi = (int(width * f) for f in GUTTER_RANGE)
    fewest = min(crossing[lo : hi + 1])
    # the middle of the emptiest stretch, so both columns clear it
    candidates = [x for x in range(lo, hi + 1) if crossing[x] == fewest]
    best_x = candidates[len(candidates) // 2]
    left = [len(line.text) for line in lines if line.x1 <= best_x + 1]
    right = [len(line.text) for line in lines if line.x0 >= best_x - 1]
    if min(len(left), len(right)) < MIN_COLUMN_LINES:
        return None
    if min(sum(left), sum(right)) < MIN_COLUMN_SHARE * total:
        return None
    return float(best_x)


def _crossing_chars(lines: list[Line], size: int) -> list[int]:
    """For each integer x, the characters of lines running across it (a prefix sum
    over a difference array: linear in lines plus page width)."""
    diff = [0] * (size + 1)
    for line in lines:
        a, b = max(int(line.x0) + 2, 0), min(int(line.x1) - 1, size)
        if a < b:
            diff[a] += len(line.text)
            diff[b] -= len(line.text)
    return list(itertools.accumulate(diff))


def reading_order(lines: list[Line], gutter: float | None) -> list[list[Line]]:
    """Rows of the page in reading order, each a list of line pieces on one baseline.

    A full-width line closes the current band: everything above it is read
    left column first, then right column. Pieces of one visual line are merged.
    """
    for line in lines:
        line.column = _column(line, gutter)
    rows: list[list[Line]] = []
    band: dict[int, list[Line]] = {LEFT: [], RIGHT: []}
    for line in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        if line.column == FULL:
            rows.extend(_rows(band[LEFT]) + _rows(band[RIGHT]))
            band = {LEFT: [], RIGHT: []}
            _add_to_rows(rows, line)
        else:
            band[line.column].append(line)
    rows.extend(_rows(band[LEFT]) + _rows(band[RIGHT]))
    return rows


def _column(line: Line, gutter: float | None) -> int:
    if gutter is None:
        return FULL
    if line.x1 <= gutter + 2:
        return LEFT
    if line.x0 >= gutter - 2:
        return RIGHT
    return FULL


def _rows(lines: list[Line]) -> list[list[Line]]:
    rows: list[list[Line]] = []
    for line in lines:  # already sorted by y
        _add_to_rows(rows, line)
    return rows


def _add_to_rows(rows: list[list[Line]], line: Line) -> None:
    """Append ``line`` to the last row when it sits on the same baseline, else start one."""
    if rows and rows[-1][0].column == line.column:
        last = rows[-1]
        top, bottom = min(p.y0 for p in last), max(p.y1 for p in last)
        overlap = min(bottom, line.y1) - max(top, line.y0)
        if overlap >= 0.5 * min(line.height, bottom - top):
            last.append(line)
            return
    rows.append([line])


def row_text(row: list[Line]) -> str:
    """Pieces of a row left to right; touching pieces (sub/superscripts) get no space."""
    pieces = sorted(row, key=lambda p: p.x0)
    out = pieces[0].text
    for prev, piece in itertools.pairwise(pieces):
        gap = piece.x0 - prev.x1
        out += ("" if gap < 0.15 * max(prev.size, 1.0) else " ") + piece.text
    return out


# --- paragraphs ------------------------------------------------------------------------


def paragraphs(rows: list[list[Line]], page: int, height: float) -> list[Paragraph]:
    """Group rows into paragraphs; footnotes come after the page's main text."""
    notes = _footnotes(rows, height)
    main = [row for row in rows if id(row) not in notes]
    foot = [row for row in rows if id(row) in notes]
    return _group(main, page) + [
        Paragraph(p.rows, p.size, page, footnote=True) for p in _group(foot, page)
    ]


def _footnotes(rows: list[list[Line]], height: float) -> set[int]:
    """Ids of footnote rows: per column, a short run of rows at the bottom of the page
    set in smaller type than the text just above it (a reference list in small type
    is too long to count)."""
    found: set[int] = set()
    for column in (FULL, LEFT, RIGHT):
        stack = sorted((r for r in rows if r[0].column in (column, FULL)), key=lambda r: r[0].y0)
        run: list[list[Line]] = []
        while stack and stack[-1][0].column == column:
            if run and abs(_size(stack[-1]) - _size(run[0])) > 0.5:
                break
            run.append(stack.pop())
        if not run or not stack or _size(stack[-1]) < _size(run[0]) + 0.8:
            continue
        top, bottom = run[-1][0].y0, max(p.y1 for p in run[0])
        if top > 0.5 * height and bottom - top <= 0.25 * height:
            found.update(id(r) for r in run)
    return found


def _size(row: list[Line]) -> float:
    return max(row, key=lambda p: len(p.text)).size


def _group(rows: list[list[Line]], page: int) -> list[Paragraph]:
    paras: list[Paragraph] = []
    left_edge: dict[int, float] = {}
    for row in rows:
        col = row[0].column
        left_edge[col] = min(left_edge.get(col, 1e9), min(p.x0 for p in row))
    prev: list[Line] | None = None
    for row in rows:
        text = row_text(row)
        if prev is None or _breaks(prev, row, left_edge):
            paras.append(Paragraph([text], _size(row), page))
        else:
            paras[-1].rows.append(text)
        prev = row
    return paras


def _breaks(prev: list[Line], row: list[Line], left_edge: dict[int, float]) -> bool:
    """Does ``row`` start a new paragraph after ``prev``?"""
    if prev[0].column != row[0].column:
        return True
    size = _size(prev)
    p_top, p_bottom = min(p.y0 for p in prev), max(p.y1 for p in prev)
    top = min(p.y0 for p in row)
    if top < p_top or top - p_bottom > 0.6 * size or abs(_size(row) - size) > 1.0:
        return True
    indent = min(p.x0 for p in row) - left_edge[row[0].column]
    ended = row_text(prev).rstrip().endswith((".", ":", "!", "?"))
    return ended and indent > 0.8 * size


def merge_continued(paras: list[Paragraph]) -> list[Paragraph]:
    """Re-join a paragraph cut by a column or page break: the first part does not end
    a sentence and the next part starts in lower case ("... with the" + "batman ...")."""
    out: list[Paragraph] = []
    for para in paras:
        # footnotes moved to the end of a page sit between the two parts
        prev = next((p for p in reversed(out) if not p.footnote), None)
        if (
            prev is not None
            and not para.footnote
            and _continues(prev.rows[-1], para.rows[0])
            and abs(prev.size - para.size) <= 1.0
        ):
            prev.rows.extend(para.rows)
        else:
            out.append(para)
    return out


def _continues(last_row: str, first_row: str) -> bool:
    return bool(first_row[:1].islower()) and not last_row.endswith((".", "!", "?", ":"))


# --- joining rows into text --------------------------------------------------------------

_HYPHEN_END = re.compile(r"(\S*?)([A-Za-z]+)-$")
_COMPOUND_RE = re.compile(r"\b([A-Za-z]+)-([a-z]+)\b")
#: the text before a line-end hyphen is part of an identifier (a DOI, a URL, an id)
_IDENTIFIER = re.compile(r"[\d/]")


def compound_words(texts: list[str]) -> set[str]:
    """Hyphenated words written inside lines ("high-altitude"): a line-end hyphen in
    one of these is a real hyphen, not a hyphenation point."""
    found: set[str] = set()
    for text in texts:
        found.update(f"{a}-{b}".lower() for a, b in _COMPOUND_RE.findall(text))
    return found


def join_rows(rows: list[str], compounds: set[str]) -> str:
    """Join the rows of a paragraph into one line of text, re-joining hyphenated words:
    "observa-" + "tions" -> "observations", but "X-" + "ray" and "high-" + "altitude"
    (when written so elsewhere) keep the hyphen, and "WASP-" + "107b" -> "WASP-107b"."""
    out = rows[0] if rows else ""
    for row in rows[1:]:
        out = _join_two(out, row, compounds)
    return out


def _join_two(left: str, right: str, compounds: set[str]) -> str:
    if left.endswith("-") and not left.endswith(" -") and right:
        match = _HYPHEN_END.search(left)
        first = right.split(" ", 1)[0]
        keep = _keeps_hyphen(match.group(2), first, compounds, match.group(1)) if match else True
        if match and right[0].islower() and not keep:
            return left[:-1] + right
        return left + right  # "WASP-" + "107b", "X-" + "ray", "1.12-" + "1.63"
    if left.endswith("/") and right[:1].isalnum():
        return left + right  # URL broken after a slash
    return f"{left} {right}"


def _keeps_hyphen(head: str, first_word: str, compounds: set[str], token: str = "") -> bool:
    word = re.match(r"[A-Za-z]+", first_word)
    tail = word.group(0) if word else first_word
    if len(head) <= 1 or head.isupper():
        return True
    if _IDENTIFIER.search(token):  # "10.17909/6wjp-" + "qb35": a DOI's own hyphen
        return True
    return f"{head}-{tail}".lower() in compounds
