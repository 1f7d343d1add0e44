"""Print a customer's audit history, verify the whole trail, or anchor it now.

    python -m bot.compliance.audit_cli history CUSTOMER_ID [--json]
    python -m bot.compliance.audit_cli verify    # exit 0 intact, 1 findings, 2 cannot verify
    python -m bot.compliance.audit_cli anchor    # append a signed checkpoint of the trail as it is
(``make audit CUSTOMER=...`` runs the first.)
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.compliance import audit

SHOWN_FINDINGS = 50


def _verify() -> int:
    report = audit.verify()
    print(report.summary())
    for finding in report.findings[:SHOWN_FINDINGS]:
        print(f"  {finding.kind}: {finding.message}")
    if len(report.findings) > SHOWN_FINDINGS:
        print(f"  ... and {len(report.findings) - SHOWN_FINDINGS} more findings")
    print("chain intact" if report.ok else f"TAMPERING: {len(report.findings)} findings")
    return 0 if report.ok else 1


def _anchor() -> int:
    line = audit.anchor()
    print(f"anchored {line['count']} records, head {line['head'][:16]}… (id {line['last_id']}) at {line['at']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audit_cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    history = commands.add_parser("history", help="one customer's records, oldest first")
    history.add_argument("customer_id")
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser("verify", help="recompute the keyed hash chain and check it against the anchors")
    commands.add_parser("anchor", help="append a signed checkpoint of the trail as it is now")
    args = parser.parse_args(argv)

    if args.command in ("verify", "anchor"):
        try:
            return _verify() if args.command == "verify" else _anchor()
        except (RuntimeError, ValueError) as error:  # no key, an old database, a head that fails the key
            print(f"audit {args.command}: {error}", file=sys.stderr)
            return 2

    entries = audit.history(args.customer_id)
    if not entries:
        print(f"no audit records for {args.customer_id}")
    for entry in entries:
        if args.json:
            print(json.dumps({**entry.__dict__, "at": entry.at.isoformat()}, ensure_ascii=False))
            continue
        products = ", ".join(f"{p['id']}({p['risk']})" for p in entry.products) or "-"
        print(f"{entry.at:%Y-%m-%d %H:%M:%S} #{entry.id:<5} {entry.kind:<11} level={entry.c_level or '-':<3} "
              f"emotion={entry.emotion or '-':<10} rules={entry.rules_version} products={products}"
              + (f" warning={entry.warning_text!r}" if entry.warning_text else "")
              + (f" detail={entry.detail!r}" if entry.detail else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
