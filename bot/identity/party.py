"""Whom a conversation acts for, decided from what a channel vouched for — never from a slot,
an entity or a field the customer typed.

- App channels (REST, socket.io) accept a message only with the bank app's signed token, and
  the conversation id is the token's ``sub``: the conversation id is the customer.
- WeChat: the conversation id is the follower's OpenID; the customer is whoever it is bound
  to (``bot.identity.bindings``), or nobody (public help only).
- The copilot's rehearsal conversations (``copilot:<call id>``) come through the copilot
  channel, which is authenticated by the server token and puts the call's customer in the
  message metadata under ``SHADOW_KEY``; they are *shadow* turns: answered as for that
  customer, but no money moves and nothing is audited as shown to them.
- Anything else (rasa shell, the HTTP API's own events): the sender id in demo mode, nobody
  otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import settings

APP_CHANNELS = frozenset({"rest", "socketio"})
WECHAT_CHANNEL = "wechat"
COPILOT_CHANNEL = "copilot"
SHADOW_KEY = "anxin_shadow_for"


@dataclass(frozen=True)
class Party:
    customer_id: str | None
    channel: str | None
    shadow: bool = False

    @property
    def identified(self) -> bool:
        return self.customer_id is not None


def resolve(sender_id: str, input_channel: str | None, metadata: dict[str, Any] | None) -> Party:
    if input_channel in APP_CHANNELS:
        return Party(sender_id, input_channel)
    if input_channel == WECHAT_CHANNEL:
        from bot.identity import bindings  # the database only when a WeChat turn needs it
        return Party(bindings.customer_for(sender_id), input_channel)
    if input_channel == COPILOT_CHANNEL:
        customer = (metadata or {}).get(SHADOW_KEY)
        return Party(customer if isinstance(customer, str) and customer else None, input_channel, shadow=True)
    return Party(sender_id if settings.demo_mode() else None, input_channel)


def strip_reserved(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """Client metadata without the key only a trusted channel may set."""
    if not metadata or SHADOW_KEY not in metadata:
        return metadata
    return {k: v for k, v in metadata.items() if k != SHADOW_KEY}
