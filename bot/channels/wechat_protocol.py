"""WeChat official-account protocol: checking, decrypting, reading and answering one callback.

Pure functions over bytes and query parameters (no server, no dialogue), built on ``wechatpy``
for the signatures, the AES envelope and the XML, so the connector (``bot.channels.wechat``)
only decides *what* to answer. Checklist: ../shared/reference/wechat.md.

Secure mode is not optional once configured: with an EncodingAESKey, a POSTed callback without
``encrypt_type=aes`` is refused. Its query ``signature`` covers only token, timestamp and nonce,
never the body, so accepting plain text would let anyone holding one logged query string (load
balancers log them) post any body as any follower. The timestamp must lie within a window of
the server's clock (``check_timestamp``); the connector remembers the signed query strings seen
within it (``bot.channels.wechat_replay``), so a captured callback cannot be played again.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply, TransferCustomerServiceReply
from wechatpy.utils import check_signature

from bot.channels.inbound import InboundError

# WeChat's limit for the Content of a passive text reply (and of a customer-service message).
MAX_REPLY_BYTES = 2048
# WeChat's own callbacks are a few hundred bytes; anything this big was not sent by WeChat.
MAX_BODY_BYTES = 64 * 1024
# A DTD has no place in a WeChat callback and is how entity expansion and XXE start.
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)


class CallbackError(InboundError):
    """A callback to refuse; ``status`` is the HTTP status (403 forged, 400 malformed, 413 big);
    ``reason`` names the refusal for the metric (signature, plaintext, stale, replay, malformed,
    oversize)."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(status, message)
        self.reason = reason or {403: "signature", 413: "oversize"}.get(status, "malformed")


@dataclass(frozen=True)
class Credentials:
    """The official account's server settings (credentials.yml, from the environment)."""

    token: str
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""

    def crypto(self) -> WeChatCrypto | None:
        if not self.encoding_aes_key:
            return None
        return WeChatCrypto(self.token, self.encoding_aes_key, self.app_id)


@dataclass(frozen=True)
class Callback:
    """One message or event from a follower, reduced to what the connector acts on."""

    openid: str  # FromUserName: the follower, and the conversation id
    account: str  # ToUserName: the official account's own id
    kind: str  # "text", "voice", "image", ..., or "event"
    dedupe_key: str  # FromUserName + MsgId, or FromUserName + CreateTime for events (which have none)
    text: str = ""  # the text, or the voice recognition result when WeChat provides one
    event: str = ""  # subscribe, unsubscribe, click, view, ... (lower case)
    event_key: str = ""
    encrypted: bool = False


def verify_url(creds: Credentials, args: dict[str, str]) -> str:
    """URL verification (GET): the ``echostr`` to return, or CallbackError(403)."""
    check_query_signature(creds, args)
    return args.get("echostr", "")


def check_query_signature(creds: Credentials, args: dict[str, str]) -> None:
    """Every request carries signature = sha1(sorted(token, timestamp, nonce))."""
    try:
        check_signature(creds.token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException as error:
        raise CallbackError(403, "invalid signature") from error


def check_timestamp(args: dict[str, str], window_seconds: float, now: float | None = None) -> int:
    """The callback's ``timestamp`` (seconds since the epoch), or CallbackError(403) when it is
    missing or further than ``window_seconds`` from ``now``: a callback captured earlier (or
    signed for later) is not taken, whatever its signature."""
    stamp = args.get("timestamp", "")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        raise CallbackError(403, "missing or malformed timestamp", "stale")
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > window_seconds:
        raise CallbackError(403, f"timestamp {int(now - int(stamp))} s from the server's clock", "stale")
    return int(stamp)


def query_fingerprint(args: dict[str, str]) -> str:
    """One signed delivery's identity: its timestamp, nonce and query signature, hashed. WeChat
    signs a new (timestamp, nonce) for every callback; seeing the same one twice is a copy (whatever
    body comes with it: ``msg_signature`` is left out on purpose)."""
    signed = "\n".join(args.get(name, "") for name in ("timestamp", "nonce", "signature"))
    return hashlib.sha256(signed.encode("utf-8")).hexdigest()


def _refuse_dtd(xml: bytes) -> None:
    if _DTD.search(xml):
        raise CallbackError(400, "XML with a DTD or entity declarations is not accepted")


def read_callback(creds: Credentials, args: dict[str, str], body: bytes) -> Callback:
    """Check, decrypt (secure mode) and parse a POSTed callback; raises CallbackError."""
    if len(body) > MAX_BODY_BYTES:
        raise CallbackError(413, f"body of {len(body)} bytes is larger than {MAX_BODY_BYTES}")
    check_query_signature(creds, args)
    if not body.strip():
        raise CallbackError(400, "empty body")
    _refuse_dtd(body)
    encrypted = args.get("encrypt_type", "raw").lower() == "aes"
    if creds.encoding_aes_key and not encrypted:  # a downgrade: the body would be signed by nothing
        raise CallbackError(403, "plain-text callback refused: the account is in secure mode", "plaintext")
    if encrypted:
        crypto = creds.crypto()
        if crypto is None:
            raise CallbackError(400, "encrypted callback but no EncodingAESKey is configured")
        try:
            body = crypto.decrypt_message(body.decode("utf-8"), args.get("msg_signature", ""),
                                          args.get("timestamp", ""), args.get("nonce", "")).encode("utf-8")
        except (InvalidSignatureException, InvalidAppIdException) as error:
            raise CallbackError(403, "invalid message signature or AppID") from error
        except Exception as error:  # bad base64, padding, XML or a missing <Encrypt>
            raise CallbackError(400, f"cannot decrypt the message: {type(error).__name__}") from error
        _refuse_dtd(body)
    try:
        message = parse_message(body.decode("utf-8"))
        raw: dict[str, Any] = message._data  # noqa: SLF001 - wechatpy keeps the parsed fields here
    except Exception as error:
        raise CallbackError(400, f"malformed message XML: {type(error).__name__}") from error
    openid, account = raw.get("FromUserName"), raw.get("ToUserName")
    kind = str(raw.get("MsgType") or "").lower()
    if not (isinstance(openid, str) and openid and isinstance(account, str) and kind):
        raise CallbackError(400, "message lacks FromUserName, ToUserName or MsgType")
    msg_id = raw.get("MsgId")
    # MsgId with the sender: a MsgId is WeChat's number for one follower's message, and another
    # follower sending the same number must not join (and read) that follower's turn.
    dedupe_key = f"msg:{openid}:{msg_id}" if msg_id else f"evt:{openid}:{raw.get('CreateTime')}:{raw.get('Event')}"
    text = raw.get("Content") if kind == "text" else raw.get("Recognition") if kind == "voice" else ""
    return Callback(openid=openid, account=account, kind=kind, dedupe_key=dedupe_key,
                    text=text if isinstance(text, str) else "",
                    event=str(raw.get("Event") or "").lower(), event_key=str(raw.get("EventKey") or ""),
                    encrypted=encrypted)


def split_for_wechat(text: str, limit: int = MAX_REPLY_BYTES) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` UTF-8 bytes, at paragraph or line breaks
    when possible, so nothing is truncated and the compliance warning stays whole."""
    parts: list[str] = []
    current = ""
    for piece in re.split(r"(?<=\n)", text):
        candidate = current + piece
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current.rstrip("\n"))
        while len(piece.encode("utf-8")) > limit:  # one line longer than the limit: cut by bytes
            head = piece.encode("utf-8")[:limit].decode("utf-8", "ignore")
            parts.append(head)
            piece = piece[len(head):]
        current = piece
    if current.strip():
        parts.append(current.rstrip("\n"))
    return [p for p in parts if p.strip()]


def text_reply(callback: Callback, content: str) -> str:
    """Passive text reply XML (To/From swapped); ``content`` must fit MAX_REPLY_BYTES."""
    return TextReply(source=callback.account, target=callback.openid, content=content).render()


def transfer_reply(callback: Callback) -> str:
    """Passive reply that hands the follower to the account's human customer service."""
    return TransferCustomerServiceReply(source=callback.account, target=callback.openid).render()


def seal(creds: Credentials, callback: Callback, xml: str, nonce: str, timestamp: str) -> str:
    """Encrypt a passive reply when the callback came encrypted (secure mode)."""
    if not callback.encrypted:
        return xml
    crypto = creds.crypto()
    assert crypto is not None  # read_callback refused encrypted callbacks without a key
    return crypto.encrypt_message(xml, nonce, timestamp)
