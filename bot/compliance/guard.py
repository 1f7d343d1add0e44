"""The compliance guard: decides whether a text may be sent.

Checks forbidden wording (guarantees, superlatives, urgency and fear, stated yields,
predictions) and that a product is never named before the mandatory risk warning has been
shown in the same turn. The Rasa server runs every outgoing message through it
(``bot.rasa_ext.compliance_hook``); the agent copilot uses it to check agents' drafts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.compliance import catalogue, rulebook


@dataclass(frozen=True)
class Violation:
    rule: str      # guarantees, superlatives, urgency_and_fear, stated_yield, prediction, missing_warning
    evidence: str  # the words that broke it


def forbidden_wording(text: str) -> list[Violation]:
    rules = rulebook.current()
    folded = text.casefold()
    found = [Violation(category, phrase) for category, phrase in rules.phrases if phrase in folded]
    for category, pattern in rules.patterns:
        match = pattern.search(text)
        if match:
            found.append(Violation(category, match.group(0)))
    return found


def carries_warning(text: str) -> bool:
    return any(w in text for w in rulebook.current().mandatory_warning.values())


def check_message(text: str, earlier_in_turn: Iterable[str] = ()) -> list[Violation]:
    """Violations of one message, given the texts already sent in this turn (in order)."""
    violations = forbidden_wording(text)
    named = catalogue.named_in(text)
    if named and not carries_warning(text) and not any(carries_warning(t) for t in earlier_in_turn):
        violations.append(Violation("missing_warning", ", ".join(p.id for p in named)))
    return violations


def blocked_reply(language: str | None) -> str:
    replies = rulebook.current().blocked_reply
    return replies.get(language or "zh", replies["zh"])
