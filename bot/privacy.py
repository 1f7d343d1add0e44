"""Export or erase one customer's personal data: ``python -m bot.privacy export|erase <customer id>``.

What belongs to a customer: their app conversations (the conversation id is the customer id),
the conversations of every WeChat follower ever bound to them, the copilot's rehearsal
conversations and turns of calls about them, their WeChat bindings and their handoffs.
``export`` writes all of it as one JSON document (also listing the audit records, which are
not erased); ``erase`` deletes it and appends an ``erasure`` record to the audit trail. Audit
records, risk assessments and the account itself stay: the bank must keep them (the audit
trail is append-only, and its records already hold masked text); the erasure record names the
customer only by a masked id.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, inspect, select, text

from bot import db, handoff, settings
from bot.compliance import audit
from bot.copilot import store as copilot_store
from bot.identity import bindings

TRACKER_TABLE = "events"  # Rasa's SQLTrackerStore


def masked_id(customer_id: str) -> str:
    """Enough of the id to tell erasures apart, not enough to name the customer."""
    return f"{customer_id[:2]}…{customer_id[-2:]}" if len(customer_id) > 6 else "…"


def conversation_ids(customer_id: str) -> list[str]:
    """Every conversation that spoke for the customer."""
    ids = [customer_id] + [b.open_id for b in bindings.of_customer(customer_id)]
    ids += [f"copilot:{call}" for call in copilot_store.calls_about(customer_id)]
    return list(dict.fromkeys(ids))


def _tracker_engine():
    engine = db.engine(settings.tracker_db_url())
    return engine if inspect(engine).has_table(TRACKER_TABLE) else None


def _conversations(ids: list[str]) -> dict[str, list[dict]]:
    engine = _tracker_engine()
    if engine is None:
        return {}
    found: dict[str, list[dict]] = {}
    with engine.connect() as connection:
        for sender in ids:
            rows = connection.execute(text(f"SELECT data FROM {TRACKER_TABLE} WHERE sender_id = :s ORDER BY id"),
                                      {"s": sender}).scalars().all()
            if rows:
                found[sender] = [json.loads(row) for row in rows]
    return found


def _handoffs(customer_id: str, ids: list[str]) -> list[handoff.HandoffRecord]:
    with db.sessions(db.COMPLIANCE)() as session:
        return session.scalars(select(handoff.HandoffRecord)
                               .where(handoff.exactly_of([customer_id, *ids]))).all()


def export(customer_id: str) -> dict[str, Any]:
    ids = conversation_ids(customer_id)
    return {
        "customer_id": customer_id,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "conversations": _conversations(ids),
        "wechat_bindings": [{"open_id": b.open_id, "bound_at": b.bound_at.isoformat(),
                             "unbound_at": b.unbound_at.isoformat() if b.unbound_at else None}
                            for b in bindings.of_customer(customer_id)],
        "handoffs": [{"id": h.id, "at": h.at.isoformat(), "reason": h.reason, "summary": json.loads(h.summary)}
                     for h in _handoffs(customer_id, ids)],
        "copilot": copilot_store.export_customer(customer_id),
        "audit_records_kept": [{"id": e.id, "at": e.at.isoformat(), "kind": e.kind, "detail": e.detail}
                               for e in audit.history(customer_id)],
    }


def erase(customer_id: str) -> dict[str, int]:
    """Delete what ``export`` shows except the audit trail; returns counts per kind."""
    ids = conversation_ids(customer_id)
    counts = {"conversation_events": 0, "wechat_bindings": 0, "handoffs": 0, "copilot_records": 0}
    engine = _tracker_engine()
    if engine is not None:
        with engine.begin() as connection:
            for sender in ids:
                counts["conversation_events"] += connection.execute(
                    text(f"DELETE FROM {TRACKER_TABLE} WHERE sender_id = :s"), {"s": sender}).rowcount
    counts["wechat_bindings"] = bindings.erase_customer(customer_id)
    with db.sessions(db.COMPLIANCE)() as session:
        counts["handoffs"] = session.execute(delete(handoff.HandoffRecord).where(
            handoff.exactly_of([customer_id, *ids]))).rowcount
        session.commit()
    counts["copilot_records"] = copilot_store.erase_customer(customer_id)
    audit.record(masked_id(customer_id), "erasure", detail=json.dumps(counts))
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("export", "erase"))
    parser.add_argument("customer_id")
    parser.add_argument("--out", help="export: write the JSON here instead of standard output")
    args = parser.parse_args(argv)
    if args.command == "erase":
        print(json.dumps(erase(args.customer_id)))
        return
    document = json.dumps(export(args.customer_id), ensure_ascii=False, indent=2)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(document)
    else:
        sys.stdout.write(document + "\n")


if __name__ == "__main__":
    main()
