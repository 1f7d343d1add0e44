"""Print a customer's audit history, or verify the whole trail's hash chain.

    python -m bot.compliance.audit_cli history CUSTOMER_ID [--json]
    python -m bot.compliance.audit_cli verify
(``make audit CUSTOMER=...`` runs the first.)
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.compliance import audit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audit_cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    history = commands.add_parser("history", help="one customer's records, oldest first")
    history.add_argument("customer_id")
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser("verify", help="recompute the hash chain")
    args = parser.parse_args(argv)

    if args.command == "verify":
        checked, broken = audit.verify()
        print(f"{checked} records checked; " + (f"BROKEN at ids {broken}" if broken else "chain intact"))
        return 1 if broken else 0

    entries = audit.history(args.customer_id)
    if not entries:
        print(f"no audit records for {args.customer_id}")
    for entry in entries:
        if args.json:
            print(json.dumps({**entry.__dict__, "at": entry.at.isoformat()}, ensure_ascii=False))
            continue
        products = ", ".join(f"{p['id']}({p['risk']})" for p in entry.products) or "-"
        print(f"{entry.at:%Y-%m-%d %H:%M:%S} #{entry.id:<5} {entry.kind:<11} level={entry.c_level or '-':<3} "
              f"emotion={entry.emotion or '-':<10} products={products}"
              + (f" warning={entry.warning_text!r}" if entry.warning_text else "")
              + (f" detail={entry.detail!r}" if entry.detail else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
