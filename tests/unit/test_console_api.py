"""The compliance console's API through its real Sanic blueprint, in-process over ASGI: who may
use it (officers only, by key or by session cookie with a CSRF token), the audit search and its
filters, the exports and their bound, the reads being audited, the chain check, guard-block
reviews, the rules draft, the rules history and the simulation report."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sanic import Sanic

from bot import settings
from bot.compliance import audit, rulebook
from bot.console import routes, search
from bot.copilot import agents

LIVE_RULES = Path(rulebook.DEFAULT_RULES).read_text(encoding="utf-8")
WARNING = "理财非存款、产品有风险、投资须谨慎"


class Reply:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.body = status, body
        self.headers: dict[str, list[str]] = {}
        for name, value in headers:
            self.headers.setdefault(name.decode().lower(), []).append(value.decode())

    def header(self, name: str) -> str:
        return ", ".join(self.headers.get(name.lower(), []))

    def json(self):
        return json.loads(self.body)


class Client:
    """Requests to a Sanic app over ASGI on an event loop of its own, with a cookie jar."""

    def __init__(self, app: Sanic) -> None:
        self.app, self.loop, self.cookies = app, asyncio.new_event_loop(), {}
        self._lifespan: asyncio.Queue | None = None
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        self._lifespan, started = asyncio.Queue(), asyncio.Event()
        await self._lifespan.put({"type": "lifespan.startup"})

        failed: list[dict] = []

        async def send(message):
            if message["type"] == "lifespan.startup.failed":
                failed.append(message)
            started.set()

        self._task = asyncio.ensure_future(self.app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                                    self._lifespan.get, send))
        await started.wait()
        if failed:
            raise RuntimeError(f"the app did not start: {failed[0]}")

    def close(self) -> None:
        self.loop.run_until_complete(self._lifespan.put({"type": "lifespan.shutdown"}))
        self.loop.run_until_complete(self._task)
        self.loop.close()

    async def _call(self, method: str, path: str, headers: dict, body: bytes) -> Reply:
        path, _, query = path.partition("?")
        if self.cookies:
            headers = {**headers, "cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
                 "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 5777),
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
        incoming = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict] = []

        async def receive():
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        reply = Reply(start["status"], start.get("headers", []),
                      b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
        for cookie in reply.headers.get("set-cookie", []):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def request(self, method: str, path: str, body=None, headers: dict | None = None, key: str | None = None,
                **query) -> Reply:
        headers = dict(headers or {})
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        raw = b""
        if body is not None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if query:
            path += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        return self.loop.run_until_complete(self._call(method, path, headers, raw))

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> Reply:
        return self.request("POST", path, body, **kwargs)


@pytest.fixture
def client():
    app = Sanic(f"console_test_{uuid.uuid4().hex[:8]}")
    app.config.TOUCHUP = False  # Sanic's method rewriting works for the first app of a process only
    app.blueprint(routes.blueprint())
    running = Client(app)
    yield running
    running.close()


@pytest.fixture
def staff():
    return {"officer": agents.add("zhao.min", "赵敏", "compliance"), "agent": agents.add("li.wei", "李伟", "agent"),
            "supervisor": agents.add("wang.fang", "王芳", "supervisor")}


@pytest.fixture
def trail():
    """A few records: two customers (one named by phone number), suggestions with products, a handoff."""
    two = [{"id": "AX-HF-01", "risk": "R3"}, {"id": "AX-MMF-01", "risk": "R1"}]
    ids = {"c3_suggestion": audit.record("demo-c3", "suggestion", c_level="C3", products=two),
           "c3_warning": audit.record("demo-c3", "warning", c_level="C3", warning_text=WARNING),
           "phone_handoff": audit.record("13800000001", "handoff", detail="=HYPERLINK(\"x\") asked for a person"),
           "c5_suggestion": audit.record("demo-c5", "suggestion", c_level="C5",
                                         products=[{"id": "AX-EF-01", "risk": "R4"}])}
    return ids


# --- who may use it ------------------------------------------------------------------------

def test_without_a_key_the_console_answers_401_and_other_roles_403(client, staff):
    reply = client.get("/console/api/audit")
    assert reply.status == 401 and reply.json()["reason"] == "missing_key"
    assert "Bearer" in reply.header("www-authenticate")
    assert client.get("/console/api/audit", key="not-a-key").status == 401
    for role in ("agent", "supervisor"):
        refused = client.get("/console/api/audit", key=staff[role])
        assert refused.status == 403 and refused.json()["reason"] == "not_officer"
    assert client.get("/console/api/audit", key=staff["officer"]).status == 200


def test_an_officers_key_does_not_open_the_copilot_and_a_disabled_one_nothing(client, staff):
    assert agents.authenticate(staff["officer"]).agent is None  # the copilot's check
    assert "may not use this service" in agents.authenticate(staff["officer"]).error
    assert agents.authenticate(staff["agent"]).agent.role == "agent"
    agents.disable("zhao.min")
    assert client.get("/console/api/meta", key=staff["officer"]).status == 401


def test_officers_are_added_on_the_command_line_and_demo_mode_has_one(client, capsys):
    assert agents.main(["add", "qian.li", "--name", "钱立", "--role", "compliance"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert client.get("/console/api/meta", key=key).json()["officer"]["role"] == "compliance"
    demo_key = agents.new_key()
    assert agents.ensure_demo_agents(f"demo-compliance:{demo_key}") == ["demo-compliance"]
    assert client.get("/console/api/meta", key=demo_key).json()["officer"]["id"] == "demo-compliance"


def test_sign_in_sets_a_strict_http_only_cookie_and_needs_the_csrf_token(client, staff):
    assert client.post("/console/api/session", {"key": staff["supervisor"]}).status == 403
    assert client.post("/console/api/session", {"key": "wrong"}).status == 401 and not client.cookies
    signed = client.post("/console/api/session", {"key": staff["officer"]})
    assert signed.status == 201
    cookie = signed.header("set-cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert staff["officer"] not in cookie and staff["officer"] not in signed.body.decode()
    token = signed.json()["csrf_token"]
    assert signed.json()["officer"] == {"id": "zhao.min", "name": "赵敏", "role": "compliance"}
    without = client.get("/console/api/audit")
    assert without.status == 403 and without.json()["reason"] == "bad_csrf"
    assert client.get("/console/api/audit", headers={"X-CSRF-Token": "forged"}).status == 403
    assert client.get("/console/api/audit", headers={"X-CSRF-Token": token}).status == 200
    assert client.get("/console/api/session").json()["csrf_token"] == token  # after a reload of the page
    assert client.request("DELETE", "/console/api/session", headers={"X-CSRF-Token": token}).status == 200
    client.cookies["anxin_console"] = signed.header("set-cookie").split(";")[0].split("=", 1)[1]
    assert client.get("/console/api/audit", headers={"X-CSRF-Token": token}).status == 401  # signed out for good


def test_a_session_ends_when_the_officers_key_is_disabled(client, staff):
    token = client.post("/console/api/session", {"key": staff["officer"]}).json()["csrf_token"]
    agents.disable("zhao.min")
    reply = client.get("/console/api/meta", headers={"X-CSRF-Token": token})
    assert reply.status == 401 and reply.json()["reason"] == "signed_out"


def test_a_session_expires(client, staff, monkeypatch):
    token = client.post("/console/api/session", {"key": staff["officer"]}).json()["csrf_token"]
    real = __import__("time").time
    monkeypatch.setattr("bot.console.sessions.time.time", lambda: real() + 60 * settings.console_session_minutes() + 1)
    assert client.get("/console/api/meta", headers={"X-CSRF-Token": token}).status == 401


# --- audit search -------------------------------------------------------------------------

def ids_of(reply) -> list[int]:
    assert reply.status == 200, reply.body
    return [r["id"] for r in reply.json()["records"] if r["kind"] != "console_read"]


def test_search_filters_by_customer_plain_or_masked_kind_product_and_time(client, staff, trail):
    key = staff["officer"]
    assert ids_of(client.get("/console/api/audit", key=key, customer="demo-c3")) == [trail["c3_warning"],
                                                                                     trail["c3_suggestion"]]
    assert ids_of(client.get("/console/api/audit", key=key, customer="13800000001")) == [trail["phone_handoff"]]
    masked = client.get("/console/api/audit", key=key, customer="138****0001")
    assert ids_of(masked) == [trail["phone_handoff"]] and masked.json()["records"][-1]["customer_id"] == "138****0001"
    assert ids_of(client.get("/console/api/audit", key=key, kind="suggestion")) == [trail["c5_suggestion"],
                                                                                    trail["c3_suggestion"]]
    assert ids_of(client.get("/console/api/audit", key=key, product="AX-MMF-01")) == [trail["c3_suggestion"]]
    assert ids_of(client.get("/console/api/audit", key=key, product="AX-MMF")) == []  # ids match whole
    c3 = {"key": key, "customer": "demo-c3"}
    assert ids_of(client.get("/console/api/audit", **c3, **{"from": "2999-01-01T00:00:00Z"})) == []
    assert ids_of(client.get("/console/api/audit", **c3, to="2000-01-01T00:00:00+08:00")) == []
    between = {"from": "2000-01-01T00:00:00", "to": "2999-01-01T00:00:00Z"}  # no zone: UTC
    assert len(ids_of(client.get("/console/api/audit", **c3, **between))) == 2
    record = client.get("/console/api/audit", key=key, kind="suggestion", customer="demo-c5").json()["records"][0]
    assert record["products"] == [{"id": "AX-EF-01", "risk": "R4"}] and record["rules_version"]
    assert record["at"].endswith("+00:00") and "prev_hash" not in record


def test_search_pages_newest_first(client, staff, trail):
    first = client.get("/console/api/audit", key=staff["officer"], kind="suggestion", size="1").json()
    second = client.get("/console/api/audit", key=staff["officer"], kind="suggestion", size="1", page="2").json()
    assert (first["total"], first["pages"]) == (2, 2)
    assert [r["id"] for r in first["records"] + second["records"]] == [trail["c5_suggestion"], trail["c3_suggestion"]]


@pytest.mark.parametrize("query, words", [({"kind": "gossip"}, '"kind" must be one of'),
                                          ({"from": "yesterday"}, "ISO 8601"),
                                          ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "after"),
                                          ({"product": "x'; DROP TABLE audit_events"}, "product id"),
                                          ({"size": "1000"}, '"size" is 1..200'), ({"page": "zero"}, "whole numbers")])
def test_bad_filters_are_refused_with_the_reason(client, staff, query, words):
    reply = client.get("/console/api/audit", key=staff["officer"], **query)
    assert reply.status == 400 and words in reply.json()["error"]


def test_every_read_is_audited_under_the_customer_searched(client, staff, trail):
    client.get("/console/api/audit", key=staff["officer"], customer="demo-c3", kind="suggestion")
    last = audit.history("demo-c3")[-1]
    assert last.kind == "console_read"
    assert last.detail == ("officer zhao.min: searched the audit trail, page 1 (customer=demo-c3 kind=suggestion); "
                           "1 of 1 records")
    client.get("/console/api/audit", key=staff["officer"], kind="handoff")
    assert "kind=handoff" in audit.history("compliance-console")[-1].detail
    assert audit.verify().ok


def test_a_read_that_cannot_be_audited_is_not_shown(client, staff, trail, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise RuntimeError("the audit database is down")

    monkeypatch.setattr(audit, "record", refuse)
    reply = client.get("/console/api/audit", key=staff["officer"], customer="demo-c3")
    assert reply.status == 503 and reply.json()["reason"] == "not_audited" and "records" not in reply.json()


# --- exports ------------------------------------------------------------------------------

def test_csv_and_json_exports_hold_the_filtered_records(client, staff, trail):
    reply = client.get("/console/api/audit/export", key=staff["officer"], customer="demo-c3", format="csv")
    assert reply.status == 200 and reply.header("content-type").startswith("text/csv")
    assert 'attachment; filename="anxin-audit-' in reply.header("content-disposition")
    text = reply.body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert [int(r["id"]) for r in rows] == [trail["c3_suggestion"], trail["c3_warning"]]  # oldest first
    assert rows[0]["products"] == "AX-HF-01(R3); AX-MMF-01(R1)" and rows[0]["hash"]
    handoff = client.get("/console/api/audit/export", key=staff["officer"], kind="handoff", format="csv")
    assert "'=HYPERLINK" in handoff.body.decode()  # a spreadsheet shows it, never runs it
    document = client.get("/console/api/audit/export", key=staff["officer"], customer="demo-c3", format="json").json()
    assert document["exported_by"] == "zhao.min" and document["filter"] == "customer=demo-c3"
    # the CSV export's own audit record is about demo-c3 too, so the JSON export holds it
    assert [r["kind"] for r in document["records"]] == ["suggestion", "warning", "console_read"]
    assert document["count"] == 3 and "exported the audit trail as csv" in document["records"][-1]["detail"]
    assert "exported the audit trail as json" in audit.history("demo-c3")[-1].detail
    assert client.get("/console/api/audit/export", key=staff["officer"], format="xml").status == 400


def test_an_export_over_the_bound_is_refused_with_the_count(client, staff, trail, monkeypatch):
    monkeypatch.setattr(search, "EXPORT_MAX", 1)
    reply = client.get("/console/api/audit/export", key=staff["officer"], kind="suggestion", format="csv")
    assert reply.status == 413 and "2 records match; an export holds at most 1" in reply.json()["error"]


# --- chain verification -------------------------------------------------------------------

def test_the_chain_check_is_shown_and_finds_a_removed_anchor_file(client, staff, trail):
    report = client.get("/console/api/audit/verify", key=staff["officer"]).json()
    assert report["ok"] and report["checked"] == 4 and report["findings"] == []
    os.remove(settings.audit_anchors_path())
    report = client.get("/console/api/audit/verify", key=staff["officer"]).json()
    assert not report["ok"] and [f["kind"] for f in report["findings"]] == ["no_anchor"]


# --- guard blocks -------------------------------------------------------------------------

def test_guard_blocks_are_listed_filtered_and_reviewed_once_without_touching_the_trail(client, staff, trail):
    key = staff["officer"]
    first = audit.record("demo-c3", "guard_block", detail="guarantees: 保本; missing_warning: AX-HF-01")
    second = audit.record("demo-c4", "guard_block", detail="stated_yield: 预期收益率5%")
    before = client.get("/console/api/audit/export", key=key, kind="guard_block", format="json").json()["records"]
    listed = client.get("/console/api/guard-blocks", key=key, reviewed="no").json()
    assert [r["id"] for r in listed["records"]] == [second, first]
    assert all(r["review"] is None for r in listed["records"])
    by_rule = client.get("/console/api/guard-blocks", key=key, rule="missing_warning").json()["records"]
    assert [r["id"] for r in by_rule] == [first]
    assert client.get("/console/api/guard-blocks", key=key, rule="warning").json()["total"] == 0  # whole rule names
    mark = {"verdict": "false_alarm", "note": "客户卡号6222020200112233445"}
    reviewed = client.post(f"/console/api/guard-blocks/{first}/review", mark, key=key)
    assert reviewed.status == 201 and reviewed.json()["officer"] == "zhao.min"
    assert "6222020200112233445" not in reviewed.json()["note"]  # masked like every stored text
    again = client.post(f"/console/api/guard-blocks/{first}/review", {"verdict": "correct_block"}, key=key)
    assert again.status == 409 and "reviewed by zhao.min" in again.json()["error"]
    assert client.post(f"/console/api/guard-blocks/{trail['c3_warning']}/review", {"verdict": "follow_up"},
                       key=key).status == 404
    assert client.post(f"/console/api/guard-blocks/{second}/review", {"verdict": "fine"}, key=key).status == 400
    done = client.get("/console/api/guard-blocks", key=key, reviewed="yes").json()["records"]
    assert [(r["id"], r["review"]["verdict"]) for r in done] == [(first, "false_alarm")]
    assert [r["id"] for r in client.get("/console/api/guard-blocks", key=key, reviewed="no").json()["records"]] \
        == [second]
    after = client.get("/console/api/audit/export", key=key, kind="guard_block", format="json").json()["records"]
    assert after == before and audit.verify().ok
    reads = [e.detail for e in audit.history("compliance-console")]
    assert "officer zhao.min: listed guard blocks (reviewed: no), page 1 (no filter); 2 of 2 records" in reads
    assert client.post(f"/console/api/guard-blocks/{second}/review", {"verdict": "correct_block"},
                       key=staff["supervisor"]).status == 403


# --- the rules ----------------------------------------------------------------------------

def test_a_draft_is_validated_by_the_servers_own_check(client, staff):
    key = staff["officer"]
    live = client.get("/console/api/rules/live", key=key).json()
    assert live["text"] == LIVE_RULES and live["version"] == rulebook.current().version
    assert live["content_hash"] == rulebook.content_hash(LIVE_RULES.encode())
    assert client.post("/console/api/rules/validate", {"yaml": LIVE_RULES}, key=key).json() == \
        {"valid": True, "problems": [], "version": rulebook.current().version}
    emptied = LIVE_RULES.replace("version: 1", "version: 1\nsurprise: true")
    found = client.post("/console/api/rules/validate", {"yaml": emptied}, key=key).json()
    assert not found["valid"] and any("unknown field 'surprise'" in p for p in found["problems"])
    broken = client.post("/console/api/rules/validate", {"yaml": "forbidden_phrases: [\n"}, key=key).json()
    assert broken["problems"][0].startswith("not valid YAML")
    assert client.post("/console/api/rules/validate", {"yaml": ""}, key=key).status == 400
    assert rulebook.rules_path().read_text(encoding="utf-8") == LIVE_RULES  # nothing goes live


def test_a_sentence_is_tried_against_the_draft_and_the_live_rules(client, staff):
    key = staff["officer"]
    draft = (LIVE_RULES.replace("version: 1", "version: 2-draft")
             .replace("  guarantees:\n", "  guarantees:\n    - 稳稳的幸福\n", 1))
    tried = client.post("/console/api/rules/try", {"yaml": draft, "text": "买了它就是稳稳的幸福"}, key=key).json()
    assert tried["live"]["blocked"] is False and tried["live"]["sent_instead"] is None
    assert tried["draft"]["blocked"] is True and tried["draft"]["version"] == "2-draft"
    assert tried["draft"]["violations"] == [{"rule": "guarantees", "evidence": "稳稳的幸福", "part": "text"}]
    assert tried["draft"]["sent_instead"] == rulebook.current().blocked_reply["zh"]
    named = client.post("/console/api/rules/try", {"yaml": draft, "text": "您可以看看安心平衡混合基金"}, key=key).json()
    assert [v["rule"] for v in named["live"]["violations"]] == ["missing_warning"]
    warned = client.post("/console/api/rules/try", {"yaml": draft, "text": "您可以看看安心平衡混合基金",
                                                    "warning_earlier": True}, key=key).json()
    assert not warned["live"]["blocked"] and not warned["draft"]["blocked"]
    offered = {"yaml": draft, "text": "AX-EF-01", "where": "button", "warning_earlier": True}
    for level, blocked in ((None, True), ("C2", True), ("C5", False)):
        verdicts = client.post("/console/api/rules/try", {**offered, "level": level}, key=key).json()
        assert verdicts["live"]["blocked"] is blocked and verdicts["draft"]["blocked"] is blocked, level
    refused = client.post("/console/api/rules/try", {"yaml": "mandatory_warning: {}", "text": "保本"}, key=key).json()
    assert refused["draft"] is None and refused["draft_problems"] and refused["live"]["blocked"]
    assert client.post("/console/api/rules/try", {"yaml": draft, "text": "x", "level": "C9"}, key=key).status == 400
    assert client.post("/console/api/rules/try", {"yaml": draft, "text": "x", "where": "card"}, key=key).status == 400


def test_the_history_lists_versions_in_force_and_refused_edits(client, staff, monkeypatch, tmp_path):
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(LIVE_RULES, encoding="utf-8")
    monkeypatch.setenv("ANXIN_COMPLIANCE_RULES", str(rules_file))
    audit.record("demo-c3", "handoff")
    rules_file.write_text(LIVE_RULES.replace("version: 1", "version: 7"), encoding="utf-8")
    audit.record("demo-c3", "handoff")
    rules_file.write_text(LIVE_RULES.replace("version: 1", "version: 8").replace("mandatory_warning:", "warning:"),
                          encoding="utf-8")
    assert rulebook.current().version == "7"  # refused, audited under version 7
    found = client.get("/console/api/rules/history", key=staff["officer"]).json()
    assert [(v["version"], v["records"]) for v in found["versions"]] == [("1", 1), ("7", 2)]
    refusal = found["versions"][1]["refusals"][0]
    assert refusal["refused_content_hash"] == rulebook.content_hash(rules_file.read_bytes())
    assert "unknown field 'warning'" in refusal["detail"]
    assert found["live"]["version"] == "7"
    assert found["live"]["refusal"]["content_hash"] == refusal["refused_content_hash"]


# --- the simulation report, the page, the lists the page draws ----------------------------

def test_the_latest_simulation_report_is_the_newest_run_whatever_the_file_times(client, staff, monkeypatch, tmp_path):
    monkeypatch.setenv("ANXIN_SIMULATION_REPORTS_DIR", str(tmp_path))
    assert client.get("/console/api/simulation/latest", key=staff["officer"]).json() == {"report": None}
    newer = tmp_path / "compliance_simulation-a.txt"
    older = tmp_path / "compliance_simulation-b.txt"
    newer.write_text("Compliance simulation (actions) — 2026-12-01 09:30 UTC; 2 cores\n  FAILURES: 0\n",
                     encoding="utf-8")
    older.write_text("Compliance simulation (actions) — 2026-11-24 05:58 UTC; 2 cores\n", encoding="utf-8")
    (tmp_path / "crisis_detection-2027-01-01.txt").write_text("not this one", encoding="utf-8")
    os.utime(newer, (1, 1))
    report = client.get("/console/api/simulation/latest", key=staff["officer"]).json()["report"]
    assert report["name"] == newer.name and report["run_at"] == "2026-12-01T09:30:00+00:00"
    assert "FAILURES: 0" in report["text"] and report["reports"] == 2


def test_the_page_and_its_script_come_with_protective_headers(client, staff):
    page = client.get("/console")
    assert page.status == 200 and "合规台" in page.body.decode()
    assert "frame-ancestors 'none'" in page.header("content-security-policy")
    assert page.header("x-frame-options") == "DENY"
    assert client.get("/console/static/console.js").header("content-type").startswith("text/javascript")
    assert client.get("/console/api/meta", key=staff["officer"]).header("cache-control") == "no-store"


def test_meta_names_kinds_rules_verdicts_and_products_in_both_languages(client, staff):
    meta = client.get("/console/api/meta", key=staff["officer"]).json()
    assert [k["id"] for k in meta["kinds"]] == list(audit.KINDS) and all(" / " in k["label"] for k in meta["kinds"])
    assert {"guarantees", "missing_warning", "unsuitable_offer"} <= set(meta["rules"])
    assert [v["id"] for v in meta["verdicts"]] == ["correct_block", "false_alarm", "follow_up"]
    assert "AX-EF-01" in {p["id"] for p in meta["products"]} and meta["officer"]["id"] == "zhao.min"
    assert "never goes live" in meta["notices"]["draft_never_live"]
