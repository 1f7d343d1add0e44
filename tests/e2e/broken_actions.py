"""A deliberately broken actions package, for tests/e2e/test_compliance_oracle.py only.

The action server loads this module instead of ``actions`` (``Servers(actions_package=...)``):
every real action is registered, then ``action_suggest_products`` is replaced by one that breaks
the rules in one of three ways, chosen per customer (so one run shows all three):
- ``full_name_first``: a product line naming a product by its full name BEFORE the warning
  (the Rasa server's guard replaces it with its blocked reply: a failed dialogue);
- ``short_name_first``: a product named by its short name and id BEFORE the warning (the guard
  reads the catalogue's aliases and ids too, so it is blocked like the full name);
- ``above_level``: after a proper warning and the proper products, a product above the customer's
  level presented as if it matched (in a text, which the guard lets through: facts may be told
  to anyone, and the guard cannot tell a presentation from a fact);
- ``blocked_line``: the proper answer with one product line replaced by one with forbidden
  wording: the guard blocks that line, so the customer never sees that product, and the audit
  trail must not record it as shown (the action did ask for it).
The compliance oracle must report each of them.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions
from actions.common import language_of
from actions.products import present_products
from bot.compliance import catalogue, risk_profile

# Every real action first (rasa-sdk registers all Action subclasses; the later one of a name wins).
for _module in pkgutil.iter_modules(actions.__path__, "actions."):
    importlib.import_module(_module.name)

VARIANTS = ("full_name_first", "short_name_first", "above_level", "blocked_line")


def variant_of(customer_id: str) -> str:
    return VARIANTS[zlib.crc32(customer_id.encode("utf-8")) % len(VARIANTS)]


def _product_line(dispatcher: CollectingDispatcher, product, language: str, level: str) -> None:
    dispatcher.utter_message(
        response="utter_product_line", name=product.name[language], risk=product.risk, level=level,
        term=product.term[language], min_amount=f"{product.min_amount:,}", liquidity=product.liquidity[language],
        fees=product.fees[language], key_risks=product.key_risks[language])


def _short_name(product_id: str, language: str) -> str:
    raw = yaml.safe_load(catalogue.catalogue_path().read_text(encoding="utf-8"))
    return raw["aliases"][product_id][language][0]


class BrokenSuggestProducts(Action):
    def name(self) -> str:
        return "action_suggest_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        language = language_of(tracker)
        profile = risk_profile.current(tracker.sender_id)
        level = profile.level if profile else "C1"
        variant = variant_of(tracker.sender_id)
        products = sorted(catalogue.products(), key=lambda p: (p.risk_rank, p.id))
        if variant == "full_name_first":
            _product_line(dispatcher, products[0], language, level)
        elif variant == "short_name_first":
            product = next(p for p in products if p.type == "money_market_fund")
            dispatcher.utter_message(text=f"{_short_name(product.id, language)} ({product.id})")
        decision = present_products(dispatcher, tracker, tracker.latest_message.get("text") or "")
        if variant == "above_level" and decision in ("suggest", "mismatch") and profile and profile.rank < 5:
            _product_line(dispatcher, products[-1], language, level)
        if variant == "blocked_line" and decision == "suggest":
            _spoil_last_product_line(dispatcher, language)
        return []


SPOILER = {"zh": "，稳赚不赔", "en": ", guaranteed returns"}  # forbidden wording the guard blocks


def _spoil_last_product_line(dispatcher: CollectingDispatcher, language: str) -> None:
    """Replace the last product line with a plain text that adds forbidden wording to it."""
    lines = [i for i, m in enumerate(dispatcher.messages) if m.get("response") == "utter_product_line"]
    if len(lines) < 2:
        return  # one product only: the whole suggestion would go; keep the variant about one line
    line = dispatcher.messages[lines[-1]]
    dispatcher.messages[lines[-1]] = {"text": f"{line['name']} ({line['risk']}){SPOILER[language]}"}
