"""The bank's SMS gateway and app-push gateway, faked on 127.0.0.1.

Both take ``POST {"to": ..., "text": ...}`` (bot/identity/delivery.py) and answer 200; the
fake keeps every message so a test can read the one-time code a customer would receive.
``failing = True`` makes it answer 503, as a gateway that is down.

Binding codes are texted in the background (the reply does not wait for the gateway,
bot/channels/wechat_binding.py), so a test reads them with a bounded wait: ``sent`` before the
step that sends, then ``last_code(..., after=that)`` or ``wait_for``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeGateways:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.failing = False
        self._lock = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if fake.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                with fake._lock:
                    fake.messages.append({"kind": self.path.strip("/"), **body})
                    fake._lock.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def sms_url(self) -> str:
        return f"{self.url}/sms"

    @property
    def push_url(self) -> str:
        return f"{self.url}/app_push"

    def start(self) -> FakeGateways:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _to(self, kind: str, to: str) -> list[dict]:
        return [m for m in self.messages if m["kind"] == kind and m["to"] == to]

    def sent(self, kind: str, to: str) -> int:
        """How many messages of ``kind`` went to ``to`` so far (for ``after=`` below)."""
        with self._lock:
            return len(self._to(kind, to))

    def wait_for(self, kind: str, to: str, count: int, timeout: float = 10.0) -> list[dict]:
        """The messages of ``kind`` to ``to`` once there are at least ``count`` of them, or
        after ``timeout`` seconds, whatever there are then (the caller's assertion fails)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._to(kind, to)) < count and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
            return self._to(kind, to)

    def last_code(self, kind: str, to: str, after: int | None = None, timeout: float = 10.0) -> str | None:
        """The six-digit code of the newest message of ``kind`` ("sms"/"app_push") to ``to``;
        with ``after`` (``sent`` before the step that sends it), of a message newer than those,
        waiting for it up to ``timeout`` seconds. Without it, the newest there is, waiting only
        when there is none yet."""
        messages = self.wait_for(kind, to, (after or 0) + 1, timeout)
        if not messages or (after is not None and len(messages) <= after):
            return None
        found = re.search(r"(?<!\d)\d{6}(?!\d)", messages[-1]["text"])
        return found.group(0) if found else None
