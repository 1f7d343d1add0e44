"""A draft of the rules file, tried before it goes live: is it valid, and what would the guard do
with a sentence under it compared with the rules in force.

Validation is the servers' own (``rulebook.load``: YAML, fields, texts, lists, patterns, the
guard's own texts), so a draft that passes here is one the servers would accept. A draft is
untrusted text run inside the copilot, so no draft can freeze the process or make an answer of
megabytes: a draft larger than ``MAX_RULES_BYTES`` or nested deeper than
``rulebook.MAX_NESTING`` is refused (400) before it is parsed (``rulebook.bounds_problem``);
YAML anchors and aliases are refused before anything is built from it (an alias bomb); a
pattern is refused when it has a shape that backtracks badly or runs out of time on the probe
texts, and every search of a pattern is bounded in time anyway (``bot.compliance.pattern_safety``).
Nothing here writes the rules file: a draft goes live only as a reviewed change of that file.

The live verdict is the guard's (``guard.check_message`` under ``rulebook.current()``); the
draft verdict is the same check given the draft's rules (``judge``): one guard, two rule sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from bot.compliance import guard, rulebook
from bot.compliance.guard import Violation
from bot.compliance.outgoing import Outgoing
from bot.compliance.risk_profile import LEVELS, RiskProfile
from bot.language import detect_language

PLACES = ("text", "button")
MAX_RULES_BYTES = rulebook.MAX_RULES_BYTES  # the servers' own bound on the rules file


class DraftError(ValueError):
    """A request about a draft the console refuses (400)."""


def _load(source: str) -> tuple[rulebook.Rules | None, list[str]]:
    """The draft read as the servers read a rules file; ``DraftError`` (400) when it is too large
    or nested too deep to be read at all."""
    raw = source.encode("utf-8")
    too_much = rulebook.bounds_problem(raw)
    if too_much:
        raise DraftError(f"draft refused: {too_much}")
    return rulebook.load(raw)


def validate(source: str) -> dict:
    """The draft's problems, as the servers would find them (none: it would be accepted)."""
    rules, problems = _load(source)
    return {"valid": rules is not None, "problems": problems, "version": rules.version if rules else None}


def message(text: str, where: str) -> Outgoing:
    """The sentence as the guard would read it: the message's text, or a button's title."""
    if where not in PLACES:
        raise DraftError(f'"where" must be one of {", ".join(PLACES)}')
    return Outgoing.of({"text": text} if where == "text" else {"text": "", "buttons": [{"title": text}]})


def profile(level: str | None) -> RiskProfile | None:
    """A customer at ``level`` with a valid assessment made now; None: no valid assessment."""
    if level in (None, ""):
        return None
    if level not in LEVELS:
        raise DraftError(f'"level" must be one of {", ".join(LEVELS)} or empty (no valid assessment)')
    return RiskProfile(level, None, False, datetime.now(timezone.utc))


def judge(rules: rulebook.Rules, outgoing: Outgoing, earlier_in_turn: Iterable[str] = (),
          customer: RiskProfile | None = None) -> list[Violation]:
    """What the guard finds in ``outgoing`` under ``rules`` (a draft, or the live rules)."""
    return guard.check_message(outgoing, earlier_in_turn, lambda: customer, rules=rules)


def _verdict(rules: rulebook.Rules, violations: list[Violation], language: str) -> dict:
    return {"version": rules.version, "blocked": bool(violations),
            "violations": [{"rule": v.rule, "evidence": v.evidence, "part": v.part} for v in violations],
            "sent_instead": rules.blocked_reply.get(language, rules.blocked_reply["zh"]) if violations else None}


def trial(source: str, text: str, where: str = "text", level: str | None = None,
          warning_earlier: bool = False) -> dict:
    """The guard's verdict on ``text`` under the live rules and under the draft ``source``
    (None when the draft does not validate; its problems are given instead)."""
    outgoing, customer = message(text, where), profile(level)
    language = detect_language(text)
    live = rulebook.current()
    live_earlier = [live.mandatory_warning[language]] if warning_earlier else []
    found = guard.check_message(outgoing, live_earlier, lambda: customer)
    result = {"live": _verdict(live, found, language), "draft": None, "draft_problems": []}
    draft, problems = _load(source)
    if draft is None:
        result["draft_problems"] = problems
        return result
    draft_earlier = [draft.mandatory_warning[language]] if warning_earlier else []
    result["draft"] = _verdict(draft, judge(draft, outgoing, draft_earlier, customer), language)
    return result
