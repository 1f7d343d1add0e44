"""Audit records name the message they describe.

Suggestion, warning and mismatch records are written by the Rasa server for what passed the
compliance guard and was handed to the channel (``bot.rasa_ext.compliance_hook``), each with
the id that message carries in the tracker (its BotUttered metadata ``message_id``). Records
written before this revision name no message (NULL), and the chain's hash of such a record is
what it was: the field enters the hash only when set (``audit._fields``).

A plain ADD COLUMN, never a batch copy of the table: a copy would drop the triggers that keep
the trail append-only.

Revision ID: compliance_0003
Revises: compliance_0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "compliance_0003"
down_revision = "compliance_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("message_id", sa.String(64)))
    op.create_index("ix_audit_events_message_id", "audit_events", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_message_id", table_name="audit_events")
    op.drop_column("audit_events", "message_id")  # SQLite >= 3.35: ALTER TABLE DROP COLUMN, triggers kept
