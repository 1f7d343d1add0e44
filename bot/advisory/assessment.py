"""The answers the customer gave in the risk assessment in force (horizon, goal, income...).

``risk_profile`` keeps every assessment with its answers (option numbers per question slot); the
advisory needs the newest one's answers: the horizon a worried customer gave, the needs behind a
suggestion. The demo customers' assessments on file were made without answers, so in demo mode
their answers come from ``demo_holdings.yml`` (they score to the level on file: a test checks).
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot import db, settings
from bot.advisory.holdings import demo_data
from bot.compliance import risk_profile
from bot.compliance.risk_profile import RiskProfileRow


def slots() -> tuple[str, ...]:
    return tuple(q["slot"] for q in risk_profile.questionnaire()["questions"])


def answers(customer_id: str) -> dict[str, int]:
    """{slot: option number} of the customer's newest assessment; empty when there is none or
    it was stored without answers."""
    if risk_profile.current(customer_id) is None:  # in demo mode this puts the demo assessment on file
        return {}
    with db.sessions(db.COMPLIANCE)() as session:
        stored = session.scalars(select(RiskProfileRow.answers).where(RiskProfileRow.customer_id == customer_id)
                                 .order_by(RiskProfileRow.id.desc()).limit(1)).first()
    found = {slot: int(number) for slot, number in json.loads(stored or "{}").items()
             if slot in slots() and str(number).isdigit()}
    if not found and settings.demo_mode():
        found = dict((demo_data().get(customer_id) or {}).get("answers") or {})
    return found


def option_label(slot: str, number: int | None, language: str) -> str | None:
    """The words of an answer as the questionnaire put it ("1–3 年" / "1–3 years")."""
    if number is None:
        return None
    options = risk_profile.question(slot)["options"]
    if not 1 <= number <= len(options):
        return None
    return options[number - 1]["label"]["en" if language == "en" else "zh"]
