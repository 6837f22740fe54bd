"""Uploaded files, handled safely: clean names, bounded size, zips checked before use.

A file's name is reduced to its last path component and a small character set
(no ``..``, no separators, no hidden files) and it is written under a fresh
folder of ``<spool_dir>/.uploads``. Copying stops past the size limit. A zip is
refused at upload if a member is unsafe (absolute, ``..``, encrypted) or if its
members expand past the limit: the bytes are counted by decompressing, because
sizes in a zip's header can lie. ``amc.ingest`` checks zips again when reading.
"""

from __future__ import annotations

import re
import shutil
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from amc.domain.errors import AmcError
from amc.ingest.files import FORMATS_BY_SUFFIX, member_format, unsafe_member

UPLOADS = ".uploads"
MAX_ZIP_MEMBERS = 10_000
_CHUNK = 1 << 20


class UploadError(AmcError):
    """An upload that is refused (bad name, unsupported type, unsafe or broken zip)."""

    kind = "upload"
    status_code = 400


class UploadTooLarge(UploadError):
    """An upload, or the expansion of an uploaded zip, past its limit."""

    status_code = 413


def safe_filename(name: str | None, index: int = 0) -> str:
    """A file name safe to create: last path component, plain characters, known suffix."""
    base = re.split(r"[\\/]", name or "")[-1]
    path = PurePosixPath(base)
    suffix = path.suffix.lower()
    if suffix not in FORMATS_BY_SUFFIX:
        supported = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise UploadError(f"file {base[:100]!r}: unsupported type; upload one of {supported}")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem).strip("_")[:80]
    return f"{stem or f'upload{index}'}{suffix}"


@contextmanager
def upload_folder(spool_dir: Path) -> Iterator[Path]:
    """A fresh private folder for one submission's files, removed afterwards (the
    spool keeps every pair once the batch is submitted)."""
    folder = spool_dir / UPLOADS / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def save_upload(source: BinaryIO, target: Path, limit: int) -> int:
    """Copy an uploaded stream to ``target``; ``UploadTooLarge`` past ``limit`` bytes,
    ``UploadError`` for an empty file (nothing to classify)."""
    written = 0
    with target.open("wb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise UploadTooLarge(f"file {target.name!r} is larger than {limit:,} bytes")
            sink.write(chunk)
    if written == 0:
        raise UploadError(f"file {target.name!r} is empty (0 bytes): nothing to classify; "
                          "check that the right file was chosen")  # fmt: skip
    return written


def check_zip(path: Path, max_bytes: int, max_members: int = MAX_ZIP_MEMBERS) -> int:
    """Refuse an unsafe or too-large zip; returns the bytes its input members expand to."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > max_members:
                raise UploadError(f"zip {path.name!r} has more than {max_members:,} members")
            for info in members:
                reason = unsafe_member(info)
                if reason is not None:
                    raise UploadError(f"zip {path.name!r}: {reason} ({info.filename[:200]!r})")
                if info.filename.lower().endswith(".zip"):
                    raise UploadError(
                        f"zip {path.name!r} holds another zip ({info.filename[:200]!r}), which "
                        "is not opened: unzip it and upload its files, or one zip of them all"
                    )
            size = _expanded_size(archive, members, max_bytes, path.name)
            if not any(not i.is_dir() and member_format(i.filename) for i in members):
                raise UploadError(f"zip {path.name!r} holds no file amc reads (JSONL, CSV, "
                                  "parquet, JSON, txt, PDF): nothing to classify")  # fmt: skip
            return size
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        EOFError,
        zlib.error,
    ) as exc:
        raise UploadError(f"zip {path.name!r} cannot be read: {exc}") from None


def _expanded_size(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], budget: int, name: str
) -> int:
    total = 0
    for info in members:
        if info.is_dir() or member_format(info.filename) is None:
            continue  # skipped by ingest too
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                total += len(chunk)
                if total > budget:
                    raise UploadTooLarge(f"zip {name!r} expands to more than {budget:,} bytes")
    return total
