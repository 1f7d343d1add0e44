"""Databases made before migrations: adopted when they match what that code made, else refused.

Until migrations, each store created its own tables when first used (``create_all``), so such
a database has no version table and any subset of the tables; the copilot's store also added
two columns to its turns by hand. ``check`` compares every table the database has with the
shape that code made (below, frozen: it describes the past, not the models of today):

- all match: nothing is done here; the first revisions then create only the tables the
  database lacks and add the copilot's columns if missing (the database is *adopted*);
- one does not (a column or an append-only trigger is missing, e.g. a file from an early
  version): ``SchemaError`` names the database, the table and what it lacks, and nothing is
  altered. Remove the file if it holds demo data only; else bring the table to that shape by
  hand (see the baseline revisions) and start again: a matching database is adopted.
"""

from __future__ import annotations

from sqlalchemy import inspect, text

from bot import db
from bot.migrations import SchemaError, describe

# The tables the stores made before migrations: {schema: {table: columns}}.
TABLES = {
    db.BANK: {
        "bank_accounts": {"customer_id", "display_name", "currency", "balance_fen", "account_no", "phone",
                          "daily_limit_fen"},
        "saved_payees": {"id", "customer_id", "name", "account_no"},
        "money_transfers": {"id", "idempotency_key", "customer_id", "payee", "amount_fen", "created_at"},
        "wechat_bindings": {"id", "open_id", "customer_id", "bound_at", "unbound_at"},
        "one_time_codes": {"id", "purpose", "customer_id", "salt", "code_hash", "expires_at", "attempts",
                           "used_at", "verified_at"},
    },
    db.COMPLIANCE: {
        "audit_events": {"id", "at", "customer_id", "kind", "c_level", "products", "warning_text", "emotion",
                         "detail", "rules_version", "prev_hash", "hash"},
        "risk_profiles": {"id", "customer_id", "level", "score", "senior", "answers", "assessed_at"},
        "handoffs": {"id", "at", "customer_id", "reason", "summary"},
        "copilot_agents": {"agent_id", "name", "role", "key_sha256", "disabled", "created_at", "disabled_at"},
        # agent and customer_id were added by hand when missing; revision compliance_0002 does it now
        "copilot_turns": {"id", "call_id", "at", "text", "intent", "emotion", "anxiety"},
        "copilot_feedback": {"id", "at", "call_id", "turn_id", "kind", "verdict", "agent", "final_text"},
    },
}
# The triggers that keep a table append-only, per database; a table without them was made
# before it became append-only.
TRIGGERS = {
    "sqlite": {"audit_events": {"audit_no_update", "audit_no_delete"},
               "risk_profiles": {"risk_profiles_no_update", "risk_profiles_no_delete"}},
    "postgresql": {"audit_events": {"audit_no_change"}, "risk_profiles": {"risk_profiles_no_change"}},
}
_TRIGGER_QUERIES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:table AS regclass) AND NOT tgisinternal",
}


def problems(connection, schema: str) -> list[tuple[str, str]]:
    """(table, what it lacks) for each table of ``schema`` that differs from what the code before
    migrations made; empty when the database can be adopted (or has none of the tables)."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    dialect = connection.dialect.name
    found = []
    for table, columns in TABLES[schema].items():
        if table not in present:
            continue
        missing = sorted(columns - {c["name"] for c in inspector.get_columns(table)})
        if missing:
            found.append((table, ", ".join(missing)))
            continue
        wanted = TRIGGERS.get(dialect, {}).get(table)
        if wanted:
            names = set(connection.execute(text(_TRIGGER_QUERIES[dialect]), {"table": table}).scalars())
            if not wanted <= names:
                found.append((table, "the triggers that keep it append-only"))
    return found


def check(connection, engine, schema: str) -> None:
    """Refuse, unaltered, a database whose tables of ``schema`` do not match (see the module)."""
    found = problems(connection, schema)
    if not found:
        return
    lacks = "; ".join(f"table {table} was made by an older version of Anxin and lacks {what}" for table, what in found)
    raise SchemaError(
        f"{describe(engine)}: {lacks}. It is not altered automatically. Remove the file (or drop the tables) "
        f"if it holds demo data only; otherwise bring the table to the shape the baseline revision in "
        f"bot/migrations/{schema}/ makes, by hand, and start again: a database whose tables match is adopted.")
