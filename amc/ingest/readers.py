"""One reader per input format, each a generator of rows in file order.

Every reader is a generator, so rows come out in file order and memory stays flat
in file size: parquet in record batches, CSV and JSON Lines row by row, one zip
member at a time. An error that ends a file early becomes one ``BadRow`` for it.
"""

from __future__ import annotations

import codecs
import csv
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pyarrow.parquet as pq

from amc.domain.errors import InputError
from amc.ingest.files import (
    FORMATS_BY_SUFFIX,
    detect_format,
    dir_files,
    extract_member,
    member_format,
    unsafe_member,
)
from amc.ingest.records import (
    KNOWN_COLUMNS,
    BadRow,
    InputItem,
    InputRow,
    Options,
    bad_row,
    check_columns,
    column_name,
    record_to_row,
    unknown_columns_message,
)
from amc.ingest.structure import split_text

_CSV_FIELD_LIMIT = 2**31 - 1

Reader = Callable[[Path, str, Options], Iterator[InputItem]]


def read_path(path: Path, display: str, options: Options) -> Iterator[InputItem]:
    try:
        fmt = detect_format(path)
    except InputError as exc:
        yield BadRow(InputError(exc.message, display), display, None)
        return
    yield from _guarded(READERS[fmt](path, display, options), display)


def _guarded(items: Iterator[InputItem], display: str) -> Iterator[InputItem]:
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


def _read_parquet(path: Path, display: str, options: Options) -> Iterator[InputItem]:
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


def _read_csv(path: Path, display: str, options: Options) -> Iterator[InputItem]:
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


def _read_json(path: Path, display: str, options: Options) -> Iterator[InputItem]:
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


def _read_jsonl(path: Path, display: str, options: Options) -> Iterator[InputItem]:
    # bytes, so that one line with bad encoding is one bad row, not a dead file
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if line_no == 1 else raw
            if line.strip():
                yield _jsonl_row(line, display, line_no, options)


def _jsonl_row(line: bytes, display: str, row: int, options: Options) -> InputItem:
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return bad_row(
            f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8", display, row
        )
    except json.JSONDecodeError as exc:
        return bad_row(f"not valid JSON ({exc.msg}, column {exc.colno})", display, row)
    return _object_row(obj, display, row, options)


def _object_row(obj: object, display: str, row: int, options: Options) -> InputItem:
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


def _read_txt(path: Path, display: str, options: Options) -> Iterator[InputItem]:
    # 4 bytes per character is the most UTF-8 needs: anything bigger is over the limit
    doc_id = options.document_id(display)
    if path.stat().st_size > 4 * options.max_field_chars:
        message = f"file is larger than the {options.max_field_chars:,}-character limit"
        yield BadRow(InputError(message, display), display, None, doc_id, document=True)
        return
    text, encoding = _decode_text(path.read_bytes())
    if not text.strip():
        error = InputError("empty file; nothing to classify", display, 1)
        yield BadRow(error, display, 1, doc_id, document=True)
        return
    source = display if encoding == "utf-8" else f"{display} (decoded as {encoding})"
    parts = split_text(text)  # title, abstract, acknowledgments found in the text
    record = {"bibcode": doc_id, **parts.fields()}
    item = record_to_row(record, display, 1, options, source=source)
    if isinstance(item, InputRow):
        item.paper.references = parts.references
    yield item


def _decode_text(data: bytes) -> tuple[str, str]:
    """Decode a librarian's text file; never rejected for its encoding."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # decodes any byte


def _read_pdf(path: Path, display: str, options: Options) -> Iterator[InputItem]:
    try:
        from amc.ingest.pdf import paper_from_pdf  # lazy: PyMuPDF is only needed for PDFs
    except ImportError as exc:
        message = f"PDF support is not available ({exc}); install PyMuPDF"
        raise InputError(message, display) from None
    doc_id = options.document_id(display)
    try:
        paper = paper_from_pdf(
            path, display, max_pages=options.pdf_max_pages, max_bytes=options.pdf_max_bytes,
            default_id=doc_id,
        )  # fmt: skip
    except InputError as exc:
        yield BadRow(exc, display, exc.row, doc_id, document=True)
        return
    yield InputRow(paper=paper, telescope=None, gold=None, path=display, row=1)


# --- folders and zip archives -----------------------------------------------------------


def _read_dir(path: Path, display: str, options: Options) -> Iterator[InputItem]:
    files = dir_files(path)
    if not files:
        raise InputError(
            f"folder has no supported files ({', '.join(sorted(FORMATS_BY_SUFFIX))})", display
        )
    for file in files:
        yield from read_path(file, str(Path(display) / file.relative_to(path)), options)


def _read_zip(path: Path, display: str, options: Options) -> Iterator[InputItem]:
    budget = options.max_zip_bytes
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory(prefix="amc-") as tmp:
        members = sorted(
            (i for i in archive.infolist() if not i.is_dir()), key=lambda i: i.filename
        )
        for index, info in enumerate(members):
            member = f"{display}!{info.filename}"
            problem = unsafe_member(info)
            if problem:  # stops the run, or is recorded (--skip-bad-rows): never extracted
                yield BadRow(InputError(f"{problem}; it is not extracted", member), member, None)
                continue
            fmt = member_format(info.filename)
            if fmt is None:
                continue
            target = Path(tmp, str(index), PurePosixPath(info.filename).name)
            budget -= extract_member(archive, info, target, budget, options.max_zip_bytes, display)
            yield from _guarded(READERS[fmt](target, member, options), member)
            target.unlink()  # keep the disk flat: one member on disk at a time


READERS: dict[str, Reader] = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "txt": _read_txt,
    "pdf": _read_pdf,
    "dir": _read_dir,
    "zip": _read_zip,
}
