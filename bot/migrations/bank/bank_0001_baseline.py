"""Baseline of the bank schema: accounts, saved payees, transfers, WeChat bindings, one-time codes.

The tables as the stores created them before migrations. On a database made then (adopted
after ``bot.migrations.legacy`` checked it), only the tables it lacks are created.

Revision ID: bank_0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "bank_0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(table: str) -> bool:
    return context.is_offline_mode() or not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("bank_accounts"):
        op.create_table(
            "bank_accounts",
            sa.Column("customer_id", sa.String(64), primary_key=True),
            sa.Column("display_name", sa.String(128), nullable=False),
            sa.Column("currency", sa.String(3), nullable=False),
            sa.Column("balance_fen", sa.BigInteger(), nullable=False),
            sa.Column("account_no", sa.String(32), nullable=False),
            sa.Column("phone", sa.String(20)),
            sa.Column("daily_limit_fen", sa.BigInteger()),
        )
        op.create_index("ix_bank_accounts_phone", "bank_accounts", ["phone"])
    if _missing("saved_payees"):
        op.create_table(
            "saved_payees",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("customer_id", sa.String(64), sa.ForeignKey("bank_accounts.customer_id")),
            sa.Column("name", sa.String(128), nullable=False),
            sa.Column("account_no", sa.String(32), nullable=False),
        )
        op.create_index("ix_saved_payees_customer_id", "saved_payees", ["customer_id"])
    if _missing("money_transfers"):
        op.create_table(
            "money_transfers",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("idempotency_key", sa.String(64), nullable=False),
            sa.Column("customer_id", sa.String(64), sa.ForeignKey("bank_accounts.customer_id")),
            sa.Column("payee", sa.String(128), nullable=False),
            sa.Column("amount_fen", sa.BigInteger(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint("idempotency_key"),
        )
        op.create_index("ix_money_transfers_customer_id", "money_transfers", ["customer_id"])
    if _missing("wechat_bindings"):
        op.create_table(
            "wechat_bindings",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("open_id", sa.String(64), nullable=False),
            sa.Column("customer_id", sa.String(64), nullable=False),
            sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("unbound_at", sa.DateTime(timezone=True)),
        )
        op.create_index("ix_wechat_bindings_open_id", "wechat_bindings", ["open_id"])
        op.create_index("ix_wechat_bindings_customer_id", "wechat_bindings", ["customer_id"])
    if _missing("one_time_codes"):
        op.create_table(
            "one_time_codes",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("purpose", sa.String(128), nullable=False),
            sa.Column("customer_id", sa.String(64), nullable=False),
            sa.Column("salt", sa.String(32), nullable=False),
            sa.Column("code_hash", sa.String(64), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("used_at", sa.DateTime(timezone=True)),
            sa.Column("verified_at", sa.DateTime(timezone=True)),
        )
        op.create_index("ix_one_time_codes_purpose", "one_time_codes", ["purpose"])


def downgrade() -> None:
    for table in ("one_time_codes", "wechat_bindings", "money_transfers", "saved_payees", "bank_accounts"):
        op.drop_table(table)
