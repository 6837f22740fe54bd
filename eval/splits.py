"""Find TRACS split files: ``HST_reference_test`` -> ``**/HST_reference_test*.parquet``.

The Hugging Face dataset ``adsabs/TRACS`` stores one parquet file per split
(``{CHANDRA,HST,JWST,NONE}_reference_{train,test}``, sometimes with a
``-00000-of-00001`` suffix and under ``data/``). ``--split`` names one split,
a comma list, or ``test`` / ``train`` for every ``*_reference_test`` /
``*_reference_train`` file.
"""

from __future__ import annotations

from pathlib import Path

from amc.domain.errors import InputError

_SUFFIXES = (".parquet", ".csv", ".jsonl")


def find_split_files(data: Path | str, split: str | None) -> list[Path]:
    """The files of ``split`` under ``data``; ``data`` itself when it is a file.

    Raises ``InputError`` naming what was looked for and what exists.
    """
    root = Path(data)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InputError("no such file or folder", str(root))
    names = [s.strip() for s in (split or "test").split(",") if s.strip()]
    found: list[Path] = []
    for name in names:
        found += [p for p in _matches(root, name) if p not in found]
    if not found:
        available = sorted({_split_name(p) for p in _data_files(root)}) or ["none"]
        raise InputError(
            f"no files for split(s) {', '.join(names)}; splits found: {', '.join(available)} "
            "(use e.g. --split HST_reference_test, a comma list, or test/train)",
            str(root),
        )
    return found


def _matches(root: Path, name: str) -> list[Path]:
    if name in ("test", "train"):
        return [p for p in _data_files(root) if f"_reference_{name}" in p.name]
    return [p for p in _data_files(root) if p.name.startswith(name)]


def _data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)


def _split_name(path: Path) -> str:
    return path.stem.split("-")[0]
