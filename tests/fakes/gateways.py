"""The bank's SMS gateway and app-push gateway, faked on 127.0.0.1.

Both take ``POST {"to": ..., "text": ...}`` (bot/identity/delivery.py) and answer 200; the
fake keeps every message so a test can read the one-time code a customer would receive.
``failing = True`` makes it answer 503, as a gateway that is down.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeGateways:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.failing = False
        self._lock = threading.Lock()
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

    def last_code(self, kind: str, to: str) -> str | None:
        """The six-digit code of the newest message of ``kind`` ("sms"/"app_push") to ``to``."""
        with self._lock:
            for message in reversed(self.messages):
                if message["kind"] == kind and message["to"] == to:
                    found = re.search(r"(?<!\d)\d{6}(?!\d)", message["text"])
                    return found.group(0) if found else None
        return None
