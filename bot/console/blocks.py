"""The guard blocks an officer reviews: ``guard_block`` audit records with their review marks.

Filtered like any audit search (customer, time, product, the rule that blocked) and by
whether they have been reviewed; each record comes with its review, if any (``reviews``).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.compliance.audit import AuditRecord
from bot.console import reviews, search

REVIEWED = ("all", "yes", "no")


def page(filters: search.Filter, reviewed: str = "all", number: int = 1, size: int = search.PAGE_SIZE) -> dict:
    """One page of guard blocks, newest first, each with ``review`` (None: not reviewed yet)."""
    if reviewed not in REVIEWED:
        raise search.FilterError(f'"reviewed" must be one of {", ".join(REVIEWED)}')
    marked = select(reviews.ReviewRow.audit_id)
    extra = () if reviewed == "all" else (
        AuditRecord.id.in_(marked) if reviewed == "yes" else AuditRecord.id.not_in(marked),)
    found = search.search(replace(filters, kind="guard_block"), number, size, extra)
    marks = reviews.of(r["id"] for r in found["records"])
    for record in found["records"]:
        review = marks.get(record["id"])
        record["review"] = review.as_dict() if review else None
    return found
