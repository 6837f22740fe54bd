"""Private to ``amc.ingest``: the columns an input may have, and one record (normalised
column names -> values) turned into an ``InputRow``, or into a ``BadRow`` saying which
value is wrong and how to fix it.

The row types and reader options live here too, so that ``amc.ingest`` (the file
readers) can import them without a cycle; ``amc.ingest`` re-exports the public names.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from amc.domain.errors import InputError
from amc.domain.metrics import LABEL_COLUMNS, parse_label_value
from amc.domain.models import TEXT_FIELDS, Paper, TelescopeLabels, split_pair_id
from amc.ingest.ids import default_id

IDENTIFIER_COLUMNS = ("doi", "arxiv")
PAPER_COLUMNS: tuple[str, ...] = ("bibcode", "telescope", "id", "author", "authors", "year")
#: metadata that real exports carry and that is read (doi, arxiv) or safely ignored
TOLERATED_COLUMNS = ("confidence", "split", "note", "notes", "doi", "arxiv", "__index_level_0__")
KNOWN_COLUMNS = frozenset((*PAPER_COLUMNS, *TEXT_FIELDS, *LABEL_COLUMNS, *TOLERATED_COLUMNS))
#: as listed in error messages (the pandas index column is no one's to write)
_SHOWN_COLUMNS = ", ".join(
    name
    for name in (*PAPER_COLUMNS, *TEXT_FIELDS, *LABEL_COLUMNS, *TOLERATED_COLUMNS)
    if name != "__index_level_0__"
)
#: spellings that mean a known column
COLUMN_ALIASES = {"acknowledgements": "acknowledgments"}

# NUL and other control characters break CSV/database writers later; tab and newline stay
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# the same characters found on UTF-8 bytes, where C code scans ~20x faster than ``re`` on str
_C0_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")


@dataclass(frozen=True)
class InputRow:
    """One readable row: a paper, the telescope it is paired with, and stored labels."""

    paper: Paper
    #: upper-cased; None when the input names no telescope
    telescope: str | None
    gold: TelescopeLabels | None
    #: the file it came from (``archive.zip!member.txt`` inside a zip)
    path: str
    #: 1-based data row within that file (header not counted; line for JSONL; 1 for txt/pdf)
    row: int


@dataclass(frozen=True)
class BadRow:
    """One row, or a whole file (``row`` None), that could not be read."""

    error: InputError
    path: str
    row: int | None
    bibcode: str | None = None
    telescope: str | None = None
    #: the whole item is one paper (a PDF or text file), not a row of a table: it is
    #: always recorded and never stops a run, like a bad paper in a batch
    document: bool = False


@dataclass(frozen=True)
class Options:
    """The settings of one ``read_inputs`` call (documented there)."""

    chunk_rows: int
    allow_extra_columns: bool
    max_field_chars: int
    max_zip_bytes: int
    pdf_max_pages: int | None = 500
    pdf_max_bytes: int | None = 100 * 2**20
    #: the id of each document (txt, pdf) of the run, by display path (``ids.py``)
    documents: Mapping[str, str] = field(default_factory=dict)

    def document_id(self, display: str) -> str:
        """The id of the document read as ``display``: unique in the run."""
        return self.documents.get(display) or default_id(display)


class _FieldError(ValueError):
    """A bad value in a row; turned into an ``InputError`` naming the file and row."""


InputItem = InputRow | BadRow


# --- column names ---------------------------------------------------------------------------


def check_columns(names: Sequence[str], display: str, options: Options) -> dict[str, str]:
    """Map each known column to its normalised name; unknown columns reject the file."""
    normalised = [column_name(name) for name in names]
    unknown = [
        name for name, norm in zip(names, normalised, strict=True) if norm not in KNOWN_COLUMNS
    ]
    if unknown and not options.allow_extra_columns:
        raise InputError(unknown_columns_message(unknown), display)
    counts = Counter(norm for norm in normalised if norm in KNOWN_COLUMNS)
    repeated = sorted(norm for norm, count in counts.items() if count > 1)
    if repeated:
        raise InputError(f"column(s) {', '.join(repeated)} appear twice; keep one", display)
    known = {
        name: norm for name, norm in zip(names, normalised, strict=True) if norm in KNOWN_COLUMNS
    }
    if not {"bibcode", "id"} & set(known.values()):
        found = ", ".join(map(repr, names)) or "none"
        raise InputError(f"no 'bibcode' or 'Id' column (columns: {found}); add one", display)
    return known


def column_name(name: str) -> str:
    """A column name as records use it: trimmed, lower-case, aliases resolved."""
    norm = str(name).strip().lower()
    return COLUMN_ALIASES.get(norm, norm)


def unknown_columns_message(unknown: Sequence[str]) -> str:
    """The error for unknown columns: close matches, the known columns and what to do."""
    hints = [
        f"{name!r} (did you mean {match[0]!r}?)"
        if (match := difflib.get_close_matches(column_name(name), KNOWN_COLUMNS, n=1))
        else repr(name)
        for name in unknown
    ]
    # a European-locale spreadsheet export puts every column in one
    semicolons = any(";" in name for name in unknown)
    separator = " (the file looks ';'-separated: save it comma-separated)" if semicolons else ""
    return (
        f"unknown column(s) {', '.join(hints)}{separator}; known columns: {_SHOWN_COLUMNS}"
        "; rename them or pass --allow-extra-columns to ignore them"
    )


# --- one record -> one row ----------------------------------------------------------------


def record_to_row(
    record: Mapping[str, object],
    display: str,
    row: int,
    options: Options,
    source: str | None = None,
) -> InputItem:
    """Validate one record (normalised column names) into an ``InputRow`` or a ``BadRow``."""
    try:
        bibcode, telescope = _pair_key(record, options.max_field_chars)
        paper = Paper(
            bibcode=bibcode,
            year=_year(record.get("year")),
            authors=_authors(record, options),
            source=source or f"{display}#row={row}",
            identifiers=_identifiers(record, options),
            **{field: _text(record, field, options) for field in TEXT_FIELDS},
        )
        gold = _gold(record)
    except _FieldError as exc:
        return bad_row(str(exc), display, row, record)
    return InputRow(paper=paper, telescope=telescope, gold=gold, path=display, row=row)


def bad_row(
    message: str, display: str, row: int, record: Mapping[str, object] | None = None
) -> BadRow:
    """A ``BadRow`` for one row, keyed by whatever bibcode/telescope the record still gives."""
    bibcode, telescope = _best_effort_key(record or {})
    return BadRow(InputError(message, display, row), display, row, bibcode, telescope)


def _best_effort_key(record: Mapping[str, object]) -> tuple[str | None, str | None]:
    try:
        return _pair_key(record, sys.maxsize)
    except _FieldError:
        bibcode = record.get("bibcode")
        return (bibcode.strip() or None if isinstance(bibcode, str) else None), None


def _pair_key(record: Mapping[str, object], limit: int) -> tuple[str, str | None]:
    """(bibcode, telescope); a Kaggle ``Id`` decides over ``bibcode``/``telescope``."""
    pair = _string(record.get("id"), "Id", limit).strip()
    if pair:
        try:
            bibcode, telescope = split_pair_id(pair)
        except ValueError as exc:
            raise _FieldError(str(exc)) from None
        return bibcode.strip(), telescope.strip().upper()
    bibcode = _string(record.get("bibcode"), "bibcode", limit).strip()
    if not bibcode:
        raise _FieldError("no bibcode (and no Id); every row needs one")
    telescope = _string(record.get("telescope"), "telescope", limit).strip().upper()
    return bibcode, telescope or None


def _text(record: Mapping[str, object], column: str, options: Options) -> str:
    return _string(record.get(column), column, options.max_field_chars)


def _string(value: object, column: str, max_chars: int) -> str:
    """A checked, cleaned text value: numbers become text, lists/dicts are errors."""
    if value is None or (isinstance(value, float) and value != value):  # null / NaN
        return ""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise _FieldError(f"column {column!r} is not valid UTF-8") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _FieldError(f"column {column!r} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise _FieldError(
            f"column {column!r} has {len(value):,} characters, more than the limit of "
            f"{max_chars:,}; shorten it or raise the max-field-chars setting"
        )
    try:
        # bytes that were not UTF-8 (kept as surrogates by "surrogateescape") fail here
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise _FieldError(
            f"column {column!r} is not valid UTF-8; re-save the file as UTF-8"
        ) from None
    return _clean(value, data)


def _clean(text: str, data: bytes) -> str:
    """``text`` without control characters and with ``\\n`` line ends (``data``: its UTF-8)."""
    c1 = not text.isascii() and _C1_UTF8.search(data)  # isascii: a flag of the str, no scan
    if len(data.translate(None, _C0_BYTES)) < len(data) or c1:
        text = _CONTROL.sub("", text)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _year(value: object) -> int | None:
    if isinstance(value, str):
        value = value.strip()
        try:
            value = float(value) if value else None
        except ValueError:
            raise _FieldError(f"column 'year' must be a whole number, got {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or value == 0:  # TRACS stores unknown years as 0
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _FieldError(f"column 'year' must be a whole number, got {value!r}")
    return value


def _authors(record: Mapping[str, object], options: Options) -> list[str]:
    value = record.get("authors")
    if value is None or value in ("", []):
        value = record.get("author")
    if isinstance(value, list):
        names = [_string(name, "authors", options.max_field_chars) for name in value]
    else:
        names = _string(value, "author", options.max_field_chars).split(";")
    return [name.strip() for name in names if name.strip()]


def _identifiers(record: Mapping[str, object], options: Options) -> dict[str, str]:
    found = {key: _text(record, key, options).strip() for key in IDENTIFIER_COLUMNS}
    return {key: value for key, value in found.items() if value}


def _gold(record: Mapping[str, object]) -> TelescopeLabels | None:
    """All four labels, or None when the row has none; a partial set is an error."""
    values = {column: _label(record.get(column), column) for column in LABEL_COLUMNS}
    missing = [column for column, value in values.items() if value is None]
    if len(missing) == len(LABEL_COLUMNS):
        return None
    if missing:
        raise _FieldError(
            f"labels are incomplete: {', '.join(missing)} missing; give all four or none"
        )
    return TelescopeLabels(**{column: bool(value) for column, value in values.items()})


def _label(value: object, column: str) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = parse_label_value(value)
    if parsed is not None:
        return parsed
    raise _FieldError(
        f"label column {column!r} must be True/False, true/false or 1/0, got {value!r}"
    )
