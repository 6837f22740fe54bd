"""Private to ``amc.ingest``: which files are inputs and of what format, and getting
them safely out of folders and zip archives (hidden files skipped, unsafe or encrypted
members refused, extraction bounded in bytes). ``amc.ingest`` re-exports
``FORMATS_BY_SUFFIX``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from amc.domain.errors import InputError

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


def sniff_format(path: Path) -> str | None:
    """The format of a file with an unknown suffix, from its first bytes; None if unknown."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def dir_files(path: Path) -> list[Path]:
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


def unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member must not be extracted, or None when it is safe."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
        return "unsafe path (absolute or with '..') in the zip"
    if info.flag_bits & 0x1:
        return "encrypted zip member; unpack it yourself and pass the folder"
    return None


def member_format(name: str) -> str | None:
    """The format of a zip member, or None when it is skipped (hidden, unknown or a zip)."""
    member = PurePosixPath(name.replace("\\", "/"))
    if _hidden(member.parts):
        return None
    fmt = FORMATS_BY_SUFFIX.get(member.suffix.lower())
    return None if fmt == "zip" else fmt  # no zips inside zips: no recursion bombs


def extract_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    target: Path,
    budget: int,
    limit: int,
    display: str,
) -> int:
    """Copy one member to ``target``; stop (an ``InputError``) past ``budget`` bytes, what
    is left of the zip's ``limit``. Sizes in the zip header can lie, so the bytes actually
    written are counted."""
    too_big = InputError(
        f"the zip expands to more than {limit:,} bytes, the most a zip may hold (reached at "
        f"member {info.filename!r}); unpack it yourself and pass the folder",
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
