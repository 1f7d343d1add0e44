"""The compliance console's HTTP side: its page and its JSON API, as a Sanic blueprint the
copilot server mounts (the console needs nothing the copilot lacks: the compliance database,
the rules and the guard).

    GET    /console                                 the officer's page
    POST   /console/api/session  {"key"}            sign in: a session cookie and a CSRF token
    GET    /console/api/session                     who is signed in, and the CSRF token again
    DELETE /console/api/session                     sign out
    GET    /console/api/meta                        kinds, rules, verdicts, products, notices
    GET    /console/api/audit?customer&from&to&kind&product&page&size     a page of records (audited)
    GET    /console/api/audit/export?format=csv|json&<the same filter>   the records (audited)
    GET    /console/api/audit/verify                the keyed chain checked against the anchors
    GET    /console/api/guard-blocks?reviewed=all|yes|no&rule&<filter>    guard blocks + reviews (audited)
    POST   /console/api/guard-blocks/<id>/review {"verdict", "note"?}   mark one reviewed
    GET    /console/api/rules/live                  the rules file in force: text, version, hash
    POST   /console/api/rules/validate {"yaml"}     the draft's problems
    POST   /console/api/rules/try {"yaml", "text", "where", "level", "warning_earlier"}
    GET    /console/api/rules/history               rules versions seen in force, refusals
    GET    /console/api/simulation/latest           the newest compliance simulation report

Every /console/api call but the sign-in is made by a compliance officer (``sessions``): the
session cookie plus ``X-CSRF-Token``, or ``Authorization: Bearer <officer key>``. No key or
session: 401; an agent's or supervisor's key: 403. Rate limits per address (before the key)
and per officer, as the copilot's.
"""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import datetime, timezone
from pathlib import Path

import yaml
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import metrics, settings
from bot.channels.inbound import InboundError, clean_text, json_object
from bot.compliance import audit, catalogue, rulebook
from bot.compliance.risk_profile import LEVELS
from bot.console import access, blocks, drafts, history, reports, reviews, search, sessions
from bot.identity.tokens import bearer
from bot.ratelimit import Limiter, client_address

STATIC = Path(__file__).with_name("static")
TEXTS = Path(__file__).with_name("texts.yml")
API = "/console/api/"
MAX_BODY_BYTES = 512 * 1024
SHOWN_FINDINGS = 50
FILTER_ARGS = ("customer", "from", "to", "kind", "product", "rule", "page", "size")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "connect-src 'self'; img-src 'self'; form-action 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


@functools.lru_cache(maxsize=1)
def texts() -> dict:
    return yaml.safe_load(TEXTS.read_text(encoding="utf-8"))


def _in_thread(function, *args):
    return asyncio.get_running_loop().run_in_executor(None, function, *args)


def _refuse(status: int, key: str) -> HTTPResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="anxin-console"'} if status == 401 else {}
    return response.json({"error": texts()["errors"][key], "reason": key}, status=status, headers=headers)


def _body(request: Request) -> dict:
    raw = request.body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise InboundError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    return json_object(raw, '{"yaml": "...", ...}')


def _string(payload: dict, key: str, limit: int, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InboundError(400, f'"{key}" must be a non-empty string')
    if len(value) > limit:
        raise InboundError(413, f'"{key}" is longer than {limit} characters')
    return value


def _args(request: Request) -> dict[str, str | None]:
    return {name: request.args.get(name) for name in FILTER_ARGS}


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _too_many(limiter: Limiter, key: str) -> HTTPResponse:
    metrics.RATE_LIMITED.labels("copilot").inc()
    wait = max(1, limiter.retry_after(key))
    return response.json({"error": f"too many requests: limit {limiter.spec}; retry in {wait} s"}, status=429,
                         headers={"Retry-After": str(wait)})


def blueprint(address_limit: Limiter | None = None, officer_limit: Limiter | None = None) -> Blueprint:
    """The console, ready to mount on a Sanic app (``app.blueprint(routes.blueprint())``)."""
    console = Blueprint("compliance_console")
    signed_in = sessions.Sessions()
    address_limit = address_limit or Limiter(settings.rate_limit("address"))
    officer_limit = officer_limit or Limiter(settings.rate_limit("agent"))

    @console.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        """Address limit, then the officer (key or session + CSRF token), then the officer's limit."""
        if not request.path.startswith(API):
            return None
        address = client_address(request)  # behind a trusted proxy: the client it forwarded for
        if not address_limit.hit(address):
            return _too_many(address_limit, address)
        if request.path == f"{API}session":
            return None  # signing in and out check for themselves
        key = bearer(request.headers.get("authorization"))
        if key or request.headers.get("authorization"):
            found = await _in_thread(sessions.by_key, key)
        else:
            found = await _in_thread(sessions.by_session, signed_in, request.cookies.get(sessions.COOKIE),
                                     request.headers.get(sessions.CSRF_HEADER))
        if found.officer is None:
            return _refuse(found.status, found.error)
        if not officer_limit.hit(found.officer.agent_id):
            return _too_many(officer_limit, found.officer.agent_id)
        request.ctx.officer = found.officer
        return None

    @console.on_response
    async def headers(request: Request, reply: HTTPResponse) -> None:
        reply.headers.setdefault("Cache-Control", "no-store")
        for name, value in SECURITY_HEADERS.items():
            reply.headers.setdefault(name, value)

    @console.exception(InboundError)
    async def bad_request(_: Request, error: InboundError) -> HTTPResponse:
        return response.json({"error": error.message}, status=error.status)

    @console.exception(search.FilterError, reviews.ReviewError)
    async def refused(_: Request, error: search.FilterError | reviews.ReviewError) -> HTTPResponse:
        return response.json({"error": str(error)}, status=error.status)

    @console.exception(drafts.DraftError)
    async def bad_draft(_: Request, error: drafts.DraftError) -> HTTPResponse:
        return response.json({"error": str(error)}, status=400)

    @console.exception(access.NotAudited)
    async def not_audited(_: Request, error: access.NotAudited) -> HTTPResponse:
        return response.json({"error": texts()["errors"]["not_audited"], "reason": "not_audited",
                              "detail": str(error)}, status=503)

    # --- the page ---------------------------------------------------------------------------

    @console.get("/console")
    async def page(_: Request) -> HTTPResponse:
        return await response.file(STATIC / "console.html", mime_type="text/html; charset=utf-8")

    @console.get("/console/static/console.js")
    async def script(_: Request) -> HTTPResponse:
        return await response.file(STATIC / "console.js", mime_type="text/javascript; charset=utf-8")

    # --- signing in and out -----------------------------------------------------------------

    def _signed_in(session: sessions.Session, officer) -> dict:
        return {"officer": {"id": officer.agent_id, "name": officer.name, "role": officer.role},
                "csrf_token": session.csrf_token, "expires_in": session.expires_in()}

    @console.post("/console/api/session")
    async def sign_in(request: Request) -> HTTPResponse:
        key = _string(_body(request), "key", 256)
        found = await _in_thread(sessions.by_key, key.strip())
        if found.officer is None:
            return _refuse(found.status, found.error)
        session = signed_in.open(found.officer)
        reply = response.json(_signed_in(session, found.officer), status=201)
        reply.add_cookie(sessions.COOKIE, session.id, path="/console", httponly=True, samesite="Strict",
                         # Secure always, outside demo mode: behind a TLS-terminating proxy the
                         # request's own scheme is http, and the cookie must still never travel in clear
                         secure=not settings.demo_mode() or request.scheme == "https",
                         max_age=session.expires_in())
        return reply

    @console.get("/console/api/session")
    async def whoami(request: Request) -> HTTPResponse:
        found = await _in_thread(functools.partial(sessions.by_session, signed_in,
                                                   request.cookies.get(sessions.COOKIE), None, need_csrf=False))
        if found.officer is None:
            return _refuse(found.status, found.error)
        return response.json(_signed_in(found.session, found.officer))

    @console.delete("/console/api/session")
    async def sign_out(request: Request) -> HTTPResponse:
        cookie = request.cookies.get(sessions.COOKIE)
        found = await _in_thread(sessions.by_session, signed_in, cookie, request.headers.get(sessions.CSRF_HEADER))
        if found.officer is None and found.status == 403:
            return _refuse(found.status, found.error)
        signed_in.close(cookie)
        reply = response.json({"signed_out": True})
        reply.delete_cookie(sessions.COOKIE, path="/console")
        return reply

    # --- what the page needs to draw itself -------------------------------------------------

    @console.get("/console/api/meta")
    async def meta(request: Request) -> HTTPResponse:
        words = texts()
        officer = request.ctx.officer
        return response.json({
            "officer": {"id": officer.agent_id, "name": officer.name, "role": officer.role},
            "kinds": [{"id": kind, "label": words["kinds"].get(kind, kind)} for kind in audit.KINDS],
            "rules": words["rules"], "verdicts": [{"id": v, "label": words["verdicts"][v]} for v in reviews.VERDICTS],
            "levels": list(LEVELS), "places": list(drafts.PLACES), "notices": words["notices"],
            "products": [{"id": p.id, "risk": p.risk, "name": p.name} for p in catalogue.products()],
            "page_size": search.PAGE_SIZE, "export_max": search.EXPORT_MAX})

    # --- the audit trail --------------------------------------------------------------------

    @console.get("/console/api/audit")
    async def audit_search(request: Request) -> HTTPResponse:
        args = _args(request)
        filters, (number, size) = search.Filter.of(args), search.page_args(args)
        found = await _in_thread(search.search, filters, number, size)
        await _in_thread(access.record, request.ctx.officer.agent_id, f"searched the audit trail, page {number}",
                         filters, len(found["records"]), found["total"])
        return response.json(found)

    @console.get("/console/api/audit/export")
    async def audit_export(request: Request) -> HTTPResponse:
        form = request.args.get("format", "csv")
        if form not in ("csv", "json"):
            raise InboundError(400, '"format" must be csv or json')
        filters = search.Filter.of(_args(request))
        records = await _in_thread(search.export, filters)
        await _in_thread(access.record, request.ctx.officer.agent_id, f"exported the audit trail as {form}",
                         filters, len(records), len(records))
        name = f"anxin-audit-{_stamp()}.{form}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        if form == "csv":
            return response.text(search.to_csv(records), content_type="text/csv; charset=utf-8",
                                 headers=disposition)
        document = {"exported_at": datetime.now(timezone.utc).isoformat(), "filter": filters.describe(),
                    "exported_by": request.ctx.officer.agent_id, "count": len(records), "records": records}
        return response.text(json.dumps(document, ensure_ascii=False, indent=1),
                             content_type="application/json; charset=utf-8", headers=disposition)

    @console.get("/console/api/audit/verify")
    async def audit_verify(_: Request) -> HTTPResponse:
        try:
            report = await _in_thread(audit.verify)
        except (RuntimeError, ValueError) as error:  # no key, an old database
            return response.json({"error": f"the audit trail cannot be verified: {error}"}, status=503)
        return response.json({
            "ok": report.ok, "summary": report.summary(), "checked": report.checked, "anchors": report.anchors,
            "anchored": report.anchored, "findings_total": len(report.findings),
            "findings": [{"kind": f.kind, "message": f.message, "id": f.id, "line": f.line}
                         for f in report.findings[:SHOWN_FINDINGS]]})

    # --- guard blocks -----------------------------------------------------------------------

    @console.get("/console/api/guard-blocks")
    async def guard_blocks(request: Request) -> HTTPResponse:
        args = _args(request)
        filters, (number, size) = search.Filter.of(args), search.page_args(args)
        reviewed = request.args.get("reviewed", "all")
        found = await _in_thread(blocks.page, filters, reviewed, number, size)
        await _in_thread(access.record, request.ctx.officer.agent_id,
                         f"listed guard blocks (reviewed: {reviewed}), page {number}", filters,
                         len(found["records"]), found["total"])
        return response.json(found)

    @console.post("/console/api/guard-blocks/<audit_id:int>/review")
    async def review(request: Request, audit_id: int) -> HTTPResponse:
        payload = _body(request)
        verdict = _string(payload, "verdict", 32)
        note = _string(payload, "note", reviews.MAX_NOTE_CHARS, required=False)
        done = await _in_thread(reviews.add, audit_id, verdict, request.ctx.officer.agent_id,
                                clean_text(note) if note else None)
        return response.json(done.as_dict(), status=201)

    # --- the rules --------------------------------------------------------------------------

    @console.get("/console/api/rules/live")
    async def rules_live(_: Request) -> HTTPResponse:
        state = await _in_thread(history.live)
        try:
            state["text"] = rulebook.rules_path().read_text(encoding="utf-8", errors="replace")
        except OSError:
            state["text"] = None
        return response.json(state)

    @console.post("/console/api/rules/validate")
    async def rules_validate(request: Request) -> HTTPResponse:
        source = _string(_body(request), "yaml", drafts.MAX_RULES_BYTES)
        return response.json(await _in_thread(drafts.validate, source))

    @console.post("/console/api/rules/try")
    async def rules_try(request: Request) -> HTTPResponse:
        payload = _body(request)
        source = _string(payload, "yaml", drafts.MAX_RULES_BYTES)
        text = clean_text(_string(payload, "text", settings.max_message_chars()))
        where = payload.get("where", "text")
        level = payload.get("level")
        if not isinstance(where, str) or not (level is None or isinstance(level, str)):
            raise InboundError(400, '"where" and "level" are strings')
        earlier = payload.get("warning_earlier", False)
        if not isinstance(earlier, bool):
            raise InboundError(400, '"warning_earlier" is true or false')
        return response.json(await _in_thread(drafts.trial, source, text, where, level, earlier))

    @console.get("/console/api/rules/history")
    async def rules_history(_: Request) -> HTTPResponse:
        live, seen = await _in_thread(history.live), await _in_thread(history.versions)
        return response.json({"live": live, "versions": seen})

    # --- the simulation ---------------------------------------------------------------------

    @console.get("/console/api/simulation/latest")
    async def simulation(_: Request) -> HTTPResponse:
        return response.json({"report": await _in_thread(reports.latest)})

    return console
