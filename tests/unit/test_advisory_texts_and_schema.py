"""The advisory's data files and tables: every text exists in zh and en with the same
placeholders and no forbidden wording; the migration makes exactly the advisory's tables on
SQLite and PostgreSQL and takes them away again."""

from __future__ import annotations

import string

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect

from bot import db, migrations
from bot.advisory import tables, texts
from bot.compliance import guard

ADVISORY_TABLES = set(tables.Base.metadata.tables)


def entries(node, path=()):
    if isinstance(node, dict) and set(node) == set(texts.LANGUAGES):
        yield ".".join(path), node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from entries(value, (*path, str(key)))
    else:
        raise AssertionError(f"{'.'.join(path)} is neither a section nor a zh/en text")


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_has_both_languages_and_the_same_placeholders():
    found = list(entries(texts.all_texts()))
    assert len(found) > 60
    for key, entry in found:
        assert entry["zh"].strip() and entry["en"].strip(), key
        assert placeholders(entry["zh"]) == placeholders(entry["en"]), key


def test_no_text_carries_forbidden_wording():
    for key, entry in entries(texts.all_texts()):
        for language in texts.LANGUAGES:
            assert guard.forbidden_wording(entry[language]) == [], (key, language)


def test_an_unknown_language_falls_back_to_chinese():
    assert texts.text("holdings.none", "fr") == texts.text("holdings.none", "zh")


def advisory_drift(connection) -> list:
    """What the database lacks or has beyond the bank models plus the advisory tables."""
    combined = MetaData()
    for table in [*migrations.target_metadata(db.BANK).tables.values(), *tables.Base.metadata.tables.values()]:
        if table.name not in combined.tables:
            table.to_metadata(combined)
    context = MigrationContext.configure(connection, opts={"version_table": migrations.version_table(db.BANK),
                                                           "compare_type": True})
    return compare_metadata(context, combined)


def check_migration(engine) -> None:
    migrations.upgrade(engine, db.BANK)
    assert ADVISORY_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert advisory_drift(connection) == []
    migrations.downgrade(engine, db.BANK, "bank_0001")
    assert not ADVISORY_TABLES & set(inspect(engine).get_table_names())
    assert "bank_accounts" in inspect(engine).get_table_names()
    migrations.upgrade(engine, db.BANK)
    with engine.connect() as connection:
        assert advisory_drift(connection) == []
        assert migrations.current(connection, db.BANK) == "bank_0002"


def test_the_migration_makes_exactly_the_advisory_tables_on_sqlite(tmp_path):
    check_migration(create_engine(f"sqlite:///{tmp_path / 'bank.db'}"))


def test_the_migration_makes_exactly_the_advisory_tables_on_postgresql(pg_database):
    engine = db.new_engine(pg_database)
    try:
        check_migration(engine)
    finally:
        engine.dispose()


def test_the_stores_work_on_postgresql(pg_database, monkeypatch):
    from datetime import date
    from decimal import Decimal

    from bot.advisory import bookings, holdings, reports, review_flags, valuation

    monkeypatch.setenv("ANXIN_BANK_DB_URL", pg_database)
    monkeypatch.setenv("ANXIN_AUDIT_DB_URL", pg_database)
    holdings.record_purchase("pg-1", "AX-BF-01", Decimal("10.50"), Decimal("10.55"), date(2026, 3, 1))
    holdings.record_purchase("pg-1", "AX-BF-01", Decimal("1"), Decimal("1"), date(2026, 3, 1))
    assert [(h.units, h.cost) for h in holdings.holdings("pg-1")] == [(Decimal("11.50"), Decimal("11.55"))]
    assert review_flags.flag_holdings_above_level(valuation.portfolio("demo-c2"))[0].new
    assert not review_flags.flag_holdings_above_level(valuation.portfolio("demo-c2"))[0].new
    assert bookings.book_advisor("pg-1", "明天", "持仓").status == "requested"
    made = reports.create_report("demo-c4", "en")
    from bot.advisory import report_links

    assert report_links.open_report(made.token).pdf.startswith(b"%PDF-")
