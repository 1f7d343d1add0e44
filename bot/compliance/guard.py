"""The compliance guard: decides whether a message may be sent.

Checks, in every part of a message (its text, button and quick-reply titles and payloads,
``custom`` JSON, attachments, images, carousel elements; see ``outgoing.Outgoing``):
- forbidden wording (guarantees, superlatives, urgency and fear, stated yields, predictions),
  whatever its width, case, spacing or invisible characters;
- that no product is named (full name, alias or id: ``catalogue.named_in``) before the
  mandatory risk warning has been shown, in an earlier message of the turn or in this
  message's text (a warning in a button does not count: it is not read as one);
- that a product offered outside the text (a button, a quick reply, a card: something to tap
  or open, which is a suggestion, not a published fact) is within the customer's valid risk
  level (R <= C, rule 1). A product's facts in plain text may be told to anyone.

The Rasa server runs every outgoing message through it (``bot.rasa_ext.compliance_hook``);
the agent copilot uses it to check agents' drafts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.compliance import catalogue, rulebook, suitability
from bot.compliance.outgoing import Outgoing
from bot.compliance.risk_profile import RiskProfile
from bot.compliance.textmatch import fold


@dataclass(frozen=True)
class Violation:
    rule: str      # guarantees, superlatives, urgency_and_fear, stated_yield, prediction, missing_warning,
    #                unsuitable_offer
    evidence: str  # the words that broke it
    part: str = "text"  # where: text, button, quick_reply, custom, attachment, image, elements


def forbidden_wording(text: str, part: str = "text", rules: rulebook.Rules | None = None) -> list[Violation]:
    """``rules``: the rules in force unless given (the console tries a draft this way)."""
    return [Violation(category, words, part) for category, words in (rules or rulebook.current()).wording_in(text)]


def carries_warning(text: str, rules: rulebook.Rules | None = None) -> bool:
    folded = fold(text or "")
    return any(fold(w) in folded for w in (rules or rulebook.current()).mandatory_warning.values())


def _unsuitable(product: catalogue.Product, profile: RiskProfile | None) -> str | None:
    """Why ``product`` may not be offered to this customer (rules 1 and 2), or None."""
    if profile is None or not profile.is_valid():
        return f"{product.id} {product.risk} offered with no valid risk assessment"
    if not suitability.within_level(product, profile):
        return f"{product.id} {product.risk} offered to a {profile.level} customer"
    return None


def check_message(message: str | Outgoing, earlier_in_turn: Iterable[str] = (),
                  customer_profile: Callable[[], RiskProfile | None] | None = None,
                  rules: rulebook.Rules | None = None) -> list[Violation]:
    """Violations of one message, given the texts already sent in this turn (in order).

    ``customer_profile`` gives the customer's latest assessment; it is asked only when a product
    is offered outside the text. Without it such an offer is treated as made to a customer with
    no valid assessment. ``rules``: the rules in force unless given (a draft, in the console)."""
    if isinstance(message, str):
        message = Outgoing(message)
    rules = rules or rulebook.current()
    violations = forbidden_wording(message.text, rules=rules)
    for part in message.extras:
        violations += forbidden_wording(part.text, part.where, rules)
    named: dict[str, str] = {p.id: "text" for p in catalogue.named_in(message.text)}
    offered: dict[str, tuple[catalogue.Product, str]] = {}
    for part in message.extras:
        for product in catalogue.named_in(part.text):
            offered.setdefault(product.id, (product, part.where))
            named.setdefault(product.id, part.where)
    if named and not carries_warning(message.text, rules) and not any(carries_warning(t, rules)
                                                                      for t in earlier_in_turn):
        violations.append(Violation("missing_warning", ", ".join(named), next(iter(named.values()))))
    if offered:
        profile = customer_profile() if customer_profile else None
        for product, where in offered.values():
            why = _unsuitable(product, profile)
            if why:
                violations.append(Violation("unsuitable_offer", why, where))
    return list(dict.fromkeys(violations))  # a part read several ways (decoded, spaced) reports once


def blocked_reply(language: str | None) -> str:
    replies = rulebook.current().blocked_reply
    return replies.get(language or "zh", replies["zh"])
