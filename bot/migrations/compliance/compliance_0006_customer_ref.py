"""An exact customer reference beside the masked id: handoffs, agents' access grants, audit records.

Masks are lossy (``demo-13800000003`` and ``demo-13899990003`` both show as
``demo-138****0003``), so access control and the audit trail's customer search compare a keyed
reference instead (``bot.compliance.customer_ref``: HMAC-SHA256 of the customer id under a key
derived from the audit key). Rows written before this revision have none (NULL) and are not
filled in: the key is not the database's, and the customer id they were made for is gone. A
handoff or grant without one opens nobody's data; an audit record without one is found by its
masked id, and its hash is what it was (the field enters the hash only when set, ``audit._fields``).

A plain ADD COLUMN on audit_events, never a batch copy of the table: a copy would drop the
triggers that keep the trail append-only.

Revision ID: compliance_0006
Revises: compliance_0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0006"
down_revision = "compliance_0005"
branch_labels = None
depends_on = None

TABLES = ("handoffs", "copilot_access", "audit_events")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("customer_ref", sa.String(64)))
        op.create_index(f"ix_{table}_customer_ref", table, ["customer_ref"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_customer_ref", table_name=table)
        op.drop_column(table, "customer_ref")  # SQLite >= 3.35: ALTER TABLE DROP COLUMN, triggers kept
