"""The guard inside the Rasa server: nothing reaches a channel without passing it."""

import asyncio
import json

from rasa.core.channels import CollectingOutputChannel
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.compliance import audit, risk_profile, rulebook
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


def send_events(events, language="zh"):
    compliance_hook.install()
    tracker = DialogueStateTracker.from_events("c-parts", [SlotSet("language", language), UserUttered("hi")],
                                               slots=DOMAIN.slots)
    for event in events:
        tracker.update(event)
    channel = CollectingOutputChannel()
    asyncio.run(MessageProcessor._send_bot_messages(events, tracker, channel))
    return channel.messages


def test_a_product_only_in_a_button_is_blocked_with_every_part_of_the_message():
    event = BotUttered("您可以看看：", data={"buttons": [{"title": "现金宝", "payload": "/product_facts"}],
                                           "custom": {"card": "AX-MMF-01"}, "image": "https://cdn.example.com/x.png"})
    [sent] = send_events([event])
    assert sent["text"] == rulebook.current().blocked_reply["zh"]
    assert not sent.get("buttons") and not sent.get("custom") and not sent.get("image")
    [entry] = audit.history("c-parts")
    assert entry.kind == "guard_block" and "missing_warning: AX-MMF-01 (in button)" in entry.detail


def test_forbidden_wording_in_custom_json_or_an_attachment_is_blocked():
    sent = send_events([BotUttered("详情见附件", data={"attachment": "https://cdn.example.com/%E4%BF%9D%E6%9C%AC.pdf"}),
                        BotUttered("", data={"custom": {"payload": '{"subtitle": "last chance"}'}})], language="en")
    assert [m["text"] for m in sent] == [rulebook.current().blocked_reply["en"]] * 2
    assert not any(m.get("attachment") or m.get("custom") for m in sent)


def test_content_smuggled_in_metadata_is_read_and_dropped_too():
    """``BotUttered.message()`` lets metadata keys override the data: the guard reads the message
    the channel gets, and a blocked message keeps none of it."""
    event = BotUttered("您好", metadata={"custom": {"note": "稳赚不赔"}, "utter_action": "utter_greet"})
    [sent] = send_events([event])
    assert sent["text"] == rulebook.current().blocked_reply["zh"] and not sent.get("custom")
    assert event.metadata == {"utter_action": "utter_greet", "message_id": event.metadata["message_id"]}


def test_a_button_offer_within_the_customers_level_passes():
    risk_profile.save("c-parts", "C5")
    warning = rulebook.current().mandatory_warning["zh"]
    event = BotUttered(f"【风险提示】{warning}。",
                       data={"buttons": [{"title": "了解安心科创", "payload": "/product_facts"}]})
    [sent] = send_events([event])
    assert sent["text"] == event.text and sent["buttons"][0]["title"] == "了解安心科创"


WARNING_ZH = "【风险提示】{}。"


def shown_request(kind, customer="c-shown", products=({"id": "AX-BF-01", "risk": "R2"},)):
    return audit.when_shown(customer, kind, c_level="C3", products=list(products),
                            warning_text=rulebook.current().mandatory_warning["zh"], emotion="calm")


def test_a_record_of_what_was_shown_is_written_after_sending_with_the_message_id():
    warning = BotUttered(WARNING_ZH.format(rulebook.current().mandatory_warning["zh"]),
                         metadata=shown_request("warning"))
    line = BotUttered("安心纯债债券基金：风险等级 R2", metadata=shown_request("suggestion"))
    sent = send_events([warning, line])
    assert [m["text"] for m in sent] == [warning.text, line.text]
    assert not any(audit.SHOWN_KEY in m for m in sent)  # the request is for the trail, not the customer
    records = audit.history("c-shown")
    assert [(r.kind, r.message_id) for r in records] == [("warning", warning.metadata["message_id"]),
                                                        ("suggestion", line.metadata["message_id"])]
    assert records[1].c_level == "C3" and records[1].products == [{"id": "AX-BF-01", "risk": "R2"}]
    assert warning.metadata["message_id"] != line.metadata["message_id"]
    assert audit.verify().ok


def test_a_suggestion_whose_message_was_blocked_is_not_on_record_but_the_block_is():
    line = BotUttered("安心纯债债券基金：风险等级 R2", metadata=shown_request("suggestion"))  # no warning before it
    [sent] = send_events([line])
    assert sent["text"] == rulebook.current().blocked_reply["zh"]
    assert [e.kind for e in audit.history("c-shown")] == []
    [block] = audit.history("c-parts")
    assert block.kind == "guard_block" and "not shown, so not recorded: suggestion" in block.detail
    assert block.message_id == line.metadata["message_id"]


def test_a_product_whose_line_was_blocked_since_the_warning_is_left_out_of_the_suggestion():
    products = ({"id": "AX-BF-01", "risk": "R2"}, {"id": "AX-EF-01", "risk": "R4"})
    warning = BotUttered(WARNING_ZH.format(rulebook.current().mandatory_warning["zh"]),
                         metadata=shown_request("warning", products=products))
    fine = BotUttered("安心纯债债券基金：风险等级 R2")
    line = BotUttered("安心成长股票基金 稳赚不赔")  # blocked: forbidden wording
    notice = BotUttered("购买前请阅读产品说明书", metadata=shown_request("suggestion", products=products))
    sent = send_events([warning, fine, line, notice])
    assert [m["text"] for m in sent] == [warning.text, fine.text, rulebook.current().blocked_reply["zh"], notice.text]
    warned, suggested = audit.history("c-shown")
    assert (warned.kind, suggested.kind) == ("warning", "suggestion")
    assert suggested.products == [{"id": "AX-BF-01", "risk": "R2"}]  # what the customer saw
    assert [e.kind for e in audit.history("c-parts")] == ["guard_block"]


def test_a_suggestion_whose_every_product_was_blocked_is_not_on_record():
    warning = BotUttered(WARNING_ZH.format(rulebook.current().mandatory_warning["zh"]),
                         metadata=shown_request("warning", products=({"id": "AX-EF-01", "risk": "R4"},)))
    line = BotUttered("安心成长股票基金 稳赚不赔")
    notice = BotUttered("购买前请阅读产品说明书",
                        metadata=shown_request("suggestion", products=({"id": "AX-EF-01", "risk": "R4"},)))
    send_events([warning, line, notice])
    assert [e.kind for e in audit.history("c-shown")] == ["warning"]


def test_a_block_before_the_warning_does_not_hide_what_followed_it():
    """A product line blocked before the warning (a broken action): the warning and the
    products after it were shown, and are on record."""
    early = BotUttered("安心纯债债券基金：风险等级 R2")  # blocked: no warning before it
    warning = BotUttered(WARNING_ZH.format(rulebook.current().mandatory_warning["zh"]),
                         metadata=shown_request("warning"))
    line = BotUttered("安心纯债债券基金：风险等级 R2", metadata=shown_request("suggestion"))
    sent = send_events([early, warning, line])
    assert sent[0]["text"] == rulebook.current().blocked_reply["zh"] and sent[2]["text"] == line.text
    assert [(e.kind, e.message_id) for e in audit.history("c-shown")] == [
        ("warning", warning.metadata["message_id"]), ("suggestion", line.metadata["message_id"])]


def test_a_malformed_request_is_refused_and_the_message_still_sent():
    event = BotUttered("您好", metadata={audit.SHOWN_KEY: {"kind": "suggestion", "customer_id": 42}})
    [sent] = send_events([event])
    assert sent["text"] == "您好" and audit.history("c-parts") == [] and audit.history("42") == []


def test_an_event_changed_after_rasa_logged_it_is_encoded_again_for_later_action_calls():
    """The hook stamps each message (and may replace it) after Rasa put it in the tracker;
    an action call later in the turn must carry the event as it is now, not a JSON kept before
    (bot/rasa_ext/speed.py keeps each event's JSON)."""
    from bot.rasa_ext import speed

    compliance_hook.install()
    tracker = DialogueStateTracker.from_events("c-hook", [SlotSet("language", "zh"), UserUttered("hi")],
                                               slots=DOMAIN.slots)
    event = BotUttered("这款产品保本保收益，最后机会")
    tracker.update(event)
    assert speed._kept_event(event)[0]["text"] == "这款产品保本保收益，最后机会"  # kept before the send
    asyncio.run(MessageProcessor._send_bot_messages([event], tracker, CollectingOutputChannel()))
    as_dict, encoded = speed._kept_event(event)
    assert as_dict == event.as_dict() and encoded == json.dumps(event.as_dict())
    assert as_dict["text"] == rulebook.current().blocked_reply["zh"] and as_dict["metadata"]["message_id"]
