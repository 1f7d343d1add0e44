"""Copilot turns name the agent whose key made the request and the call's customer.

Was an ad-hoc ALTER in the copilot's store, which added the columns but not the index; a
database adopted from then may have either column already and lacks the index: only what is
missing is added.

Revision ID: compliance_0002
Revises: compliance_0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "compliance_0002"
down_revision = "compliance_0001"
branch_labels = None
depends_on = None


def _present() -> tuple[set[str], set[str]]:
    """The columns and index names copilot_turns has now (nothing, when writing SQL offline)."""
    if context.is_offline_mode():
        return set(), set()
    inspector = sa.inspect(op.get_bind())
    return ({c["name"] for c in inspector.get_columns("copilot_turns")},
            {i["name"] for i in inspector.get_indexes("copilot_turns")})


def upgrade() -> None:
    columns, indexes = _present()
    with op.batch_alter_table("copilot_turns") as batch:
        if "agent" not in columns:  # nullable: turns stored before agents had their own keys name nobody
            batch.add_column(sa.Column("agent", sa.String(64)))
        if "customer_id" not in columns:
            batch.add_column(sa.Column("customer_id", sa.String(64)))
    if "ix_copilot_turns_customer_id" not in indexes:
        op.create_index("ix_copilot_turns_customer_id", "copilot_turns", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_copilot_turns_customer_id", table_name="copilot_turns")
    with op.batch_alter_table("copilot_turns") as batch:
        batch.drop_column("customer_id")
        batch.drop_column("agent")
