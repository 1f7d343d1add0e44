"""The guard inside the Rasa server: nothing reaches a channel without passing it."""

import asyncio

from rasa.core.channels import CollectingOutputChannel
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.compliance import audit, rulebook
from bot.rasa_ext import compliance_hook

DOMAIN = Domain.load("domain.yml")


def send(texts, language="zh", metadata=None, earlier=()):
    compliance_hook.install()
    tracker = DialogueStateTracker.from_events("c-hook", [SlotSet("language", language), UserUttered("hi"),
                                                          *[BotUttered(t) for t in earlier]], slots=DOMAIN.slots)
    events = [BotUttered(t, metadata=metadata or {}) for t in texts]
    for event in events:
        tracker.update(event)  # Rasa logs the action's events before sending them
    channel = CollectingOutputChannel()
    asyncio.run(MessageProcessor._send_bot_messages(events, tracker, channel))
    return [m["text"] for m in channel.messages], events


def test_forbidden_wording_is_replaced_before_it_reaches_the_channel():
    sent, events = send(["这款产品保本保收益，最后机会"])
    blocked = rulebook.current().blocked_reply["zh"]
    assert sent == [blocked] and events[0].text == blocked  # the tracker keeps what was really sent
    assert [e.kind for e in audit.history("c-hook")] == ["guard_block"]


def test_product_without_warning_is_blocked_in_english_too():
    sent, _ = send(["You should buy the Anxin Growth Equity Fund"], language="en")
    assert sent == [rulebook.current().blocked_reply["en"]]


def test_warning_first_then_product_passes():
    warning = rulebook.current().mandatory_warning["zh"]
    sent, _ = send([f"【风险提示】{warning}。", "安心纯债债券基金：风险等级 R2"])
    assert sent[1] == "安心纯债债券基金：风险等级 R2"
    sent, _ = send(["安心纯债债券基金：风险等级 R2"], earlier=[f"【风险提示】{warning}。"])
    assert sent == ["安心纯债债券基金：风险等级 R2"]


def test_handoffs_are_audited_whoever_sends_them():
    send(["正在为您转接人工客服"], metadata={"utter_action": "utter_handoff"})
    [entry] = audit.history("c-hook")
    assert entry.kind == "handoff" and "last intent" in entry.detail
