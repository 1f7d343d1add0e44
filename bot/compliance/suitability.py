"""Which products, if any, the bot may present to a customer (rules 1, 2 and 8).

Pure decision logic over the catalogue and the customer's profile, so the same rule serves
the chat, the copilot and the tests:
- no assessment, or one older than 12 months: no product, offer the questionnaire;
- an anxious, angry or distressed customer: no product (never sell on anxiety) — as sensed by
  the emotion model, or said outright with a reviewed worry word (bot.emotion.lexicon);
- only products with R <= C; a C1 customer never sees anything above R1, even on request;
- a request for a product above the customer's level: a mismatch (warning + a person).
The decision uses financial facts only (levels, product types), never age, gender or region.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.compliance import catalogue
from bot.compliance.catalogue import Product
from bot.compliance.risk_profile import RiskProfile
from bot.emotion import lexicon

ADVICE_REQUESTS_FILE = Path(__file__).with_name("advice_requests.yml")
MAX_SUGGESTIONS = 5
NO_SELLING_EMOTIONS = frozenset({"anxious", "angry", "distressed"})


@dataclass(frozen=True)
class Decision:
    kind: str  # no_assessment | expired | emotional | mismatch | refused_c1 | suggest
    products: tuple[Product, ...] = field(default_factory=tuple)  # suggested, or asked-for above level


@functools.lru_cache(maxsize=1)
def _advice_patterns() -> tuple[re.Pattern, ...]:
    with open(ADVICE_REQUESTS_FILE, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return tuple(re.compile(p, re.IGNORECASE) for patterns in raw.values() for p in patterns)


def asks_for_advice(text: str) -> bool:
    """True when a message asks to buy a product or to be advised on one ("X能买吗", "just sell
    me the X", "推荐一个"): such a message is answered by this gate, never as plain facts."""
    return any(p.search(text or "") for p in _advice_patterns())


def within_level(product: Product, profile: RiskProfile) -> bool:
    """Rule 1: R <= C. The one place the comparison is made: this gate and the guard's check of
    products offered in buttons and cards (bot.compliance.guard) both ask here."""
    return product.risk_rank <= profile.rank


def requested_types(text: str) -> set[str]:
    """Product types a message asks about ("股票基金" -> equity_fund); empty means any."""
    folded = text.casefold()
    type_keywords, fund_words = catalogue.type_keywords()
    hits = {kind for kind, words in type_keywords.items() if any(w.casefold() in folded for w in words)}
    if not hits and any(w in folded for w in fund_words):
        hits = {"money_market_fund", "bond_fund", "hybrid_fund", "equity_fund"}
    return hits


def _ordered(products) -> tuple[Product, ...]:
    return tuple(sorted(products, key=lambda p: (p.risk_rank, p.id)))


def decide(profile: RiskProfile | None, text: str, emotion: str | None = None) -> Decision:
    if profile is None:
        return Decision("no_assessment")
    if not profile.is_valid():
        return Decision("expired")
    if emotion in NO_SELLING_EMOTIONS or lexicon.says_worry(text):
        return Decision("emotional")
    named = catalogue.named_in(text)
    types = requested_types(text)
    if named:
        asked = named
    elif types:
        asked = [p for p in catalogue.products() if p.type in types]
    else:
        asked = list(catalogue.products())
    suitable = [p for p in asked if within_level(p, profile)]
    above = [p for p in asked if not within_level(p, profile)]
    if (named and above) or (asked and not suitable):
        return Decision("refused_c1" if profile.level == "C1" else "mismatch", _ordered(above)[:3])
    return Decision("suggest", _ordered(suitable)[:MAX_SUGGESTIONS])
