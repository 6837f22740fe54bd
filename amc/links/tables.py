"""Ids listed in a table column: LaTeX (``&`` and ``\\\\``), Markdown pipes, tabs or aligned text.

A header cell that is exactly an id header ("ObsID", "Obs. ID", ``\\colhead{ObsID}``)
names a column; the cells under it that are ids (or short lists of ids) are read
until the table ends (``\\end{...}``, ``\\enddata``, or rows without an id).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator

from amc.domain.memo import TextMemo
from amc.domain.models import TextField
from amc.links.candidates import Candidate
from amc.registry import Telescope
from amc.registry.link_matching import IdPatterns
from amc.registry.matching import places

#: rows read under one header at most
MAX_ROWS = 500
#: rows in a row without an id before the table is taken to have ended
MAX_GAP_ROWS = 2

_ROW_END = re.compile(r"\\\\|\n")
_LATEX = re.compile(r"\\[A-Za-z]+\*?(?:\[[^\]]*\])?|[{}$]")
_RULE = re.compile(
    r"^[\s\-=|:+]*$|^\s*\\(?:hline|tableline|midrule|toprule|bottomrule|startdata|cline)"
)
_TABLE_END = re.compile(r"\\end\{|\\enddata")
_SEPARATORS = (r"&", r"\|", r"\t", r" {2,}")


def find_table_ids(text: str, field: TextField, telescope: Telescope) -> list[Candidate]:
    """Ids in the columns of ``telescope``'s id tables found in ``text``."""
    kinds = [(k, p) for k, p in telescope.link_patterns.ids.items() if p.table_header is not None]
    if not kinds:
        return []
    out: list[Candidate] = []
    seen: set[int] = set()
    # a header row has cell separators: only such rows are searched for headers (cheap)
    for row_start, row_end in _ROWS.get(text, None, lambda: _separator_rows(text)):
        for kind, patterns in kinds:
            assert patterns.table_header is not None
            for header in patterns.table_header.finditer(text, row_start, row_end):
                column = _column_of(text, row_start, row_end, header, patterns)
                if column is None:
                    continue
                for start, end, number, row in _column_ids(text, row_end, column, patterns):
                    if start not in seen:
                        seen.add(start)
                        value = patterns.value(telescope.key, number)
                        out.append(Candidate(kind, value, field, start, end, row=row))
    return out


#: the rows with cell separators of the texts being searched (each telescope of a paper
#: searches the same fields)
_ROWS: TextMemo[list[tuple[int, int]]] = TextMemo(8_000_000)


def _separator_rows(text: str) -> list[tuple[int, int]]:
    """The rows (lines, or LaTeX rows ending in ``\\\\``) holding a cell separator."""
    bounds: _RowBounds | None = None  # most texts have no separator: found only then
    rows: set[tuple[int, int]] = set()
    for separator in ("&", "|", "\t", "  "):
        pos = text.find(separator)
        while pos >= 0:
            bounds = bounds or _RowBounds(text)
            row = bounds.around(pos)
            rows.add(row)
            pos = text.find(separator, max(row[1], pos + 1))
    return sorted(rows)


class _RowBounds:
    """Where the rows of a text start and end: the offsets of its newlines and of every
    ``\\\\`` (overlapping ones too), looked up by bisection. (Looking backwards with
    ``rfind`` from each separator scanned back to the start of a text without LaTeX rows:
    quadratic in the length of a long paper.)"""

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.newlines = places(text, ["\n"])
        self.latex = places(text, ["\\\\"])  # overlapping ones too

    def around(self, pos: int) -> tuple[int, int]:
        """The row holding ``pos``: after the last newline or ``\\\\`` that ends before it,
        up to the first that starts at or after it."""
        newline = _last_before(self.newlines, pos)
        latex = _last_before(self.latex, pos - 1)  # the whole ``\\\\`` before ``pos``
        start = max(newline + 1, latex + 2 if latex >= 0 else 0)
        ends = [
            i for i in (_first_from(self.newlines, pos), _first_from(self.latex, pos)) if i >= 0
        ]
        return start, min(ends) if ends else self.length


def _last_before(offsets: list[int], pos: int) -> int:
    """The largest offset below ``pos``, or -1."""
    i = bisect_left(offsets, pos)
    return offsets[i - 1] if i else -1


def _first_from(offsets: list[int], pos: int) -> int:
    """The smallest offset at or after ``pos``, or -1."""
    i = bisect_left(offsets, pos)
    return offsets[i] if i < len(offsets) else -1


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cell spans of one row: split on ``&``, ``|``, tabs, else runs of two or more spaces
    (a row of single spaces is one cell: prose, not a table)."""
    row = text[start:end]
    separator = next((s for s in _SEPARATORS if re.search(s, row.strip())), None)
    if separator is None:
        return [(start, end)]
    spans, pos = [], 0
    for m in re.finditer(separator, row):
        spans.append((start + pos, start + m.start()))
        pos = m.end()
    spans.append((start + pos, end))
    return spans


def _clean(cell: str) -> str:
    return _LATEX.sub(" ", cell).strip()


def _column_of(
    text: str, start: int, end: int, header: re.Match[str], patterns: IdPatterns
) -> int | None:
    """The header's column, if its cell is the id header alone (prose that happens to
    say "ObsID" is not a table)."""
    cells = _cells(text, start, end)
    if len(cells) < 2 or patterns.table_header is None:
        return None
    for i, (a, b) in enumerate(cells):
        if a <= header.start() < b:
            cleaned = re.sub(r"\([^)]*\)", "", _clean(text[a:b])).strip()
            return i if patterns.table_header.fullmatch(cleaned) else None
    return None


def _rows_after(text: str, pos: int) -> Iterator[tuple[int, int]]:
    start = pos
    for m in _ROW_END.finditer(text, pos):
        if m.start() > start:
            yield start, m.start()
        start = m.end()
    if start < len(text):
        yield start, len(text)


def _column_ids(
    text: str, pos: int, index: int, patterns: IdPatterns
) -> Iterator[tuple[int, int, str, tuple[int, int]]]:
    """``(start, end, number, row span)`` of the ids under the header, row by row."""
    gap = 0
    for n, (row_start, row_end) in enumerate(_rows_after(text, pos)):
        row = text[row_start:row_end]
        if n >= MAX_ROWS or _TABLE_END.search(row):
            return
        if not row.strip() or _RULE.match(row):
            continue
        cells = _cells(text, row_start, row_end)
        found = list(_ids_in_cell(text, cells[index], patterns)) if index < len(cells) else []
        if not found:
            gap += 1
            if gap >= MAX_GAP_ROWS:
                return
            continue
        gap = 0
        for start, end, number in found:
            yield start, end, number, (row_start, row_end)


def _ids_in_cell(
    text: str, cell: tuple[int, int], patterns: IdPatterns
) -> Iterator[tuple[int, int, str]]:
    a, b = cell
    content = _clean(text[a:b])
    pieces = [p for p in re.split(r"[\s,;/]+", content) if p]
    if not pieces or not all(patterns.number.fullmatch(p) for p in pieces):
        return
    pos = a
    for piece in pieces:
        m = re.compile(rf"(?<!\d){re.escape(piece)}(?!\d)").search(text, pos, b)
        if m is not None:
            pos = m.end()
            yield m.start(), m.end(), piece
