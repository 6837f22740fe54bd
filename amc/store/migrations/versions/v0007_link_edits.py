"""Reviewer link edits: bibliography links a librarian added to or removed from a pair.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_edits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bibcode", sa.Text(), nullable=False),
        sa.Column("telescope", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('add', 'remove')", name=op.f("ck_link_edits_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_edits")),
    )
    op.create_index("ix_link_edits_bibcode_telescope", "link_edits", ["bibcode", "telescope"])


def downgrade() -> None:
    op.drop_table("link_edits")
