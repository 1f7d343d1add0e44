"""The advisory's tables (``bot.advisory.tables``): holdings, advisor-review flags, advisor
bookings and generated allocation reports.

Revision ID: bank_0002
Revises: bank_0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "bank_0002"
down_revision = "bank_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advisory_holdings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(32), nullable=False),
        sa.Column("units_hundredths", sa.BigInteger(), nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("customer_id", "product_id", "purchased_on", name="uq_advisory_holdings_lot"),
    )
    op.create_index("ix_advisory_holdings_customer_id", "advisory_holdings", ["customer_id"])
    op.create_table(
        "advisory_review_flags",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(32), nullable=False),
        sa.Column("product_risk", sa.String(2), nullable=False),
        sa.Column("customer_level", sa.String(2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.String(64)),
        sa.Column("note", sa.Text()),
        sa.UniqueConstraint("customer_id", "product_id", "customer_level", name="uq_advisory_review_flag"),
    )
    op.create_index("ix_advisory_review_flags_customer_id", "advisory_review_flags", ["customer_id"])
    op.create_index("ix_advisory_review_flags_status", "advisory_review_flags", ["status"])
    op.create_table(
        "advisor_bookings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("preferred_time", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(500), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_advisor_bookings_customer_id", "advisor_bookings", ["customer_id"])
    op.create_index("ix_advisor_bookings_status", "advisor_bookings", ["status"])
    op.create_table(
        "advisory_reports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_advisory_reports_customer_id", "advisory_reports", ["customer_id"])
    op.create_index("ix_advisory_reports_expires_at", "advisory_reports", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_advisory_reports_expires_at", table_name="advisory_reports")
    op.drop_index("ix_advisory_reports_customer_id", table_name="advisory_reports")
    op.drop_table("advisory_reports")
    op.drop_index("ix_advisor_bookings_status", table_name="advisor_bookings")
    op.drop_index("ix_advisor_bookings_customer_id", table_name="advisor_bookings")
    op.drop_table("advisor_bookings")
    op.drop_index("ix_advisory_review_flags_status", table_name="advisory_review_flags")
    op.drop_index("ix_advisory_review_flags_customer_id", table_name="advisory_review_flags")
    op.drop_table("advisory_review_flags")
    op.drop_index("ix_advisory_holdings_customer_id", table_name="advisory_holdings")
    op.drop_table("advisory_holdings")
