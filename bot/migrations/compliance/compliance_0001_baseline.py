"""Baseline of the compliance schema: audit trail, risk profiles, handoffs, copilot agents, turns
and feedback, with the triggers that keep the audit trail and the risk profiles append-only.

The tables as the stores created them before migrations, the copilot's turns as first made
(revision compliance_0002 adds who and whom they name). On a database made then (adopted after
``bot.migrations.legacy`` checked it), only the tables it lacks are created.

Revision ID: compliance_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "compliance_0001"
down_revision = None
branch_labels = None
depends_on = None

# Copied, not imported, from the stores: a revision keeps doing what it did when it was written.
APPEND_ONLY = {
    "audit_events": {
        "sqlite": [
            "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
            "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END",
        ],
        "postgresql": [
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit trail is append-only'; END; $$ LANGUAGE plpgsql",
            "DROP TRIGGER IF EXISTS audit_no_change ON audit_events",
            "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        ],
    },
    "risk_profiles": {
        "sqlite": [
            "CREATE TRIGGER IF NOT EXISTS risk_profiles_no_update BEFORE UPDATE ON risk_profiles "
            "BEGIN SELECT RAISE(ABORT, 'risk profiles are append-only'); END",
            "CREATE TRIGGER IF NOT EXISTS risk_profiles_no_delete BEFORE DELETE ON risk_profiles "
            "BEGIN SELECT RAISE(ABORT, 'risk profiles are append-only'); END",
        ],
        "postgresql": [
            "CREATE OR REPLACE FUNCTION risk_profiles_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'risk profiles are append-only'; END; $$ LANGUAGE plpgsql",
            "DROP TRIGGER IF EXISTS risk_profiles_no_change ON risk_profiles",
            "CREATE TRIGGER risk_profiles_no_change BEFORE UPDATE OR DELETE ON risk_profiles "
            "FOR EACH ROW EXECUTE FUNCTION risk_profiles_append_only()",
        ],
    },
}
PG_FUNCTIONS = ("audit_append_only", "risk_profiles_append_only")


def _missing(table: str) -> bool:
    return context.is_offline_mode() or not sa.inspect(op.get_bind()).has_table(table)


def _append_only(table: str) -> None:
    """Triggers that refuse UPDATE and DELETE (other databases: the ORM's refusal only)."""
    for statement in APPEND_ONLY[table].get(op.get_context().dialect.name, []):
        op.execute(statement)


def upgrade() -> None:
    if _missing("audit_events"):
        op.create_table(
            "audit_events",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("customer_id", sa.String(128), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("c_level", sa.String(4)),
            sa.Column("products", sa.Text(), nullable=False),
            sa.Column("warning_text", sa.Text()),
            sa.Column("emotion", sa.String(32)),
            sa.Column("detail", sa.Text()),
            sa.Column("rules_version", sa.String(64), nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.UniqueConstraint("prev_hash"),
        )
        op.create_index("ix_audit_events_customer_id", "audit_events", ["customer_id"])
        _append_only("audit_events")
    if _missing("risk_profiles"):
        op.create_table(
            "risk_profiles",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("customer_id", sa.String(128), nullable=False),
            sa.Column("level", sa.String(2), nullable=False),
            sa.Column("score", sa.Integer()),
            sa.Column("senior", sa.Boolean(), nullable=False),
            sa.Column("answers", sa.Text(), nullable=False),
            sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        )
        op.create_index("ix_risk_profiles_customer_id", "risk_profiles", ["customer_id"])
        _append_only("risk_profiles")
    if _missing("handoffs"):
        op.create_table(
            "handoffs",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("customer_id", sa.String(128), nullable=False),
            sa.Column("reason", sa.String(32), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
        )
        op.create_index("ix_handoffs_customer_id", "handoffs", ["customer_id"])
    if _missing("copilot_agents"):
        op.create_table(
            "copilot_agents",
            sa.Column("agent_id", sa.String(64), primary_key=True),
            sa.Column("name", sa.String(128), nullable=False),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("key_sha256", sa.String(64), nullable=False),
            sa.Column("disabled", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("disabled_at", sa.DateTime(timezone=True)),
        )
        op.create_index("ix_copilot_agents_key_sha256", "copilot_agents", ["key_sha256"], unique=True)
    if _missing("copilot_turns"):
        op.create_table(
            "copilot_turns",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("call_id", sa.String(128), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("intent", sa.String(64)),
            sa.Column("emotion", sa.String(16)),
            sa.Column("anxiety", sa.Float()),
        )
        op.create_index("ix_copilot_turns_call_id", "copilot_turns", ["call_id"])
    if _missing("copilot_feedback"):
        op.create_table(
            "copilot_feedback",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("call_id", sa.String(128), nullable=False),
            sa.Column("turn_id", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("verdict", sa.String(16), nullable=False),
            sa.Column("agent", sa.String(64), nullable=False),
            sa.Column("final_text", sa.Text()),
        )
        op.create_index("ix_copilot_feedback_call_id", "copilot_feedback", ["call_id"])


def downgrade() -> None:
    for table in ("copilot_feedback", "copilot_turns", "copilot_agents", "handoffs", "risk_profiles", "audit_events"):
        op.drop_table(table)  # its triggers go with it
    if op.get_context().dialect.name == "postgresql":
        for function in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
