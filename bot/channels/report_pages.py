"""Allocation reports opened from a link the bot sent (``/webhooks/rest/report/<token>`` and
``.../pdf``), served by the customer-facing Rasa server from the bank database, so any replica
can serve any report.

The link is the credential: a signed, expiring token (``bot.advisory.report_links``), so the
page needs no sign-in and works from the chat, a browser or WeChat. A forged, expired or unknown
link gets a short page saying so in the reader's language, never a report. Responses are not
cached, send no referrer (the token is in the address), and the page may load nothing from
elsewhere: it is self-contained (inline styles and SVG).
"""

from __future__ import annotations

import asyncio
from html import escape

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.advisory import report_links

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
           "X-Frame-Options": "DENY"}
STATUS = {"malformed": 400, "forged": 403, "expired": 410, "unknown": 404}


def _reader_language(request: Request) -> str:
    return "en" if (request.headers.get("accept-language") or "").lower().startswith("en") else "zh"


async def serve(request: Request, token: str, pdf: bool) -> HTTPResponse:
    try:
        report = await asyncio.get_running_loop().run_in_executor(None, report_links.open_report, token)
    except report_links.ReportLinkError as refused:
        page = f"<!doctype html><meta charset=utf-8><p>{escape(refused.message(_reader_language(request)))}</p>"
        return response.html(page, status=STATUS.get(refused.reason, 400), headers=HEADERS)
    if pdf:
        disposition = f'inline; filename="anxin-report-{report.id}.pdf"'
        return response.raw(report.pdf, content_type="application/pdf",
                            headers={**HEADERS, "Content-Disposition": disposition})
    return response.html(report.html, headers=HEADERS)
