"""Read papers from the files librarians have: TRACS parquet, Kaggle CSV, JSON and
JSON Lines, plain text, PDF, folders of those and zip archives of those.

Every reader is a generator, so rows come out in file order and memory stays flat
in file size: parquet in record batches, CSV and JSON Lines row by row, one zip
member at a time. A row (or a whole file) that cannot be read comes out as a
``BadRow`` whose ``InputError`` names the file and row and says what to fix; it
never stops the other rows or files.

Telescope names are upper-cased here but not checked against the registry: the
pipeline does that, with a message listing the known telescopes.

Private helpers: ``amc._ingest_records`` (known columns, one record -> one row) and
``amc._ingest_files`` (formats by suffix, folder listing, safe zip extraction).
"""

from __future__ import annotations

import codecs
import csv
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath

import pyarrow.parquet as pq

from amc._ingest_files import (
    FORMATS_BY_SUFFIX,
    dir_files,
    extract_member,
    member_format,
    sniff_format,
    unsafe_member,
)
from amc._ingest_records import COLUMN_ALIASES as COLUMN_ALIASES  # "X as X": re-exported API
from amc._ingest_records import IDENTIFIER_COLUMNS as IDENTIFIER_COLUMNS
from amc._ingest_records import (
    KNOWN_COLUMNS,
    BadRow,
    InputRow,
    Item,
    Options,
    bad_row,
    check_columns,
    column_name,
    record_to_row,
    unknown_columns_message,
)
from amc._ingest_records import LABEL_COLUMNS as LABEL_COLUMNS
from amc._ingest_records import PAPER_COLUMNS as PAPER_COLUMNS
from amc._ingest_records import TOLERATED_COLUMNS as TOLERATED_COLUMNS
from amc.errors import InputError

DEFAULT_MAX_ZIP_BYTES = 2 * 1024**3

_CSV_FIELD_LIMIT = 2**31 - 1

_Reader = Callable[[Path, str, Options], Iterator[Item]]


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
    options = Options(
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
    fmt = FORMATS_BY_SUFFIX.get(path.suffix.lower()) or sniff_format(path)
    if fmt is None:
        supported = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise InputError(
            f"unsupported input format {path.suffix or '(no suffix)'!r}; "
            f"supported: {supported} files and folders",
            str(path),
        )
    return fmt


def count_rows(paths: Iterable[Path | str]) -> int | None:
    """A cheap total for a progress bar: parquet metadata, line counts of JSON Lines,
    one per text or PDF file; None when some input's size cannot be known without
    parsing it (CSV, JSON)."""
    total = 0
    for path in [paths] if isinstance(paths, str | Path) else paths:
        count = _count_path(Path(path))
        if count is None:
            return None
        total += count
    return total


# --- dispatch ---------------------------------------------------------------------------


def _read_path(path: Path, display: str, options: Options) -> Iterator[Item]:
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
        return count_rows(dir_files(path))
    if fmt == "zip":
        return _count_zip(path)
    if fmt == "jsonl":
        return _count_lines(path)
    return None


def _count_lines(path: Path) -> int:
    """Lines of a JSON Lines file, counted in C on 1 MiB blocks (~1 s per GB); a
    blank line is rare enough that the progress bar may overshoot by it."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while block := handle.read(2**20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def _count_zip(path: Path) -> int | None:
    try:
        with zipfile.ZipFile(path) as archive:
            formats = [member_format(name) for name in sorted(archive.namelist())]
    except (OSError, zipfile.BadZipFile):
        return 1
    formats = [fmt for fmt in formats if fmt is not None]
    return len(formats) if all(fmt in ("txt", "pdf") for fmt in formats) else None


# --- tabular formats ----------------------------------------------------------------------


def _read_parquet(path: Path, display: str, options: Options) -> Iterator[Item]:
    # pre_buffer=False: with it, pyarrow keeps every column chunk it has read, so memory
    # grew with file size (130 MB more at 100 MB of parquet); without it memory stays flat
    with pq.ParquetFile(path, pre_buffer=False) as parquet:
        columns = check_columns(parquet.schema_arrow.names, display, options)
        # only the columns we use are read: extra ones may be large
        size = _batch_rows(parquet, options.chunk_rows)
        batches = parquet.iter_batches(batch_size=size, columns=list(columns))
        row = 0
        for batch in batches:
            for record in batch.to_pylist():
                row += 1
                normalised = {columns[name]: value for name, value in record.items()}
                yield record_to_row(normalised, display, row, options)


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


def _read_csv(path: Path, display: str, options: Options) -> Iterator[Item]:
    # cells can hold whole papers; the default limit (128 KiB) would stop the file
    csv.field_size_limit(_CSV_FIELD_LIMIT)
    # undecodable bytes are kept as surrogates and reported for their row only
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        columns = check_columns(header, display, options)
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
            yield record_to_row(record, display, row, options)


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


# --- JSON ------------------------------------------------------------------------------------


def _read_json(path: Path, display: str, options: Options) -> Iterator[Item]:
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


def _read_jsonl(path: Path, display: str, options: Options) -> Iterator[Item]:
    # bytes, so that one line with bad encoding is one bad row, not a dead file
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if line_no == 1 else raw
            if line.strip():
                yield _jsonl_row(line, display, line_no, options)


def _jsonl_row(line: bytes, display: str, row: int, options: Options) -> Item:
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return bad_row(
            f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8", display, row
        )
    except json.JSONDecodeError as exc:
        return bad_row(f"not valid JSON ({exc.msg}, column {exc.colno})", display, row)
    return _object_row(obj, display, row, options)


def _object_row(obj: object, display: str, row: int, options: Options) -> Item:
    if not isinstance(obj, dict):
        return bad_row(
            f"expected a JSON object with paper fields, got {type(obj).__name__}", display, row
        )
    record = {column_name(key): value for key, value in obj.items()}
    unknown = [key for key in obj if column_name(key) not in KNOWN_COLUMNS]
    if unknown and not options.allow_extra_columns:
        return bad_row(unknown_columns_message(unknown), display, row, record)
    return record_to_row(record, display, row, options)


# --- one paper per file -----------------------------------------------------------------


def _read_txt(path: Path, display: str, options: Options) -> Iterator[Item]:
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
    yield record_to_row(record, display, 1, options, source=source)


def _decode_text(data: bytes) -> tuple[str, str]:
    """Decode a librarian's text file; never rejected for its encoding."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # decodes any byte


def _read_pdf(path: Path, display: str, options: Options) -> Iterator[Item]:
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


def _read_dir(path: Path, display: str, options: Options) -> Iterator[Item]:
    files = dir_files(path)
    if not files:
        raise InputError(
            f"folder has no supported files ({', '.join(sorted(FORMATS_BY_SUFFIX))})", display
        )
    for file in files:
        yield from _read_path(file, str(Path(display) / file.relative_to(path)), options)


def _read_zip(path: Path, display: str, options: Options) -> Iterator[Item]:
    budget = options.max_zip_bytes
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="amc-") as tmp:
        members = sorted(
            (i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename
        )
        for index, info in enumerate(members):
            member = f"{display}!{info.filename}"
            problem = unsafe_member(info)
            if problem:
                yield BadRow(InputError(f"{problem}; member skipped", member), member, None)
                continue
            fmt = member_format(info.filename)
            if fmt is None:
                continue
            target = Path(tmp, str(index), PurePosixPath(info.filename).name)
            budget -= extract_member(archive, info, target, budget, display)
            yield from _guarded(_READERS[fmt](target, member, options), member)
            target.unlink()  # keep the disk flat: one member on disk at a time


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
