"""Request and response bodies of the reviewer's link edits and a pair's links after
review (part of the HTTP API's OpenAPI spec, with ``amc.web.schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from amc.domain.models import LinkKind, Paper
from amc.domain.reviews import LinkEdit
from amc.links.reviewed import LinkOrigin, PairLinks, ReviewedLink
from amc.web.fields import Text


class LinkIn(BaseModel):
    """A link to add to (or remove from) a pair; the reviewer is the token's holder.

    ``value`` as written: an instrument's name (``wfc3``, ``Wide Field Camera 3``), a
    programme or observation id (``HST:14915``, ``14915``, ``GO-14915``), a DOI (with or
    without ``https://doi.org/``); it is stored as the extractor writes it."""

    model_config = ConfigDict(extra="forbid")

    bibcode: Text = Field(min_length=1, max_length=200)
    telescope: Text = Field(min_length=1, max_length=50)
    kind: LinkKind
    value: Text = Field(min_length=1, max_length=300)
    note: Text = Field("", max_length=5000)


class LinkEditOut(BaseModel):
    """A recorded link edit."""

    id: int
    bibcode: str
    telescope: str
    kind: LinkKind
    value: str
    action: Literal["add", "remove"]
    reviewer: str
    note: str
    created_at: datetime

    @classmethod
    def of(cls, e: LinkEdit) -> LinkEditOut:
        return cls(id=e.id, bibcode=e.bibcode, telescope=e.telescope, kind=e.kind,
                   value=e.value, action=e.action, reviewer=e.reviewer, note=e.note,
                   created_at=e.created_at)  # fmt: skip


class ReviewedLinkOut(BaseModel):
    """One link of a pair after review: the model's (with its quote) or a reviewer's."""

    kind: LinkKind
    value: str
    source: LinkOrigin
    #: the model's quote and where it is (empty for a reviewer's addition)
    quote: str = ""
    field: str | None = None
    start: int | None = None
    end: int | None = None
    verified: bool = False
    #: the PDF page of the quote, when the input was a PDF
    page: int | None = None
    #: the reviewer edit in force on it (its addition or removal), if any
    edit: LinkEditOut | None = None

    @classmethod
    def of(cls, r: ReviewedLink, paper: Paper | None) -> ReviewedLinkOut:
        edit = LinkEditOut.of(r.edit) if r.edit is not None else None
        link = r.link
        if link is None:
            return cls(kind=r.kind, value=r.value, source=r.source, edit=edit)
        page = paper.page_at(link.field, link.start) if paper is not None else None
        return cls(kind=r.kind, value=r.value, source=r.source, quote=link.quote,
                   field=link.field, start=link.start, end=link.end, verified=link.verified,
                   page=page, edit=edit)  # fmt: skip


class PairLinksOut(BaseModel):
    """A pair's bibliography links after review: final = the model's - removed + added."""

    #: the final label is science or instrumentation (only such pairs have links)
    applies: bool
    final: list[ReviewedLinkOut]
    #: the model's links a reviewer removed
    removed: list[ReviewedLinkOut]

    @classmethod
    def of(cls, links: PairLinks, paper: Paper | None) -> PairLinksOut:
        return cls(applies=links.applies,
                   final=[ReviewedLinkOut.of(r, paper) for r in links.final],
                   removed=[ReviewedLinkOut.of(r, paper) for r in links.removed])  # fmt: skip
