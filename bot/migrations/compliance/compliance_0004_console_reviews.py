"""The compliance console's review marks on guard blocks (``bot.console.reviews``).

A table of its own beside the audit trail, which stays untouched: a review names the audit
record by id, one review per record.

Revision ID: compliance_0004
Revises: compliance_0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0004"
down_revision = "compliance_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_reviews_audit_id", "console_reviews", ["audit_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_console_reviews_audit_id", table_name="console_reviews")
    op.drop_table("console_reviews")
