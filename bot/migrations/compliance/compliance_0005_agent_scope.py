"""Agents' scope over customers (``bot.copilot.scope``): a team per agent and per handoff, and the
grants that let an agent see one customer (a claimed or assigned handoff, or break-glass access
with a reason), each with its expiry.

Agents and handoffs made before this revision have no team: they belong to the default handoff
team (``ANXIN_HANDOFF_TEAM``), so a bank with one team keeps working as it did.

Revision ID: compliance_0005
Revises: compliance_0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0005"
down_revision = "compliance_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("copilot_agents") as table:
        table.add_column(sa.Column("team", sa.String(64)))
    with op.batch_alter_table("handoffs") as table:
        table.add_column(sa.Column("team", sa.String(64)))
    op.create_table(
        "copilot_access",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("basis", sa.String(16), nullable=False),
        sa.Column("handoff_id", sa.Integer()),
        sa.Column("reason", sa.Text()),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_copilot_access_agent", "copilot_access", ["agent"])
    op.create_index("ix_copilot_access_customer_id", "copilot_access", ["customer_id"])
    op.create_index("ix_copilot_access_handoff_id", "copilot_access", ["handoff_id"])


def downgrade() -> None:
    op.drop_index("ix_copilot_access_handoff_id", table_name="copilot_access")
    op.drop_index("ix_copilot_access_customer_id", table_name="copilot_access")
    op.drop_index("ix_copilot_access_agent", table_name="copilot_access")
    op.drop_table("copilot_access")
    with op.batch_alter_table("handoffs") as table:
        table.drop_column("team")
    with op.batch_alter_table("copilot_agents") as table:
        table.drop_column("team")
