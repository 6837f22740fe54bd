"""Prompt-cache tokens: cached (read) and cache-write prompt tokens per LLM call, and the
cached prompt tokens of each classification (a pair's share of its calls').

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(_count("cached_tokens"))
        batch.add_column(_count("cache_write_tokens"))
    with op.batch_alter_table("classifications") as batch:
        batch.add_column(_count("cached_tokens"))


def downgrade() -> None:
    with op.batch_alter_table("classifications") as batch:
        batch.drop_column("cached_tokens")
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("cache_write_tokens")
        batch.drop_column("cached_tokens")
