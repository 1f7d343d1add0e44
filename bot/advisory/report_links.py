"""Signed, expiring links to a stored report: ``<report id>.<expiry>.<signature>``.

The signature is HMAC-SHA256, under a key the database never holds (``settings.report_key``:
``ANXIN_REPORT_KEY``; in demo mode a key file in the state folder), over the report id and the
expiry (Unix seconds), so a link cannot be made for another report or kept alive longer by
editing it. ``open_report`` checks, in this order, the shape, the signature (compared in constant
time), the expiry and that the report is still stored, and says which failed: a clear error,
never a report.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timezone

from bot import settings
from bot.advisory import report_store
from bot.advisory.report_store import StoredReport
from bot.advisory.texts import text

TOKEN = re.compile(r"^([0-9a-f]{32})\.(\d{1,12})\.([A-Za-z0-9_-]{43})\Z")
MALFORMED, FORGED, EXPIRED, UNKNOWN = "malformed", "forged", "expired", "unknown"


class ReportLinkError(ValueError):
    """A report link that does not open a report; ``reason``: malformed | forged | expired | unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"report link refused: {reason}")
        self.reason = reason

    def message(self, language: str | None) -> str:
        """What to show whoever opened the link."""
        return text(f"report_link.{self.reason}", language)


def _signature(report_id: str, expires: int) -> str:
    mac = hmac.new(settings.report_key(), f"{report_id}.{expires}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def issue(report_id: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{report_id}.{expires}.{_signature(report_id, expires)}"


def open_report(token: str, now: datetime | None = None) -> StoredReport:
    """The stored report a link names, or ReportLinkError saying why not."""
    match = TOKEN.match(token or "")
    if match is None:
        raise ReportLinkError(MALFORMED)
    report_id, expires, signature = match.group(1), int(match.group(2)), match.group(3)
    if not hmac.compare_digest(signature, _signature(report_id, expires)):
        raise ReportLinkError(FORGED)
    now = now or datetime.now(timezone.utc)
    if now.timestamp() >= expires:
        raise ReportLinkError(EXPIRED)
    report = report_store.find(report_id)
    if report is None:
        raise ReportLinkError(UNKNOWN)
    if now >= report.expires_at:
        raise ReportLinkError(EXPIRED)
    return report
