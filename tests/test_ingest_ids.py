"""Ids of documents (``amc.ingest.ids``): unique within a run, the same on every run, and
as short as that allows (a lone file keeps its bare name, as it always had)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from amc.ingest import InputRow, read_inputs
from amc.ingest.ids import document_ids

TEXT = "We observed NGC 1 with the Hubble Space Telescope."


def make(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEXT if not name.startswith("empty") else "", encoding="utf-8")


def ids_of(root: Path, *inputs: str) -> list[str]:
    """The bibcodes of the rows read from ``inputs`` (relative to ``root``), read or failed."""
    items = read_inputs([root / i for i in inputs])
    return sorted(i.paper.bibcode if isinstance(i, InputRow) else str(i.bibcode) for i in items)


def test_same_names_in_different_folders_get_their_folder(tmp_path: Path) -> None:
    make(tmp_path, "papers/a/paper.txt", "papers/b/paper.txt", "papers/solo.txt")
    assert ids_of(tmp_path, "papers") == ["a/paper", "b/paper", "solo"]


def test_same_stem_in_one_folder_keeps_the_suffix_even_when_unreadable(tmp_path: Path) -> None:
    make(tmp_path, "papers/empty.txt", "papers/empty.pdf", "papers/notes.txt")
    assert ids_of(tmp_path, "papers") == ["empty.pdf", "empty.txt", "notes"]


def test_files_given_one_by_one_and_zip_members_are_told_apart(tmp_path: Path) -> None:
    make(tmp_path, "x/paper.txt", "y/paper.txt", "z/other.txt")
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as archive:
        archive.writestr("a/paper.txt", TEXT)
        archive.writestr("b/paper.txt", TEXT + " Again.")
    got = ids_of(tmp_path, "x/paper.txt", "y/paper.txt", "z/other.txt", "in.zip")
    assert got == ["a/paper", "b/paper", "other", "x/paper", "y/paper"]


def test_ids_do_not_depend_on_the_order_of_the_inputs(tmp_path: Path) -> None:
    make(tmp_path, "x/paper.txt", "y/deeper/paper.txt")
    forward = document_ids([tmp_path / "x", tmp_path / "y"])
    backward = document_ids([tmp_path / "y", tmp_path / "x"])
    assert forward == backward
    assert sorted(forward.values()) == ["deeper/paper", "x/paper"]


@pytest.mark.parametrize("name", ["mypaper.txt", "2019ApJ...882L..12S.txt"])
def test_a_lone_file_keeps_its_bare_name(tmp_path: Path, name: str) -> None:
    make(tmp_path, name)
    assert ids_of(tmp_path, name) == [name.removesuffix(".txt")]
