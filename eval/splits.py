"""Find TRACS split files: ``HST_reference_test`` -> ``**/HST_reference_test*.parquet``.

The Hugging Face dataset ``adsabs/TRACS`` stores one parquet file per split
(``{CHANDRA,HST,JWST,NONE}_reference_{train,test}``, sometimes with a
``-00000-of-00001`` suffix and under ``data/``). ``--split`` names one split,
a comma list, or ``test`` / ``train`` for every ``*_reference_test`` /
``*_reference_train`` file.

Without ``--split``, a folder of split files gives its ``default`` split (``test`` to
evaluate, ``train`` to train), and a folder with no split files gives all its labelled
files. A single file is used whole; a ``--split`` it is not part of is refused rather
than ignored.
"""

from __future__ import annotations

from pathlib import Path

from amc.domain.errors import InputError

_SUFFIXES = (".parquet", ".csv", ".jsonl")
_HOW = "use e.g. --split HST_reference_test, a comma list, or test/train"


def find_split_files(data: Path | str, split: str | None, default: str = "test") -> list[Path]:
    """The files of ``split`` under ``data`` (``default`` when no split is given).

    Raises ``InputError`` naming what was looked for and what exists.
    """
    root = Path(data)
    names = [s.strip() for s in (split or "").split(",") if s.strip()]
    if root.is_file():
        if names and not any(_matches([root], name) for name in names):
            raise InputError(
                f"--split {split} selects split files in a folder, and this file is "
                f"{_split_name(root)!r}: drop --split to use the whole file, or give the "
                "folder with --data",
                str(root),
            )
        return [root]
    if not root.is_dir():
        raise InputError("no such file or folder", str(root))
    files = _data_files(root)
    if not names and not any("_reference_" in p.name for p in files):
        if not files:
            raise InputError("no labelled files (.parquet, .csv, .jsonl) in this folder", str(root))
        return files  # a folder of labelled files that are not TRACS splits: all of them
    found: list[Path] = []
    for name in names or [default]:
        found += [p for p in _matches(files, name) if p not in found]
    if not found:
        available = ", ".join(sorted({_split_name(p) for p in files})) or "none"
        wanted = f"split(s) {', '.join(names)}" if names else f"the {default} split (no --split)"
        raise InputError(f"no files for {wanted}; splits found: {available} ({_HOW})", str(root))
    return found


def _matches(files: list[Path], name: str) -> list[Path]:
    if name in ("test", "train"):
        return [p for p in files if f"_reference_{name}" in p.name]
    return [p for p in files if p.name.startswith(name)]


def _data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)


def _split_name(path: Path) -> str:
    return path.stem.split("-")[0]
