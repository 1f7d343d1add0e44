"""JSON log lines with a request id and masked personal numbers (bot.logs), on a real Sanic server."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import uuid

import pytest
import requests
from sanic import Sanic, response

from bot import logs
from tests.unit.test_metrics import serving

PHONE, CARD = "13812345678", "6222021234567890123"


@pytest.fixture
def json_stream():
    """The root logger writing JSON lines into a string; the logging set-up is restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level,
             {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
              for name in logs.SANIC_LOGGERS})
    stream = io.StringIO()
    logs.configure("unit", "json", stream=stream, level="INFO")
    yield stream
    logging.captureWarnings(False)
    for handler in list(root.handlers):
        if getattr(handler, "_anxin_json", False):
            root.removeHandler(handler)
    for handler in saved[0]:  # pytest's own capture handlers come and go per test phase
        if handler not in root.handlers and not type(handler).__module__.startswith("_pytest"):
            root.addHandler(handler)
    root.setLevel(saved[1])
    for name, (handlers, propagate) in saved[2].items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_each_record_is_one_json_line_with_the_fields(json_stream):
    log = logging.getLogger("anxin.unit")
    log.info("第一行\n第二行 %s", "参数")
    log.warning("plain", extra={"channel": "rest", "seconds": 0.25})
    first, second = lines(json_stream)
    assert first["message"] == "第一行\n第二行 参数"  # one JSON line even for a multi-line message
    assert {"time", "level", "logger", "message", "request_id", "process"} <= first.keys()
    assert (first["level"], first["logger"], first["process"], first["request_id"]) == (
        "INFO", "anxin.unit", "unit", None)
    assert first["time"].endswith("+00:00")
    assert (second["channel"], second["seconds"]) == ("rest", 0.25)
    assert len(json_stream.getvalue().splitlines()) == 2


def test_personal_numbers_are_masked_in_message_extras_and_tracebacks(json_stream):
    log = logging.getLogger("anxin.unit")
    log.info("customer wrote: 我的手机%s，卡号%s", PHONE, CARD, extra={"text": f"回电 {PHONE}"})
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        log.exception("failed for %s", PHONE)
    raw = json_stream.getvalue()
    assert PHONE not in raw and CARD not in raw
    info, error = lines(json_stream)
    assert "138****5678" in info["message"] and CARD[-4:] in info["message"]
    assert info["text"] == "回电 138****5678"
    assert "ValueError: bad card" in error["exception"] and error["level"] == "ERROR"


def test_the_request_id_follows_the_context_into_tasks_and_not_outside(json_stream):
    log = logging.getLogger("anxin.unit")

    async def request(rid: str) -> None:
        logs.REQUEST_ID.set(rid)
        await asyncio.sleep(0)
        log.info("in the request")
        await asyncio.get_running_loop().create_task(later())

    async def later() -> None:
        log.info("in a task it started")

    async def main() -> None:
        await asyncio.gather(request("req-a"), request("req-b"))
        log.info("outside")

    asyncio.run(main())
    found = [(line["message"], line["request_id"]) for line in lines(json_stream)]
    assert sorted(found[:4]) == [("in a task it started", "req-a"), ("in a task it started", "req-b"),
                                 ("in the request", "req-a"), ("in the request", "req-b")]
    assert found[4] == ("outside", None)


def test_a_callers_request_id_is_kept_and_a_missing_or_unsafe_one_replaced(json_stream):
    app = Sanic(f"logs_{uuid.uuid4().hex[:8]}")
    logs.install_request_ids(app)
    log = logging.getLogger("anxin.unit.handler")

    @app.post("/turn")
    async def turn(request):
        log.info("turn: %s", request.json["text"])
        return response.json({"seen": logs.request_id()})

    def post(base: str, headers: dict) -> requests.Response:
        return requests.post(f"{base}/turn", json={"text": f"请打{PHONE}"}, headers=headers, timeout=10)

    async def scenario():
        async with serving(app) as base:
            return [await asyncio.to_thread(post, base, headers) for headers in (
                {logs.HEADER: "caller-req-42"}, {}, {logs.HEADER: "x" * 300}, {logs.HEADER: "a b\tc"})]

    kept, new, too_long, spaced = asyncio.run(scenario())
    assert kept.headers[logs.HEADER] == kept.json()["seen"] == "caller-req-42"
    for reply in (new, too_long, spaced):
        assert len(reply.headers[logs.HEADER]) == 32 and reply.json()["seen"] == reply.headers[logs.HEADER]
    assert len({r.headers[logs.HEADER] for r in (kept, new, too_long, spaced)}) == 4
    turns = [line for line in lines(json_stream) if line["logger"] == "anxin.unit.handler"]
    assert [line["request_id"] for line in turns] == [r.headers[logs.HEADER] for r in (kept, new, too_long, spaced)]
    assert all(line["message"] == "turn: 请打138****5678" for line in turns)
    assert PHONE not in json_stream.getvalue()


def test_configure_replaces_other_root_handlers_once_and_text_keeps_them(json_stream):
    root = logging.getLogger()
    other = logging.StreamHandler(io.StringIO())
    root.addHandler(other)
    library = logging.getLogger("anxin.unit.library")  # a library printing through its own handler
    library.addHandler(logging.StreamHandler(sys.stderr))
    handler = logs.configure("unit", "json", stream=json_stream)
    assert root.handlers == [handler] and logging.getLogger("sanic.error").handlers == [handler]
    library.warning("once")
    assert library.handlers == [] and [line["message"] for line in lines(json_stream)] == ["once"]
    assert logs.configure("unit", "json", stream=json_stream) is handler
    root.addHandler(other)
    assert logs.configure("unit", "text") is None
    assert other in root.handlers and any(isinstance(f, logs.RequestIdFilter) for f in other.filters)
    root.removeHandler(other)


def test_the_log_format_setting(monkeypatch):
    monkeypatch.delenv("ANXIN_LOG_FORMAT", raising=False)
    assert logs.log_format() == "json"
    monkeypatch.setenv("ANXIN_LOG_FORMAT", "TEXT")
    assert logs.log_format() == "text"
    monkeypatch.setenv("ANXIN_LOG_FORMAT", "xml")
    with pytest.raises(ValueError):
        logs.log_format()
