"""The job store's tables, as SQLAlchemy 2.0 typed ORM classes.

Every schema change needs a new Alembic revision in ``amc/store/migrations/versions``;
``tests/test_store.py`` checks that the migrated database matches this metadata on
SQLite and PostgreSQL. Timestamps are stored as UTC and always read back tz-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BatchStatus = Literal["queued", "running", "done", "failed", "cancelled"]
PaperStatus = Literal["pending", "running", "done", "failed"]
BATCH_STATUSES: tuple[BatchStatus, ...] = ("queued", "running", "done", "failed", "cancelled")
PAPER_STATUSES: tuple[PaperStatus, ...] = ("pending", "running", "done", "failed")
#: the stored decision confidence of a failed pair: below every real one
FAILED_CONFIDENCE = -1.0

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _status_check(statuses: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{s}'" for s in statuses)
    return CheckConstraint(f"status IN ({allowed})", name="status")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class BatchRow(Base):
    """One submission: a set of input files, telescopes and a tier."""

    __tablename__ = "batches"
    __table_args__ = (
        _status_check(BATCH_STATUSES),
        Index("ix_batches_content_hash", "content_hash", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    #: names of the submitted input files
    inputs: Mapped[list[Any]] = mapped_column(default=list)
    #: sha256 of the inputs' bytes + telescopes + tier (see ``submission_hash``)
    content_hash: Mapped[str] = mapped_column(Text)
    telescopes: Mapped[list[Any]] = mapped_column(default=list)
    tier: Mapped[str] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    n_papers: Mapped[int] = mapped_column(Integer, default=0)


class PaperRow(Base):
    """One paper of a batch; the unit a worker claims."""

    __tablename__ = "papers"
    __table_args__ = (
        _status_check(PAPER_STATUSES),
        UniqueConstraint("batch_id", "bibcode", "source"),
        Index("ix_papers_batch_id_status", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    bibcode: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the process holding a ``running`` paper, ``host/pid/start`` (``amc.jobs.owners``)
    owner: Mapped[str | None] = mapped_column(Text)


class ClassificationRow(Base):
    """One pair's verdict. Unique per (batch, pair) so saving twice is an update."""

    __tablename__ = "classifications"
    __table_args__ = (
        UniqueConstraint("batch_id", "pair_id"),
        Index("ix_classifications_paper_id", "paper_id"),
        # the review queue's default order (least confident first) and its filters
        Index("ix_classifications_batch_id_confidence", "batch_id", "confidence", "pair_id"),
        Index(
            "ix_classifications_batch_id_telescope",
            "batch_id",
            "telescope",
            "confidence",
            "pair_id",
        ),
        # a pair across batches; covering the batch and confidence, it also counts the
        # reviewed pairs of a batch from review_state's side without reading the rows
        Index(
            "ix_classifications_bibcode_telescope", "bibcode", "telescope", "batch_id", "confidence"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    pair_id: Mapped[str] = mapped_column(Text)
    bibcode: Mapped[str] = mapped_column(Text)
    telescope: Mapped[str] = mapped_column(Text)
    # labels are NULL when the pair failed
    science: Mapped[bool | None] = mapped_column(Boolean)
    instrumentation: Mapped[bool | None] = mapped_column(Boolean)
    mention: Mapped[bool | None] = mapped_column(Boolean)
    not_telescope: Mapped[bool | None] = mapped_column(Boolean)
    conf_science: Mapped[float] = mapped_column(Float, default=0.0)
    conf_instrumentation: Mapped[float] = mapped_column(Float, default=0.0)
    conf_mention: Mapped[float] = mapped_column(Float, default=0.0)
    conf_not_telescope: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    tier: Mapped[str] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    prompt_name: Mapped[str | None] = mapped_column(Text)
    prompt_hash: Mapped[str | None] = mapped_column(Text)
    registry_hash: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    elapsed_s: Mapped[float] = mapped_column(Float, default=0.0)
    llm_calls: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    #: of ``prompt_tokens``, read from the provider's prompt cache
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cost_usd: Mapped[float | None] = mapped_column(Float)
    n_snippets: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    #: the input's own labels (``Classification.gold``), as a label -> bool object
    gold: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    #: confidence of the decision as a whole (its weakest label call); -1 for a failed pair
    #: (no decision): never NULL, so the queue's order is a plain index range
    confidence: Mapped[float] = mapped_column(Float, default=FAILED_CONFIDENCE)
    #: the predicted labels differ from the input's; NULL without input labels or labels
    input_differs: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkRow(Base):
    """One bibliography link of a pair's verdict (``Classification.links``), saved and
    replaced with the verdict; indexed by value so an archive can ask which papers used
    an ObsID, a programme or a DOI."""

    __tablename__ = "links"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('instrument', 'programme', 'obsid', 'doi', 'grant')", name="kind"
        ),
        CheckConstraint("source IN ('rules', 'llm')", name="source"),
        Index("ix_links_batch_id_pair_id", "batch_id", "pair_id"),
        Index("ix_links_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    pair_id: Mapped[str] = mapped_column(Text)
    #: order of the link within its pair
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    quote: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str] = mapped_column(String(32))
    quote_start: Mapped[int] = mapped_column(Integer)
    quote_end: Mapped[int] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LlmCallRow(Base):
    """One request to an LLM, successful or not (cost accounting, caching, debugging)."""

    __tablename__ = "llm_calls"
    __table_args__ = (
        Index("ix_llm_calls_batch_id_pair_id", "batch_id", "pair_id"),
        Index("ix_llm_calls_request_hash", "request_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    pair_id: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    prompt_hash: Mapped[str | None] = mapped_column(Text)
    request_hash: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    #: of ``prompt_tokens``, read from / written to the provider's prompt cache
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cost_usd: Mapped[float | None] = mapped_column(Float)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HumanLabelRow(Base):
    """Append-only history of reviewer labels (every change: who, when, how, note); the
    pair's current state is kept in ``review_state``."""

    __tablename__ = "human_labels"
    __table_args__ = (Index("ix_human_labels_bibcode_telescope", "bibcode", "telescope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bibcode: Mapped[str] = mapped_column(Text)
    telescope: Mapped[str] = mapped_column(Text)
    science: Mapped[bool] = mapped_column(Boolean)
    instrumentation: Mapped[bool] = mapped_column(Boolean)
    mention: Mapped[bool] = mapped_column(Boolean)
    not_telescope: Mapped[bool] = mapped_column(Boolean)
    reviewer: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: accept, correct, bulk_accept, undo, audit_keep, audit_take
    action: Mapped[str] = mapped_column(Text, default="correct", server_default="correct")
    #: the API token of the reviewer (their identity; ``reviewer`` is its holder's name)
    token_id: Mapped[int | None] = mapped_column(Integer)
    #: the row an undo reverted
    undoes: Mapped[int | None] = mapped_column(Integer)
    #: after this row the pair has no reviewer label (an undo of its first label)
    cleared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ReviewStateRow(Base):
    """The current reviewer label of every reviewed pair (one row per bibcode and
    telescope, written with its ``human_labels`` row): what the queue filters and the
    exports join on."""

    __tablename__ = "review_state"

    bibcode: Mapped[str] = mapped_column(Text, primary_key=True)
    telescope: Mapped[str] = mapped_column(Text, primary_key=True)
    science: Mapped[bool] = mapped_column(Boolean)
    instrumentation: Mapped[bool] = mapped_column(Boolean)
    mention: Mapped[bool] = mapped_column(Boolean)
    not_telescope: Mapped[bool] = mapped_column(Boolean)
    reviewer: Mapped[str] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    #: the ``human_labels`` row that set this state
    label_id: Mapped[int] = mapped_column(Integer)
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class LinkEditRow(Base):
    """Append-only history of reviewer link edits (a link added or removed: who, when,
    note); the last edit of a pair's (kind, value) is in force."""

    __tablename__ = "link_edits"
    __table_args__ = (
        CheckConstraint("action IN ('add', 'remove')", name="action"),
        Index("ix_link_edits_bibcode_telescope", "bibcode", "telescope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bibcode: Mapped[str] = mapped_column(Text)
    telescope: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(8))
    reviewer: Mapped[str] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditResolutionRow(Base):
    """A suspect of the label audit that a librarian resolved (kept the stored label or
    took the suggestion); the incremental audit does not flag it again while the pair's
    text hash is unchanged."""

    __tablename__ = "audit_resolutions"

    pair_key: Mapped[str] = mapped_column(Text, primary_key=True)
    #: hash of the pair's text when it was resolved ("" when the audit had none)
    text_hash: Mapped[str] = mapped_column(Text)
    #: keep (the stored label is right) or take (the suggestion is)
    decision: Mapped[str] = mapped_column(String(8))
    #: the labels recorded, e.g. ``science+instrumentation``
    labels: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(Integer)
    #: the ``human_labels`` row the resolution recorded
    label_id: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditStateRow(Base):
    """What the incremental audit last saw for a pair, so unchanged pairs are skipped."""

    __tablename__ = "audit_state"

    pair_key: Mapped[str] = mapped_column(Text, primary_key=True)
    #: hash of the stored labels + text the last score was computed from
    content_hash: Mapped[str] = mapped_column(Text)
    last_score: Mapped[float | None] = mapped_column(Float)
    last_run_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: hash of the pair's text alone (labels aside): a resolved suspect stays resolved
    #: while it is unchanged
    text_hash: Mapped[str | None] = mapped_column(Text)


class ApiTokenRow(Base):
    """An API token of the web app: only its sha256 is stored, never the token."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_token_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: who holds it (a librarian's name); also the default reviewer of their labels
    name: Mapped[str] = mapped_column(Text)
    #: hex sha256 of the token (tokens are 256-bit random, so a fast hash is enough)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class WebSessionRow(Base):
    """A browser session of the web app: the cookie holds a random id, the store only its
    sha256; logging out (or revoking the token) ends it."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_token_id", "token_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column()
