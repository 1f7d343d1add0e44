"""Every console read of customer data leaves an audit record: who looked at what.

The officer's search, page, export or guard-block list is itself written to the audit trail
(kind ``console_read``), signed and append-only like the records it read: under the customer
searched for when the filter names one (so that customer's history shows who looked at it),
else under the subject ``compliance-console``. The detail names the officer, what they did,
the filter and how many records they saw.

No record, no read: when the trail cannot take the record (no audit key, a database error) the
console answers 503 and shows nothing.
"""

from __future__ import annotations

import logging

from bot.compliance import audit
from bot.console.search import Filter

logger = logging.getLogger(__name__)
KIND = "console_read"
SUBJECT = "compliance-console"  # the audit trail's "customer" of a read that names none


class NotAudited(RuntimeError):
    """The read could not be audited, so it is not answered."""


def record(officer: str, action: str, filters: Filter, shown: int, total: int) -> int:
    """Audit one read; returns the record's id. Raises NotAudited when the trail refuses it."""
    detail = f"officer {officer}: {action} ({filters.describe()}); {shown} of {total} records"
    try:
        return audit.record(filters.customer or SUBJECT, KIND, detail=detail)
    except Exception as error:  # noqa: BLE001 - whatever stops the record stops the read
        logger.exception("A compliance console read by %s could not be audited", officer)
        raise NotAudited(f"this read could not be audited, so it is not shown ({error})") from error
