"""Read papers from the files librarians have: TRACS parquet, Kaggle CSV, JSON and
JSON Lines, plain text, PDF, folders of those and zip archives of those.

Every reader is a generator, so rows come out in file order and memory stays flat
in file size: parquet in record batches, CSV and JSON Lines row by row, one zip
member at a time. A row (or a whole file) that cannot be read comes out as a
``BadRow`` whose ``InputError`` names the file and row and says what to fix; it
never stops the other rows or files.

Telescope names are upper-cased here but not checked against the registry: the
pipeline does that, with a message listing the known telescopes.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import json
import re
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow.parquet as pq

from amc.errors import InputError
from amc.models import LABELS, TEXT_FIELDS, Paper, TelescopeLabels, split_pair_id

LABEL_COLUMNS: tuple[str, ...] = tuple(label.value for label in LABELS)
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
IDENTIFIER_COLUMNS = ("doi", "arxiv")

FORMATS_BY_SUFFIX = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "txt",
    ".pdf": "pdf",
    ".zip": "zip",
}
#: a file with an unknown suffix is recognised by its first bytes
_MAGIC = ((b"%PDF", "pdf"), (b"PK\x03\x04", "zip"), (b"PAR1", "parquet"))
DEFAULT_MAX_ZIP_BYTES = 2 * 1024**3

_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
# NUL and other control characters break CSV/database writers later; tab and newline stay
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# the same characters found on UTF-8 bytes, where C code scans ~20x faster than ``re`` on str
_C0_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_CSV_FIELD_LIMIT = 2**31 - 1


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
class _Options:
    chunk_rows: int
    allow_extra_columns: bool
    max_field_chars: int
    max_zip_bytes: int
    pdf_max_pages: int | None = 500
    pdf_max_bytes: int | None = 100 * 2**20


class _FieldError(ValueError):
    """A bad value in a row; turned into an ``InputError`` naming the file and row."""


Item = InputRow | BadRow
_Reader = Callable[[Path, str, _Options], Iterator[Item]]


def read_inputs(
    paths: Sequence[Path | str],
    *,
    chunk_rows: int = 2000,
    allow_extra_columns: bool = False,
    max_field_chars: int = 20_000_000,
    max_zip_bytes: int = DEFAULT_MAX_ZIP_BYTES,
    pdf_max_pages: int | None = 500,
    pdf_max_bytes: int | None = 100 * 2**20,
) -> Iterator[InputRow | BadRow]:
    """Stream every row of every input, in order; unreadable rows and files come
    out as ``BadRow`` (never as an exception), so one bad file does not stop the rest.

    ``chunk_rows`` is the parquet batch size, ``max_field_chars`` the longest text
    field accepted, ``max_zip_bytes`` the most a zip may expand to in total, and the
    ``pdf_*`` limits make a longer or bigger PDF an error for that file.
    """
    options = _Options(
        chunk_rows, allow_extra_columns, max_field_chars, max_zip_bytes,
        pdf_max_pages, pdf_max_bytes,
    )  # fmt: skip
    if isinstance(paths, str | Path):  # one path, not a sequence of characters
        paths = [paths]
    for path in paths:
        yield from _read_path(Path(path), str(path), options)


def detect_format(path: Path) -> str:
    """``parquet``, ``csv``, ``json``, ``jsonl``, ``txt``, ``pdf``, ``dir`` or ``zip``.

    Decided by the suffix, or by the first bytes for an unknown suffix; raises
    ``InputError`` for a missing file or an unsupported format.
    """
    if path.is_dir():
        return "dir"
    if not path.is_file():
        raise InputError("no such file or folder; check the path", str(path))
    fmt = FORMATS_BY_SUFFIX.get(path.suffix.lower()) or _sniff(path)
    if fmt is None:
        supported = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise InputError(
            f"unsupported input format {path.suffix or '(no suffix)'!r}; "
            f"supported: {supported} files and folders",
            str(path),
        )
    return fmt


def count_rows(paths: Iterable[Path | str]) -> int | None:
    """A cheap total for a progress bar, from file metadata only (never the data);
    None when some input's size cannot be known without reading it (CSV, JSON)."""
    total = 0
    for path in [paths] if isinstance(paths, str | Path) else paths:
        count = _count_path(Path(path))
        if count is None:
            return None
        total += count
    return total


# --- dispatch ---------------------------------------------------------------------------


def _read_path(path: Path, display: str, options: _Options) -> Iterator[Item]:
    try:
        fmt = detect_format(path)
    except InputError as exc:
        yield BadRow(InputError(exc.message, display), display, None)
        return
    yield from _guarded(_READERS[fmt](path, display, options), display)


def _guarded(items: Iterator[Item], display: str) -> Iterator[Item]:
    """Turn an error that ends a file early into one ``BadRow`` for that file."""
    try:
        yield from items
    except InputError as exc:
        yield BadRow(exc, display, exc.row)
    except Exception as exc:  # one unreadable file must never stop a batch
        error = InputError(
            f"could not read the file ({type(exc).__name__}: {exc}); "
            "check that it is a complete, valid file of its type",
            display,
        )
        yield BadRow(error, display, None)


def _sniff(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(8)
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def _count_path(path: Path) -> int | None:
    try:
        fmt = detect_format(path)
    except InputError:
        return 1  # it will come out as one BadRow
    if fmt in ("txt", "pdf"):
        return 1
    if fmt == "parquet":
        try:
            with pq.ParquetFile(path) as parquet:
                return int(parquet.metadata.num_rows)
        except Exception:  # a broken file is one BadRow
            return 1
    if fmt == "dir":
        return count_rows(_dir_files(path))
    if fmt == "zip":
        return _count_zip(path)
    return None


def _count_zip(path: Path) -> int | None:
    try:
        with zipfile.ZipFile(path) as archive:
            formats = [_member_format(name) for name in sorted(archive.namelist())]
    except (OSError, zipfile.BadZipFile):
        return 1
    formats = [fmt for fmt in formats if fmt is not None]
    return len(formats) if all(fmt in ("txt", "pdf") for fmt in formats) else None


# --- tabular formats ----------------------------------------------------------------------


def _read_parquet(path: Path, display: str, options: _Options) -> Iterator[Item]:
    # pre_buffer=False: with it, pyarrow keeps every column chunk it has read, so memory
    # grew with file size (130 MB more at 100 MB of parquet); without it memory stays flat
    with pq.ParquetFile(path, pre_buffer=False) as parquet:
        columns = _check_columns(parquet.schema_arrow.names, display, options)
        # only the columns we use are read: extra ones may be large
        size = _batch_rows(parquet, options.chunk_rows)
        batches = parquet.iter_batches(batch_size=size, columns=list(columns))
        row = 0
        for batch in batches:
            for record in batch.to_pylist():
                row += 1
                normalised = {columns[name]: value for name, value in record.items()}
                yield _to_row(normalised, display, row, options)


#: uncompressed bytes of text held per parquet batch; full-text rows are ~40-100 KB
PARQUET_BATCH_BYTES = 16 * 2**20


def _batch_rows(parquet: pq.ParquetFile, chunk_rows: int) -> int:
    """Rows per batch: ``chunk_rows``, fewer when rows are big, so that memory is bounded
    in bytes (2,000 rows of full text would be ~200 MB at once)."""
    meta = parquet.metadata
    if meta is None or meta.num_rows == 0:
        return chunk_rows
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    per_row = max(1, total // meta.num_rows)
    return max(1, min(chunk_rows, PARQUET_BATCH_BYTES // per_row))


def _read_csv(path: Path, display: str, options: _Options) -> Iterator[Item]:
    # cells can hold whole papers; the default limit (128 KiB) would stop the file
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    # undecodable bytes are kept as surrogates and reported for their row only
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        columns = _check_columns(header, display, options)
        row = 0
        for fields in _csv_records(reader, display):
            if not fields:
                continue  # a blank line is not a data row
            row += 1
            if len(fields) != len(header):
                message = (
                    f"has {len(fields)} fields but the header has {len(header)}; "
                    "check the quoting of that row"
                )
                yield BadRow(InputError(message, display, row), display, row)
                continue
            record = {columns[h]: v for h, v in zip(header, fields, strict=True) if h in columns}
            yield _to_row(record, display, row, options)


def _csv_records(reader: Iterator[list[str]], display: str) -> Iterator[list[str]]:
    records = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"malformed CSV ({exc}); the rest of the file was skipped", display, records + 1
            ) from None
        records += bool(fields)
        yield fields


def _check_columns(names: Sequence[str], display: str, options: _Options) -> dict[str, str]:
    """Map each known column to its normalised name; unknown columns reject the file."""
    normalised = [_column_name(name) for name in names]
    unknown = [
        name for name, norm in zip(names, normalised, strict=True) if norm not in KNOWN_COLUMNS
    ]
    if unknown and not options.allow_extra_columns:
        raise InputError(_unknown_columns_message(unknown), display)
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


def _column_name(name: str) -> str:
    norm = str(name).strip().lower()
    return COLUMN_ALIASES.get(norm, norm)


def _unknown_columns_message(unknown: Sequence[str]) -> str:
    hints = [
        f"{name!r} (did you mean {match[0]!r}?)"
        if (match := difflib.get_close_matches(_column_name(name), KNOWN_COLUMNS, n=1))
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


# --- JSON ------------------------------------------------------------------------------------


def _read_json(path: Path, display: str, options: _Options) -> Iterator[Item]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not valid UTF-8 (byte {exc.start}); re-save it as UTF-8"
        raise InputError(message, display) from None
    if not text.strip():
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # JSON Lines saved with a .json suffix
            yield from _read_jsonl(path, display, options)
            return
        raise InputError(f"not valid JSON ({exc.msg}, line {exc.lineno})", display) from None
    for row, obj in enumerate(_json_papers(document, display), start=1):
        yield _object_row(obj, display, row, options)


def _json_papers(document: object, display: str) -> list[object]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("papers"), list):
        return list(document["papers"])
    if isinstance(document, dict) and ("bibcode" in document or "Id" in document):
        return [document]
    raise InputError("expected a list of paper objects or an object with a 'papers' list", display)


def _read_jsonl(path: Path, display: str, options: _Options) -> Iterator[Item]:
    # bytes, so that one line with bad encoding is one bad row, not a dead file
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if line_no == 1 else raw
            if line.strip():
                yield _jsonl_row(line, display, line_no, options)


def _jsonl_row(line: bytes, display: str, row: int, options: _Options) -> Item:
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return _bad(f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8", display, row)
    except json.JSONDecodeError as exc:
        return _bad(f"not valid JSON ({exc.msg}, column {exc.colno})", display, row)
    return _object_row(obj, display, row, options)


def _object_row(obj: object, display: str, row: int, options: _Options) -> Item:
    if not isinstance(obj, dict):
        return _bad(
            f"expected a JSON object with paper fields, got {type(obj).__name__}", display, row
        )
    record = {_column_name(key): value for key, value in obj.items()}
    unknown = [key for key in obj if _column_name(key) not in KNOWN_COLUMNS]
    if unknown and not options.allow_extra_columns:
        return _bad(_unknown_columns_message(unknown), display, row, record)
    return _to_row(record, display, row, options)


# --- one paper per file -----------------------------------------------------------------


def _read_txt(path: Path, display: str, options: _Options) -> Iterator[Item]:
    # 4 bytes per character is the most UTF-8 needs: anything bigger is over the limit
    if path.stat().st_size > 4 * options.max_field_chars:
        message = f"file is larger than the {options.max_field_chars:,}-character limit"
        yield BadRow(InputError(message, display), display, None, path.stem, document=True)
        return
    text, encoding = _decode_text(path.read_bytes())
    if not text.strip():
        error = InputError("empty file; nothing to classify", display, 1)
        yield BadRow(error, display, 1, path.stem, document=True)
        return
    source = display if encoding == "utf-8" else f"{display} (decoded as {encoding})"
    record = {"bibcode": path.stem, "body": text}
    yield _to_row(record, display, 1, options, source=source)


def _decode_text(data: bytes) -> tuple[str, str]:
    """Decode a librarian's text file; never rejected for its encoding."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # decodes any byte


def _read_pdf(path: Path, display: str, options: _Options) -> Iterator[Item]:
    try:
        from amc.pdf import paper_from_pdf  # lazy: PyMuPDF is only needed for PDFs
    except ImportError as exc:
        message = f"PDF support is not available ({exc}); install PyMuPDF"
        raise InputError(message, display) from None
    try:
        paper = paper_from_pdf(
            path, display, max_pages=options.pdf_max_pages, max_bytes=options.pdf_max_bytes
        )
    except InputError as exc:
        yield BadRow(exc, display, exc.row, Path(display).stem, document=True)
        return
    yield InputRow(paper=paper, telescope=None, gold=None, path=display, row=1)


# --- folders and zip archives -----------------------------------------------------------


def _read_dir(path: Path, display: str, options: _Options) -> Iterator[Item]:
    files = _dir_files(path)
    if not files:
        raise InputError(
            f"folder has no supported files ({', '.join(sorted(FORMATS_BY_SUFFIX))})", display
        )
    for file in files:
        yield from _read_path(file, str(Path(display) / file.relative_to(path)), options)


def _dir_files(path: Path) -> list[Path]:
    """Supported files under ``path``, recursively, sorted, hidden ones skipped."""
    return sorted(
        file
        for file in path.rglob("*")
        if file.is_file()
        and not _hidden(file.relative_to(path).parts)
        and file.suffix.lower() in FORMATS_BY_SUFFIX
    )


def _hidden(parts: Sequence[str]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _read_zip(path: Path, display: str, options: _Options) -> Iterator[Item]:
    budget = options.max_zip_bytes
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="amc-") as tmp:
        members = sorted(
            (i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename
        )
        for index, info in enumerate(members):
            member = f"{display}!{info.filename}"
            problem = _unsafe_member(info)
            if problem:
                yield BadRow(InputError(f"{problem}; member skipped", member), member, None)
                continue
            fmt = _member_format(info.filename)
            if fmt is None:
                continue
            target = Path(tmp, str(index), PurePosixPath(info.filename).name)
            budget -= _extract(archive, info, target, budget, display)
            yield from _guarded(_READERS[fmt](target, member, options), member)
            target.unlink()  # keep the disk flat: one member on disk at a time


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
        return "unsafe path (absolute or with '..') in the zip"
    if info.flag_bits & 0x1:
        return "encrypted zip member; unpack it yourself and pass the folder"
    return None


def _member_format(name: str) -> str | None:
    member = PurePosixPath(name.replace("\\", "/"))
    if _hidden(member.parts):
        return None
    fmt = FORMATS_BY_SUFFIX.get(member.suffix.lower())
    return None if fmt == "zip" else fmt  # no zips inside zips: no recursion bombs


def _extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, display: str
) -> int:
    """Copy one member to ``target``; stop (an ``InputError``) past ``budget`` bytes.
    Sizes in the zip header can lie, so the bytes actually written are counted."""
    too_big = InputError(
        f"the zip expands to more than {budget:,} bytes still allowed (at member "
        f"{info.filename!r}); unpack it yourself and pass the folder",
        display,
    )
    if info.file_size > budget:
        raise too_big
    target.parent.mkdir(parents=True)
    written = 0
    with archive.open(info) as source, target.open("wb") as sink:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > budget:
                raise too_big
            sink.write(chunk)
    return written


_READERS: dict[str, _Reader] = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "txt": _read_txt,
    "pdf": _read_pdf,
    "dir": _read_dir,
    "zip": _read_zip,
}


# --- one record -> one row ----------------------------------------------------------------


def _to_row(
    record: Mapping[str, object],
    display: str,
    row: int,
    options: _Options,
    source: str | None = None,
) -> Item:
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
        return _bad(str(exc), display, row, record)
    return InputRow(paper=paper, telescope=telescope, gold=gold, path=display, row=row)


def _bad(
    message: str, display: str, row: int, record: Mapping[str, object] | None = None
) -> BadRow:
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


def _text(record: Mapping[str, object], column: str, options: _Options) -> str:
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
    if len(data.translate(None, _C0_BYTES)) < len(data) or _C1_UTF8.search(data):
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


def _authors(record: Mapping[str, object], options: _Options) -> list[str]:
    value = record.get("authors")
    if value is None or value in ("", []):
        value = record.get("author")
    if isinstance(value, list):
        names = [_string(name, "authors", options.max_field_chars) for name in value]
    else:
        names = _string(value, "author", options.max_field_chars).split(";")
    return [name.strip() for name in names if name.strip()]


def _identifiers(record: Mapping[str, object], options: _Options) -> dict[str, str]:
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
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise _FieldError(
        f"label column {column!r} must be True/False, true/false or 1/0, got {value!r}"
    )
