"""The review workbench: reviewer label history with actions and identity, the current
review state per pair, decision confidence (-1 for a failed pair) and input disagreement
on classifications (indexed for the queue), audit resolutions, text hashes in the audit
state, web sessions.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LABELS = ("science", "instrumentation", "mention", "not_telescope")
#: rows updated per statement while backfilling
CHUNK = 2000


def upgrade() -> None:
    with op.batch_alter_table("human_labels") as batch:
        batch.add_column(sa.Column("action", sa.Text(), server_default="correct", nullable=False))
        batch.add_column(sa.Column("token_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("undoes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cleared", sa.Boolean(), server_default=sa.false(),
                                   nullable=False))  # fmt: skip
    op.create_table(
        "review_state",
        sa.Column("bibcode", sa.Text(), nullable=False),
        sa.Column("telescope", sa.Text(), nullable=False),
        *[sa.Column(name, sa.Boolean(), nullable=False) for name in LABELS],
        sa.Column("reviewer", sa.Text(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bibcode", "telescope", name=op.f("pk_review_state")),
    )
    _backfill_review_state()

    with op.batch_alter_table("classifications") as batch:
        batch.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("input_differs", sa.Boolean(), nullable=True))
    _backfill_classifications()
    with op.batch_alter_table("classifications") as batch:
        batch.alter_column("confidence", existing_type=sa.Float(), nullable=False)
    op.create_index("ix_classifications_batch_id_confidence", "classifications",
                    ["batch_id", "confidence", "pair_id"])  # fmt: skip
    op.create_index("ix_classifications_batch_id_telescope", "classifications",
                    ["batch_id", "telescope", "confidence", "pair_id"])  # fmt: skip
    op.create_index("ix_classifications_bibcode_telescope", "classifications",
                    ["bibcode", "telescope", "batch_id", "confidence"])  # fmt: skip

    op.create_table(
        "audit_resolutions",
        sa.Column("pair_key", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("label_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pair_key", name=op.f("pk_audit_resolutions")),
    )
    with op.batch_alter_table("audit_state") as batch:
        batch.add_column(sa.Column("text_hash", sa.Text(), nullable=True))

    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_tokens.id"],
            ondelete="CASCADE",
            name=op.f("fk_web_sessions_token_id_api_tokens"),
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index("ix_web_sessions_token_id", "web_sessions", ["token_id"])


def _backfill_review_state() -> None:
    """The newest history row of every reviewed pair becomes its current state."""
    bind = op.get_bind()
    newest = sa.text(
        "SELECT h.id, h.bibcode, h.telescope, h.science, h.instrumentation, h.mention, "
        "h.not_telescope, h.reviewer, h.note, h.created_at FROM human_labels h "
        "WHERE h.id IN (SELECT max(id) FROM human_labels GROUP BY bibcode, telescope)"
    )
    state = sa.table(
        "review_state",
        *[sa.column(n) for n in ("bibcode", "telescope", *LABELS, "reviewer", "token_id",
                                 "action", "note", "label_id", "reviewed_at")],
    )  # fmt: skip
    rows = [
        {"bibcode": r.bibcode, "telescope": r.telescope,
         **{n: bool(getattr(r, n)) for n in LABELS}, "reviewer": r.reviewer, "token_id": None,
         "action": "correct", "note": r.note, "label_id": r.id, "reviewed_at": r.created_at}
        for r in bind.execute(newest)
    ]  # fmt: skip
    for start in range(0, len(rows), CHUNK):
        bind.execute(sa.insert(state), rows[start : start + CHUNK])


def _backfill_classifications() -> None:
    """Decision confidence (the weakest label call) and input disagreement of saved rows."""
    bind = op.get_bind()
    table = sa.table("classifications", sa.column("id"), sa.column("confidence"),
                     sa.column("input_differs"))  # fmt: skip
    query = sa.text(
        "SELECT id, science, instrumentation, mention, not_telescope, conf_science, "
        "conf_instrumentation, conf_mention, conf_not_telescope, gold FROM classifications"
    )
    updates = [_derived(r) for r in bind.execute(query)]
    stmt = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"))
        .values(confidence=sa.bindparam("conf"), input_differs=sa.bindparam("differs"))
    )
    for start in range(0, len(updates), CHUNK):
        bind.execute(stmt, updates[start : start + CHUNK])


def _derived(r: Any) -> dict[str, Any]:
    if r.science is None:  # a failed pair: below every real confidence
        return {"row_id": r.id, "conf": -1.0, "differs": None}
    labels = [bool(getattr(r, n)) for n in LABELS]
    confs = [float(getattr(r, f"conf_{n}") or 0.0) for n in LABELS]
    conf = min(c if on else 1.0 - c for on, c in zip(labels, confs, strict=True))
    gold = r.gold
    if isinstance(gold, str):  # SQLite hands JSON back as text through a raw query
        gold = json.loads(gold) if gold not in ("", "null") else None
    differs = None if gold is None else [bool(gold.get(n)) for n in LABELS] != labels
    return {"row_id": r.id, "conf": conf, "differs": differs}


def downgrade() -> None:
    op.drop_index("ix_web_sessions_token_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("audit_state") as batch:
        batch.drop_column("text_hash")
    op.drop_table("audit_resolutions")
    for name in ("bibcode_telescope", "batch_id_telescope", "batch_id_confidence"):
        op.drop_index(f"ix_classifications_{name}", table_name="classifications")
    with op.batch_alter_table("classifications") as batch:
        batch.drop_column("input_differs")
        batch.drop_column("confidence")
    op.drop_table("review_state")
    with op.batch_alter_table("human_labels") as batch:
        for name in ("cleared", "undoes", "token_id", "action"):
            batch.drop_column(name)
