"""A local stand-in for WeChat's servers, written from the protocol (not from wechatpy), so the
connector is checked against WeChat's rules rather than against the library it uses.

- ``FakeWeChatApi``: the access_token and customer-service message endpoints, on 127.0.0.1.
  It records every message it accepted and can be told to fail (expired token, busy, 45015).
- ``WeChatCaller``: posts callbacks exactly as WeChat does: query signature, secure mode (AES
  envelope + msg_signature) whenever it has the account's EncodingAESKey, as WeChat does once
  the key is set, the same MsgId on a retry; it decrypts secure replies. For attacks it can
  also post plain text to a secure-mode account (``encrypt=False``), sign with any timestamp
  (``signed_query``) and send a delivery again byte for byte (``replay``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def new_aes_key() -> str:
    """A 43-character EncodingAESKey, as the official-account console generates."""
    return base64.b64encode(os.urandom(32)).decode("ascii").rstrip("=")


def aes_encrypt(aes_key: str, app_id: str, plain: str) -> str:
    key = base64.b64decode(aes_key + "=")
    data = plain.encode("utf-8")
    body = os.urandom(16) + struct.pack(">I", len(data)) + data + app_id.encode("utf-8")
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode("ascii")


def aes_decrypt(aes_key: str, app_id: str, encrypted: str) -> str:
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    body = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    body = body[:-body[-1]]
    length = struct.unpack(">I", body[16:20])[0]
    assert body[20 + length:].decode("utf-8") == app_id, "reply encrypted for another AppID"
    return body[20:20 + length].decode("utf-8")


@dataclass
class Reply:
    status: int
    body: str
    seconds: float
    fields: dict[str, str] = field(default_factory=dict)  # the (decrypted) reply XML's fields
    query: dict[str, str] = field(default_factory=dict)  # what was sent: the query string ...
    sent: bytes = b""  # ... and the body, for a replay
    encrypted: bool = False

    @property
    def content(self) -> str:
        return self.fields.get("Content", "")

    @property
    def msg_type(self) -> str:
        return self.fields.get("MsgType", "")


class WeChatCaller:
    """One official account's WeChat side: signs, encrypts and posts callbacks to the connector."""

    def __init__(self, url: str, token: str, app_id: str, aes_key: str = "", account: str = "gh_anxin_test") -> None:
        self.url, self.token, self.app_id, self.aes_key, self.account = url, token, app_id, aes_key, account

    def signed_query(self, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        return {"signature": sha1_signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}

    @staticmethod
    def callback_xml(openid: str, msg_type: str, fields: str, account: str = "gh_anxin_test",
                     create_time: int | None = None) -> str:
        """WeChat's callback envelope around ``fields`` (the elements after MsgType)."""
        return (f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[{msg_type}]]></MsgType>{fields}</xml>")

    @staticmethod
    def text_xml(openid: str, text: str, msg_id: int, account: str = "gh_anxin_test") -> str:
        return WeChatCaller.callback_xml(openid, "text", f"<Content><![CDATA[{text}]]></Content>"
                                                         f"<MsgId>{msg_id}</MsgId>", account)

    @staticmethod
    def event_xml(openid: str, event: str, key: str = "", create_time: int | None = None,
                  account: str = "gh_anxin_test") -> str:
        return WeChatCaller.callback_xml(openid, "event", f"<Event><![CDATA[{event}]]></Event>"
                                                          f"<EventKey><![CDATA[{key}]]></EventKey>",
                                         account, create_time)

    @staticmethod
    def media_xml(openid: str, kind: str, msg_id: int, account: str = "gh_anxin_test") -> str:
        return WeChatCaller.callback_xml(openid, kind, "<PicUrl><![CDATA[http://127.0.0.1/p.jpg]]></PicUrl>"
                                                       f"<MediaId><![CDATA[media1]]></MediaId><MsgId>{msg_id}</MsgId>",
                                         account)

    def post(self, xml: str | bytes, encrypt: bool | None = None, query: dict[str, str] | None = None,
             timeout: float = 30) -> Reply:
        """POST one callback; in secure mode (the default when the caller has the AES key) wrap it
        in the AES envelope and sign it."""
        encrypt = bool(self.aes_key) if encrypt is None else encrypt
        params = query or self.signed_query()
        body = xml.encode("utf-8") if isinstance(xml, str) else xml
        if encrypt:
            encrypted = aes_encrypt(self.aes_key, self.app_id, body.decode("utf-8"))
            params = {**params, "encrypt_type": "aes",
                      "msg_signature": sha1_signature(self.token, params["timestamp"], params["nonce"], encrypted)}
            body = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
        return self._send(params, body, encrypt, timeout)

    def replay(self, earlier: Reply, timeout: float = 30) -> Reply:
        """Send a delivery again exactly as it went: the same query string and body."""
        return self._send(earlier.query, earlier.sent, earlier.encrypted, timeout)

    def _send(self, params: dict[str, str], body: bytes, encrypt: bool, timeout: float) -> Reply:
        began = time.perf_counter()
        reply = requests.post(self.url, params=params, data=body, timeout=timeout,
                              headers={"Content-Type": "text/xml"})
        seconds = time.perf_counter() - began
        return Reply(reply.status_code, reply.text, seconds, self._read(reply.text, encrypt), dict(params), body,
                     encrypt)

    def _read(self, text: str, encrypted: bool) -> dict[str, str]:
        if not text.startswith("<xml>"):
            return {}
        fields = {child.tag: child.text or "" for child in ET.fromstring(text)}
        if encrypted:
            assert fields["MsgSignature"] == sha1_signature(self.token, fields["TimeStamp"], fields["Nonce"],
                                                            fields["Encrypt"]), "reply signature is wrong"
            fields = {child.tag: child.text or "" for child in
                      ET.fromstring(aes_decrypt(self.aes_key, self.app_id, fields["Encrypt"]))}
        return fields


class FakeWeChatApi:
    """WeChat's HTTP API on 127.0.0.1: /cgi-bin/token and /cgi-bin/message/custom/send."""

    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.tokens: list[str] = []
        self.messages: list[dict] = []  # accepted customer-service messages
        self.failures: list[int] = []  # errcodes to answer the next sends with, in order
        self.token_fetches = 0
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _json(self, payload: dict) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path != "/cgi-bin/token":
                    return self._json({"errcode": 404, "errmsg": "not found"})
                if query.get("appid") != fake.app_id or query.get("secret") != fake.app_secret:
                    return self._json({"errcode": 40125, "errmsg": "invalid appsecret"})
                with fake.lock:
                    fake.token_fetches += 1
                    fake.tokens.append(f"token-{fake.token_fetches}-{secrets.token_hex(4)}")
                    return self._json({"access_token": fake.tokens[-1], "expires_in": 7200})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path != "/cgi-bin/message/custom/send":
                    return self._json({"errcode": 404, "errmsg": "not found"})
                with fake.lock:
                    if not fake.tokens or query.get("access_token") != fake.tokens[-1]:
                        return self._json({"errcode": 40001, "errmsg": "invalid credential"})
                    if fake.failures:
                        code = fake.failures.pop(0)
                        return self._json({"errcode": code, "errmsg": "injected failure"})
                    try:
                        message = json.loads(body.decode("utf-8"))
                        content = message["text"]["content"]
                        assert message["msgtype"] == "text" and message["touser"]
                    except (ValueError, KeyError, TypeError, AssertionError):
                        return self._json({"errcode": 44002, "errmsg": "invalid body"})
                    if len(content.encode("utf-8")) > 2048:
                        return self._json({"errcode": 45002, "errmsg": "content size out of limit"})
                    fake.messages.append(message)
                    fake.arrived.notify_all()
                    return self._json({"errcode": 0, "errmsg": "ok"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeWeChatApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages_to(self, openid: str) -> list[str]:
        with self.lock:
            return [m["text"]["content"] for m in self.messages if m["touser"] == openid]

    def wait_for(self, openid: str, count: int = 1, timeout: float = 30) -> list[str]:
        """The customer-service messages sent to ``openid`` once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                found = [m["text"]["content"] for m in self.messages if m["touser"] == openid]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self.arrived.wait(remaining)
