"""A pair's links after review: the model's, less those a reviewer removed, plus those a
reviewer added (``review_links``), and the value a reviewer typed made canonical the
way the extractor writes it (``canonical_value``).

The last edit of a (kind, value) is in force, so a removed link comes back by adding it
again and an added one goes by removing it. Links belong to science and instrumentation
pairs only: a pair whose final label is neither has no final links, whatever was edited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from amc.domain.models import DATA_LINK_KINDS, Link, LinkKind, TelescopeLabels
from amc.domain.reviews import LinkEdit, ReviewError
from amc.registry.entries import Telescope
from amc.registry.links import IdKind

#: who a final link comes from
LinkOrigin = Literal["rules", "llm", "reviewer"]
#: the kinds a reviewer may add (``grant`` is read from funding text only)
ADDABLE_KINDS: tuple[LinkKind, ...] = DATA_LINK_KINDS
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_LEAD = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


class LinkValueError(ReviewError):
    """A link a reviewer typed that is not one: unknown instrument, malformed id or DOI."""

    status_code = 400


class LinkEditError(ReviewError):
    """A link edit that does not fit the pair: adding a link it has, removing one it lacks."""

    status_code = 409


@dataclass(frozen=True)
class ReviewedLink:
    """One link of a pair after review."""

    kind: LinkKind
    value: str
    source: LinkOrigin
    #: the model's link with its quote (None for a reviewer's addition)
    link: Link | None = None
    #: the reviewer's edit in force on it (an addition, or the removal), if any
    edit: LinkEdit | None = None


@dataclass(frozen=True)
class PairLinks:
    """The links of a pair after review."""

    #: the final links: the model's kept ones, then the reviewer's additions
    final: list[ReviewedLink]
    #: the model's links a reviewer removed
    removed: list[ReviewedLink]
    #: the pair's final label is science or instrumentation (else it has no links)
    applies: bool

    def values(self, kind: LinkKind) -> list[str]:
        """The final values of one kind, each once, in order."""
        return list(dict.fromkeys(r.value for r in self.final if r.kind == kind))

    def has(self, kind: LinkKind, value: str) -> bool:
        return any(r.kind == kind and r.value == value for r in self.final)


def review_links(
    model: Sequence[Link], edits: Sequence[LinkEdit], labels: TelescopeLabels | None
) -> PairLinks:
    """Final links = the model's links - the reviewer's removals + their additions (the
    last edit of each kind and value in force); none unless ``labels`` (the final ones)
    are science or instrumentation."""
    if labels is None or not (labels.science or labels.instrumentation):
        return PairLinks([], [], applies=False)
    last = {(e.kind, e.value): e for e in sorted(edits, key=lambda e: e.id)}
    final: list[ReviewedLink] = []
    removed: list[ReviewedLink] = []
    seen: set[tuple[str, str]] = set()
    for link in model:
        key = (link.kind, link.value)
        if key in seen:
            continue
        seen.add(key)
        edit = last.get(key)
        kept = ReviewedLink(link.kind, link.value, link.source, link, edit)
        (removed if edit is not None and edit.action == "remove" else final).append(kept)
    final += [ReviewedLink(e.kind, e.value, "reviewer", None, e)
              for key, e in last.items() if e.action == "add" and key not in seen]  # fmt: skip
    return PairLinks(final, removed, applies=True)


def canonical_value(telescope: Telescope, kind: LinkKind, written: str) -> str:
    """The value a reviewer typed as the extractor writes it: the registry's instrument
    name, ``TELESCOPE:NUMBER`` for a programme or observation id, a lower-cased DOI;
    ``LinkValueError`` saying what is wrong otherwise."""
    text = " ".join(written.split())
    if not text:
        raise LinkValueError(f"no {kind} given: type the {kind} to add")
    if kind == "instrument":
        return _instrument(telescope, text)
    if kind == "doi":
        doi = re.sub(r"\s+", "", _DOI_LEAD.sub("", text)).lower()
        if not _DOI.match(doi):
            raise LinkValueError(f"{written!r} is not a DOI: write it as 10.NNNN/suffix "
                                 "(e.g. 10.17909/6wjp-qb35)")  # fmt: skip
        return doi
    if kind == "programme" or kind == "obsid":
        return _id(telescope, kind, text)
    raise LinkValueError(f"a reviewer adds links of kind {', '.join(ADDABLE_KINDS)}, not {kind}")


def _instrument(telescope: Telescope, text: str) -> str:
    known = list(telescope.link_instruments)
    by_name = {name.lower(): name for name in known}
    if text.lower() in by_name:
        return by_name[text.lower()]
    found = telescope.link_patterns.find_instruments(text)
    whole = [name for start, end, name in found if start == 0 and end == len(text)]
    if whole:
        return whole[0]
    shown = ", ".join(known) if known else "none"
    raise LinkValueError(f"{text!r} is not an instrument of {telescope.key} in the registry "
                         f"(known: {shown}); add it to the registry first")  # fmt: skip


def _id(telescope: Telescope, kind: IdKind, text: str) -> str:
    patterns = telescope.link_patterns.ids.get(kind)
    if patterns is None:
        raise LinkValueError(f"the registry has no {kind} ids for {telescope.key}: add "
                             f"link_ids.{kind} to its entry first")  # fmt: skip
    head, sep, rest = text.partition(":")
    if sep and head.strip().upper() != telescope.key:
        raise LinkValueError(f"{text!r} names {head.strip()}, not {telescope.key}: a {kind} "
                             f"of this pair is written {telescope.key}:NUMBER")  # fmt: skip
    m = patterns.item.fullmatch(rest.strip() if sep else text)
    if m is None or m.group("grant"):
        raise LinkValueError(f"{text!r} is not a {kind} id of {telescope.key}: write "
                             f"{telescope.key}:NUMBER or the number alone")  # fmt: skip
    return patterns.value(telescope.key, m.group("num"))
