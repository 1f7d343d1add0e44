"""The rules versions that were in force, as the audit trail saw them, and the rules file now.

Every audit record carries the version of the rules in force when it was written, so the
trail itself says when each version was first and last in force and how much was decided
under it. A refused edit of the rules file leaves a ``rules_refused`` record under the version
kept in force, naming the refused file's content hash and its problems: those are listed under
that version. The trail names versions, not file contents; the content hash is known for the
file as it is now (and is the version itself when the file states none).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from bot import db
from bot.compliance import rulebook
from bot.compliance.audit import AuditRecord

REFUSED_CONTENT = re.compile(r"\(content ([0-9a-f]{12}|unreadable)\)")


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def versions() -> list[dict]:
    """Each rules version the trail names, oldest first: first and last record, how many, refusals."""
    with db.sessions(db.COMPLIANCE)() as session:
        seen = session.execute(
            select(AuditRecord.rules_version, func.min(AuditRecord.at), func.max(AuditRecord.at),
                   func.count(AuditRecord.id), func.min(AuditRecord.id))
            .group_by(AuditRecord.rules_version).order_by(func.min(AuditRecord.id))).all()
        refused = session.scalars(select(AuditRecord).where(AuditRecord.kind == "rules_refused")
                                  .order_by(AuditRecord.id)).all()
        refusals: dict[str, list[dict]] = {}
        for row in refused:
            content = REFUSED_CONTENT.search(row.detail or "")
            refusals.setdefault(row.rules_version, []).append(
                {"audit_id": row.id, "at": _utc_text(row.at), "refused_content_hash": content and content.group(1),
                 "detail": row.detail})
    return [{"version": version, "first_seen": _utc_text(first), "last_seen": _utc_text(last), "records": count,
             "refusals": refusals.get(version, [])} for version, first, last, count, _ in seen]


def live() -> dict:
    """The rules file as this server reads it now: path, version in force, content hash, refusal."""
    path = rulebook.rules_path()
    in_force = rulebook.current()
    try:
        content_hash = rulebook.content_hash(path.read_bytes())
    except OSError as error:
        content_hash = f"unreadable ({error.strerror or error})"
    refusal = rulebook.last_refusal()
    return {"path": str(path), "version": in_force.version, "content_hash": content_hash,
            "refusal": refusal.as_dict() if refusal else None}
