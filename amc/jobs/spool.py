"""The spool: a submission's pairs as JSON lines, read back a paper at a time.

Submitting reads the inputs once and writes every pair (and every bad row, with
``skip_bad_rows``) as a JSON line to ``<spool_dir>/<content hash>/pairs.jsonl``.
A *paper* is every line with the same bibcode across all the input files (TRACS has
one row per telescope, in different split files), keyed in the store by
``(bibcode, source)`` where ``source`` lists its lines' byte ranges
(``pairs.jsonl@0:812,...``): a worker reads a paper with a few seeks, whatever the
input size, and needs only the spool folder (shared storage) and the store. Each
paper's text is written once, with its first pair; its other telescopes refer to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amc.domain.errors import AmcError, InputError
from amc.domain.models import Classification, Pair, PairOrFailure, Paper
from amc.ingest.pairs import read_pairs
from amc.registry import Registry
from amc.settings import Settings
from amc.store import PaperRecord, submission_hash

SPOOL_FILE = "pairs.jsonl"


def batch_hash(
    inputs: Sequence[Path], telescopes: Sequence[str], tier: str, chosen: dict[str, Any]
) -> str:
    """The submission's content hash: input bytes (streamed), telescopes, tier, settings."""
    digests = [_file_digest(f) for path in inputs for f in _files_under(Path(path))]
    settings_part = json.dumps(chosen, sort_keys=True, default=str).encode()
    return submission_hash([*digests, settings_part], telescopes, tier)


def _files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256(path.name.encode() + b"\0")
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", str(path)) from None
    return digest.digest()


def spool_inputs(
    inputs: Sequence[Path],
    telescopes: Sequence[str],
    settings: Settings,
    content_hash: str,
    registry: Registry,
) -> list[tuple[str, str, str]]:
    """Write the inputs' pairs to the spool (once per content hash); the papers' index.

    Returns ``(bibcode, source, paper hash)`` per paper, for ``Store.add_papers``.
    """
    final = settings.spool_dir / content_hash
    if not (final / "papers.json").is_file():
        work = settings.spool_dir / f".{content_hash}.{uuid.uuid4().hex[:8]}"
        work.mkdir(parents=True)
        try:
            _write_spool(work, inputs, telescopes, settings, registry)
            _publish(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    index = json.loads((final / "papers.json").read_text(encoding="utf-8"))
    return [(b, s, h) for b, s, h in index]


def _write_spool(
    work: Path,
    inputs: Sequence[Path],
    telescopes: Sequence[str],
    settings: Settings,
    registry: Registry,
) -> None:
    spans: dict[str, list[tuple[int, int]]] = {}
    digests: dict[str, Any] = {}
    #: the text of each paper's first row: later rows with the same text refer to it
    first_text: dict[str, bytes] = {}
    offset = 0
    with (work / SPOOL_FILE).open("wb") as out:
        for item in read_pairs(inputs, registry, settings, telescopes):
            bibcode = item.paper.bibcode if isinstance(item, Pair) else item.bibcode
            line = _encode(item, first_text)
            spans.setdefault(bibcode, []).append((offset, len(line)))
            digests.setdefault(bibcode, hashlib.sha256()).update(line)
            out.write(line)
            offset += len(line)
    index = [
        (bibcode, f"{SPOOL_FILE}@" + ",".join(f"{o}:{n}" for o, n in ranges),
         digests[bibcode].hexdigest())
        for bibcode, ranges in spans.items()
    ]  # fmt: skip
    (work / "papers.json").write_text(json.dumps(index), encoding="utf-8")


def _publish(work: Path, final: Path) -> None:
    """Move a finished spool into place; a concurrent submit of the same content may win."""
    try:
        os.rename(work, final)
    except OSError:
        if not (final / "papers.json").is_file():
            shutil.rmtree(final, ignore_errors=True)  # a stale, unfinished one
            os.rename(work, final)


def _encode(item: PairOrFailure, first_text: dict[str, bytes]) -> bytes:
    """A spool line. A pair whose paper text is that of its paper's first pair (TRACS:
    one row per telescope) is written without it, keeping only its own ``source``
    (``{"same_paper": true, "source": ..., "pair": ...}``), so the spool holds each
    paper's text once however many telescopes it names. ``first_text`` maps bibcodes
    to the digest of their first pair's paper (``source`` left out)."""
    if not isinstance(item, Pair):
        return b'{"failed": ' + item.model_dump_json().encode() + b"}\n"
    paper = item.paper
    digest = hashlib.sha256(paper.model_dump_json(exclude={"source"}).encode()).digest()
    first = first_text.get(paper.bibcode)
    if first is None:
        first_text[paper.bibcode] = digest
    if first != digest:  # the paper's first pair, or one with other text: written whole
        return b'{"pair": ' + item.model_dump_json().encode() + b"}\n"
    head = json.dumps({"same_paper": True, "source": paper.source})[:-1].encode()
    return head + b', "pair": ' + item.model_dump_json(exclude={"paper"}).encode() + b"}\n"


def load_paper(spool: Path, paper: PaperRecord) -> list[PairOrFailure]:
    """A paper's pairs (and failed rows) read back from the spool, in input order."""
    name, _, ranges = paper.source.partition("@")
    path = spool / name
    items: list[PairOrFailure] = []
    text: Paper | None = None  # the paper of its first pair
    try:
        with path.open("rb") as handle:
            for span in ranges.split(","):
                offset, length = (int(x) for x in span.split(":"))
                handle.seek(offset)
                record = json.loads(handle.read(length))
                if "failed" in record:
                    items.append(Classification.model_validate(record["failed"]))
                elif record.get("same_paper"):
                    if text is None:
                        raise ValueError("a row refers to a paper text not spooled before it")
                    own = text.model_copy(update={"source": record.get("source", "")})
                    items.append(Pair.model_validate({**record["pair"], "paper": own}))
                else:
                    pair = Pair.model_validate(record["pair"])
                    items.append(pair)
                    text = text or pair.paper
    except (OSError, ValueError, KeyError) as exc:
        raise SpoolError(
            f"paper {paper.bibcode}: cannot read {path} ({exc}); is spool_dir "
            "(AMC_SPOOL_DIR) the folder `amc submit` wrote to, shared with the workers?"
        ) from None
    return items


class SpoolError(AmcError):
    """A paper's spooled text is missing or unreadable."""

    kind = "spool"
