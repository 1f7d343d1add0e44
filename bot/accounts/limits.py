"""The customer's transfer limits, as the bot tells them: the daily limit (the account's own, else
the bank's default ``ANXIN_DAILY_TRANSFER_LIMIT``), what today's transfers have left of it, and the
step-up threshold (``ANXIN_STEP_UP_THRESHOLD``) above which a code from the bank app is needed.

Why here and not in a reviewed passage: these figures are configuration and per account, so a
general text ("limits depend on the channel...") never answers "how much can I send today?"; the
bot reads them from the same settings and store that enforce them, so what it says is what a
transfer will meet. Whether a question asks about limits at all is decided by the words of
``limit_words.yml`` (a fee question gets the general passage).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from bot import settings
from bot.accounts import store
from bot.accounts.payees import normalise

WORDS_FILE = Path(__file__).with_name("limit_words.yml")


@dataclass(frozen=True)
class LimitFacts:
    limit: Decimal
    spent: Decimal
    left: Decimal
    threshold: Decimal
    currency: str


@functools.lru_cache(maxsize=1)
def _pattern() -> re.Pattern:
    words = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    latin = [rf"(?<![a-z]){re.escape(normalise(w))}(?![a-z])" for w in words["en"]]
    return re.compile("|".join(latin + [re.escape(normalise(w)) for w in words["zh"]]))


def asks_about_limits(text: str | None) -> bool:
    """True when ``text`` asks about how much may be transferred (limits), not about fees only."""
    return bool(text) and bool(_pattern().search(normalise(text)))


def facts(customer_id: str) -> LimitFacts | None:
    """The customer's limits today, or None when the bank has no account for them."""
    account = store.account(customer_id)
    if account is None:
        return None
    spent = store.transferred_today(customer_id)
    return LimitFacts(account.daily_limit, spent, max(account.daily_limit - spent, Decimal(0)),
                      settings.step_up_threshold(), account.currency)
