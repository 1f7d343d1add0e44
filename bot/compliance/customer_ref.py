"""An exact, keyed reference to a customer, stored beside the masked id that people read.

The masked id (``masking.mask``) is lossy: ``demo-13800000003`` and ``demo-13899990003`` both
show as ``demo-138****0003``. Whatever must tell customers apart (an agent's access grants and
the handoffs they come from, ``bot.copilot.scope``; the audit trail's customer search,
``bot.console.search``) stores and compares this reference instead: HMAC-SHA256 of the customer
id, hex, under a key derived from the audit key (HMAC(audit key, "customer-ref")). Without that
key, which never goes into a database, a reference names nobody and cannot be recomputed from a
guessed id; deriving it keeps one secret to manage. Changing ``ANXIN_AUDIT_KEY`` changes every
reference (as it already orphans the audit chain): live grants then open nothing.
"""

from __future__ import annotations

import hashlib
import hmac

from bot import settings

LABEL = b"customer-ref"
LENGTH = 64  # hex characters of SHA-256
# What ``mask`` writes in place of what it hides: text with one of these is a display form,
# never a customer id (ids are letters, digits and _.@-, bot.identity.tokens.CUSTOMER_ID).
DISPLAY_MARKS = ("*", "…")


def _key() -> bytes:
    return hmac.new(settings.audit_key(), LABEL, hashlib.sha256).digest()


def customer_ref(customer_id: str) -> str:
    """The customer's exact reference (64 hex characters); ValueError for an empty or masked id."""
    if not isinstance(customer_id, str) or not customer_id or is_display_form(customer_id):
        raise ValueError("a customer reference is made from the customer's exact id")
    return hmac.new(_key(), customer_id.encode("utf-8"), hashlib.sha256).hexdigest()


def is_display_form(text: str) -> bool:
    """Whether ``text`` is a masked id as shown to people (it names a mask, not one customer)."""
    return any(mark in text for mark in DISPLAY_MARKS)
