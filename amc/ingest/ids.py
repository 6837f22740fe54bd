"""Private to ``amc.ingest``: the ids of documents (one paper per file: ``.txt``, ``.pdf``).

A document has no bibcode of its own (a PDF may name one; then that is used), so its
file path is its id: unique within a run, and the same on every run over the same
inputs, however the files are ordered.

- a document's id is its file name without the suffix (``mypaper``), whether it was
  given on the command line or found in a folder or a zip;
- when two documents of the run would get the same id, the folders above them are
  added until the ids differ (``a/paper``, ``b/paper``; ``x/paper``, ``y/paper``);
- two files of one folder that differ only by their suffix keep it (``paper.pdf``,
  ``paper.txt``; ``empty.pdf``, ``empty.txt``), whether they can be read or not.
"""

from __future__ import annotations

import zipfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from amc.ingest.files import FORMATS_BY_SUFFIX, dir_files, member_format, unsafe_member

#: formats holding one paper per file
DOCUMENT_FORMATS = ("txt", "pdf")


@dataclass
class _Document:
    display: str
    #: path components, outermost first (the input's own, then those inside it)
    parts: tuple[str, ...]
    #: components of the id
    k: int = 1
    suffix: bool = field(default=False)

    def name(self) -> str:
        tail = list(self.parts[-self.k :])
        if not self.suffix:
            tail[-1] = PurePosixPath(tail[-1]).stem or tail[-1]
        return "/".join(tail)


def document_ids(paths: Sequence[Path]) -> dict[str, str]:
    """The id of every document under ``paths`` (files, folders, zips), by the display
    path its reader gets (``folder/a/paper.txt``, ``in.zip!a/paper.txt``)."""
    documents = {d.display: d for d in _documents(paths)}
    _disambiguate(list(documents.values()))
    return {display: d.name() for display, d in documents.items()}


def default_id(display: str) -> str:
    """The id of a document ``document_ids`` did not list (a reader called alone)."""
    name = PurePosixPath(display.replace("\\", "/").rpartition("!")[2]).name
    return PurePosixPath(name).stem or name


def _disambiguate(documents: list[_Document]) -> None:
    """Lengthen the ids that collide until none does (or no longer can)."""
    while True:
        groups: dict[str, list[_Document]] = defaultdict(list)
        for d in documents:
            groups[d.name()].append(d)
        changed = False
        for group in groups.values():
            if len(group) > 1:
                changed |= _separate(group)
        if not changed:
            return


def _separate(group: list[_Document]) -> bool:
    """Make one group of documents with the same id differ; whether anything changed."""
    folders: dict[tuple[str, ...], int] = defaultdict(int)
    for d in group:
        folders[d.parts[:-1]] += 1
    changed = False
    for d in group:
        if folders[d.parts[:-1]] > 1 and not d.suffix:
            d.suffix = changed = True  # paper.pdf and paper.txt side by side
        elif folders[d.parts[:-1]] == 1 and d.k < len(d.parts):
            d.k += 1
            changed = True
    return changed


def _documents(paths: Sequence[Path]) -> Iterator[_Document]:
    for path in paths:
        display = str(path)
        outer = _parts(display)
        if path.is_dir():
            for file in dir_files(path):
                inner = file.relative_to(path).parts
                yield from _file(str(Path(display) / file.relative_to(path)), outer + inner, file)
        elif path.is_file():
            yield from _file(display, outer, path)


def _file(display: str, parts: tuple[str, ...], path: Path) -> Iterator[_Document]:
    fmt = FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if fmt in DOCUMENT_FORMATS:
        yield _Document(display, parts)
    elif fmt == "zip":
        yield from _zip_members(display, parts, path)


def _zip_members(display: str, parts: tuple[str, ...], path: Path) -> Iterator[_Document]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
    except (OSError, zipfile.BadZipFile):
        return  # the reader reports it
    for info in infos:
        if unsafe_member(info) or member_format(info.filename) not in DOCUMENT_FORMATS:
            continue
        inner = PurePosixPath(info.filename.replace("\\", "/")).parts
        yield _Document(f"{display}!{info.filename}", parts + inner)


def _parts(display: str) -> tuple[str, ...]:
    """A path's components without its root or drive (never part of an id)."""
    path = Path(display)
    return tuple(p for p in path.parts if p not in (path.anchor, ".", ".."))
