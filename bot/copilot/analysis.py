"""What the copilot shows an agent for one customer utterance, and the check of an agent's draft.

Each feature (intent, emotion, suggested reply, knowledge, alerts) runs on its own: one that
fails returns ``{"error": ...}`` in its place and the others still arrive, because an agent on
a live call is better served by four answers than by none. The suggested reply is the bot's
own answer for the call's customer (a shadow conversation on the Rasa server's copilot channel:
the same dialogue and guard, that customer's risk level, but no transfer, audit record, saved
risk profile or handoff), checked once more by the compliance guard before it is offered. It
needs the customer id; without one it reports an error in its place.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.compliance import catalogue, guard, risk_profile, suitability
from bot.copilot import store
from bot.copilot.rasa_client import RasaClient
from bot.emotion import care, classifier
from bot.knowledge import retriever
from bot.language import detect_language

logger = logging.getLogger(__name__)
KNOWLEDGE_SNIPPETS = 3
PRODUCT_INTENTS = ("product_inquiry",)
SECRET_IN_URL = re.compile(r"(token|key|secret)=[^&\s'\"]+", re.I)


@lru_cache(maxsize=1)
def texts() -> dict:
    return yaml.safe_load((Path(__file__).with_name("texts.yml")).read_text(encoding="utf-8"))


async def _feature(name: str, work) -> Any:
    try:
        return await work
    except Exception as error:  # noqa: BLE001 - reported beside the other features
        logger.exception("copilot feature %s failed", name)
        # Shown to the agent: never a query-string secret, whatever the error's text held.
        return {"error": SECRET_IN_URL.sub(r"\1=***", f"{name} unavailable: {type(error).__name__}: {error}")[:300]}


def _in_thread(function, *args):
    return asyncio.get_running_loop().run_in_executor(None, function, *args)


def _emotion(text: str) -> dict:
    found = classifier.shared().classify(text)
    return {"label": found.label, "score": round(found.scores.get(found.label, 0.0), 3),
            "anxiety": round(found.anxiety, 3), "scores": {k: round(v, 3) for k, v in found.scores.items()}}


def _knowledge(text: str, language: str) -> dict:
    answer = retriever.shared().answer(text, language)
    threshold = float(retriever.shared().settings.get("copilot_min_confidence", 0.5))
    snippets = [{"type": "knowledge", "title": hit.passage.title, "text": hit.passage.text,
                 "source": hit.passage.source, "entry_id": hit.entry_id, "score": round(hit.score, 3),
                 "product_id": hit.passage.product_id}
                for hit in answer.hits[:KNOWLEDGE_SNIPPETS]]
    shown = answer.confidence >= threshold
    return {"confidence": round(answer.confidence, 3), "reliable": answer.reliable,
            "shown": shown, "snippets": snippets if shown else []}


def _names(products) -> str:
    return "、".join(f"{p.name.get('zh') or p.id}({p.risk})" for p in products)


def _alerts(text: str, customer_id: str | None, intent: str | None, emotion: dict | None, trend: list[dict],
            knowledge: dict | None) -> list[dict]:
    """Compliance alerts: the suitability gate when the utterance is about products (by intent,
    a product or product type named, or a product sheet among the knowledge hits), and the
    customer's emotional state."""
    messages = texts()["alerts"]
    alerts: list[dict] = []
    label = (emotion or {}).get("label")
    feeling = texts()["emotions"].get(label, label)
    in_a_row = len(list(itertools.takewhile(lambda t: t.get("emotion") in care.SUPPORT, reversed(trend))))
    if in_a_row >= 2:
        alerts.append({"type": "alert", "rule": "distress_trend",
                       "message": messages["distress_trend"].format(turns=in_a_row, emotion=feeling)})
    product_hits = [s for s in (knowledge or {}).get("snippets", []) if s.get("product_id")]
    about_products = bool(intent in PRODUCT_INTENTS or catalogue.named_in(text)
                          or suitability.requested_types(text) or product_hits)
    if not about_products:
        if label in care.SUPPORT:
            alerts.append({"type": "alert", "rule": "emotional",
                           "message": messages["emotional"].format(emotion=feeling)})
        return alerts
    profile = risk_profile.current(customer_id) if customer_id else None
    decision = suitability.decide(profile, text, label if label in care.SUPPORT else None)
    if decision.kind != "suggest":
        alerts.append({"type": "alert", "rule": decision.kind, "products": [p.id for p in decision.products],
                       "message": messages[decision.kind].format(
                           emotion=feeling, level=profile.level if profile else "-",
                           products=_names(decision.products))})
    return alerts


async def _sense(text: str, language: str) -> tuple[dict, dict]:
    """Emotion, then knowledge: one after the other, so retrieval finds the message embedding the
    emotion model just computed (encoders.encode_message) instead of encoding it a second time
    in a parallel thread."""
    emotion = await _feature("emotion", _in_thread(_emotion, text))
    knowledge = await _feature("knowledge", _in_thread(_knowledge, text, language))
    return emotion, knowledge


async def analyse(rasa: RasaClient, call_id: str, text: str, customer_id: str | None, agent: str) -> dict:
    """Every copilot feature for one customer utterance of call ``call_id``, for ``agent``
    (the authenticated agent id stored with the turn)."""
    language = detect_language(text)
    intent_work = _feature("intent", rasa.parse(text))
    reply_work = _feature("suggested_reply", _suggested_reply(rasa, call_id, text, customer_id))
    intent, reply, (emotion, knowledge) = await asyncio.gather(intent_work, reply_work, _sense(text, language))
    ok_emotion = emotion if "error" not in emotion else None
    turn_id = await _in_thread(store.add_turn, call_id, text, intent.get("name"),
                               ok_emotion and ok_emotion["label"], ok_emotion and ok_emotion["anxiety"], agent,
                               customer_id)
    trend = await _in_thread(store.trend, call_id)
    if ok_emotion:
        emotion = {**emotion, "trend": trend}
    alerts = await _feature("alerts", _in_thread(_alerts, text, customer_id, intent.get("name"), ok_emotion, trend,
                                                 knowledge if "error" not in knowledge else None))
    return {"call_id": call_id, "turn_id": turn_id, "language": language, "intent": intent,
            "emotion": emotion, "suggested_reply": reply, "knowledge": knowledge, "alerts": alerts}


async def _suggested_reply(rasa: RasaClient, call_id: str, text: str, customer_id: str | None) -> dict:
    if not customer_id:  # the dialogue answers for a customer: without one there is nobody to answer as
        return {"error": texts()["errors"]["reply_needs_customer"]}
    messages = await rasa.bot_reply(call_id, customer_id, text)
    parts = [m["text"] for m in messages if m.get("text")]
    violations: list[guard.Violation] = []
    for index, part in enumerate(parts):
        violations += guard.check_message(part, parts[:index])
    buttons = [b.get("title") for m in messages for b in (m.get("buttons") or [])]
    return {"type": "reply", "source": "anxin-dialogue", "text": "\n\n".join(parts), "quick_replies": buttons,
            "handoff": any((m.get("custom") or {}).get("handoff") for m in messages),
            "compliant": not violations, "violations": [v.rule for v in violations]}


def check_draft(text: str, customer_id: str | None) -> dict:
    """An agent's draft before it is sent: forbidden wording, a product without the warning,
    a product above the customer's risk level."""
    messages = texts()["draft"]
    findings = [{"rule": v.rule, "evidence": v.evidence, "message": messages.get(v.rule, v.rule)}
                for v in guard.check_message(text)]
    named = catalogue.named_in(text)
    profile = risk_profile.current(customer_id) if customer_id else None
    if named and profile is not None:
        above = [p for p in named if p.risk_rank > profile.rank]
        if above:
            findings.append({"rule": "unsuitable_product", "evidence": ", ".join(p.id for p in above),
                             "message": messages["unsuitable_product"].format(products=_names(above),
                                                                              level=profile.level)})
    return {"ok": not findings, "findings": findings}
