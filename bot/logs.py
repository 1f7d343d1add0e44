"""JSON-lines logs with a request id, personal numbers masked, for every Anxin server.

``configure(process)`` gives the process one root handler that writes each record as one JSON
object (time, level, logger, message, request_id, process; exception text when there is one),
and routes Sanic's own loggers through it. ``ANXIN_LOG_FORMAT=text`` keeps the format the
process had before (Rasa's and rasa-sdk's coloured lines); ``json`` is the default, because a
log collector should not have to parse free text.

Masking happens twice, on purpose: ``bot.compliance.masking.install_log_masking`` masks every
record's message when it is created (whatever handler prints it), and the JSON formatter masks
the message, the exception text and string extras again, so a record built some other way
(an extra field, a traceback that quotes a customer's text) is masked too.

``install_request_ids(app)`` gives every HTTP request of a Sanic app a request id: the caller's
``X-Request-Id`` when it is a sane token, else a new one. It is kept in a context variable, so
every record logged while the request is handled (and in tasks it starts) carries it, and it is
returned in the response's ``X-Request-Id``. The Rasa server forwards it to the action server.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import IO

from bot.compliance.masking import MaskingFilter, install_log_masking, mask

HEADER = "X-Request-Id"
REQUEST_ID: ContextVar[str | None] = ContextVar("anxin_request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}\Z")  # no spaces, quotes or newlines in our log lines
FORMATS = ("json", "text")
SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")
# LogRecord attributes that are not extras.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


def log_format() -> str:
    """``ANXIN_LOG_FORMAT``: ``json`` (default) or ``text``."""
    value = os.environ.get("ANXIN_LOG_FORMAT", "json").strip().lower() or "json"
    if value not in FORMATS:
        raise ValueError(f"ANXIN_LOG_FORMAT must be one of {FORMATS}, not {value!r}")
    return value


def request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return REQUEST_ID.get()


def accept_request_id(given: str | None) -> str:
    """The caller's request id when it is a sane token (letters, digits, ``._:@-``, at most
    128), else a new one: a caller cannot break a log line or fill it with text."""
    if given and _SANE_ID.match(given):
        return given
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return mask(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; non-ASCII text is kept as it is (UTF-8)."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string still gets logged
            message = f"{record.msg!r} {record.args!r}"
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(message),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
            "process": self.process,
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = _masked(value)
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = mask(record.exc_text)
        if record.stack_info:
            line["stack"] = mask(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def _ours(handler: logging.Handler) -> bool:
    return getattr(handler, "_anxin_json", False)


def configure(process: str, fmt: str | None = None, stream: IO[str] | None = None,
              level: str | int | None = None) -> logging.Handler | None:
    """Set up this process's logging for ``process`` (``rasa``, ``actions``, ``copilot``).

    JSON: the root logger gets one JSON handler (replacing the handlers there, e.g. coloredlogs')
    and Sanic's loggers write through it too; safe to call again (a handler added since is
    replaced, ours is kept). Text: the existing handlers stay, only the request id filter and
    masking are added. Returns the JSON handler, or None for text.
    """
    fmt = fmt or log_format()
    root = logging.getLogger()
    if level is not None or root.level in (logging.NOTSET, logging.WARNING):
        root.setLevel(level or os.environ.get("LOG_LEVEL") or "INFO")
    if fmt == "text":
        for handler in root.handlers:
            if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
                handler.addFilter(RequestIdFilter())
        install_log_masking()
        return None
    handler = next((h for h in root.handlers if _ours(h)), None)
    if handler is None or (stream is not None and getattr(handler, "stream", None) is not stream):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler._anxin_json = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        handler.addFilter(MaskingFilter())
    handler.setFormatter(JsonFormatter(process))
    for old in list(root.handlers):
        if old is not handler:
            root.removeHandler(old)
    if handler not in root.handlers:
        root.addHandler(handler)
    for name in SANIC_LOGGERS:  # Sanic's loggers may not propagate (Rasa and rasa-sdk turn it off)
        sanic_logger = logging.getLogger(name)
        sanic_logger.handlers = [handler]
        sanic_logger.propagate = False
    _route_console_handlers(handler)
    logging.captureWarnings(True)  # Python warnings become JSON records too
    install_log_masking()
    return handler


def _console(handler: logging.Handler) -> bool:
    return (type(handler) is logging.StreamHandler
            and getattr(handler, "stream", None) in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__))


def _route_console_handlers(ours: logging.Handler) -> None:
    """Libraries that print to the console through a handler of their own (jieba, for one) write
    through the JSON handler instead: a log collector should not get the same line twice."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        console = [h for h in logger.handlers if h is not ours and _console(h)]
        for handler in console:
            logger.removeHandler(handler)
        if console and not logger.propagate and ours not in logger.handlers:
            logger.addHandler(ours)


def install_request_ids(app) -> None:
    """Give every request of the Sanic ``app`` a request id (see the module docstring).

    Register it before middleware that may answer early (authentication, rate limits), so
    those answers carry the id too.
    """

    async def assign(request) -> None:
        value = accept_request_id(request.headers.get(HEADER))
        request.ctx.request_id = value
        REQUEST_ID.set(value)

    async def echo(request, response) -> None:
        value = getattr(request.ctx, "request_id", None)
        if value and response is not None:
            response.headers[HEADER] = value

    app.register_middleware(assign, "request")
    app.register_middleware(echo, "response")
