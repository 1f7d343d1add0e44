import asyncio
import json
import re
import time
import uuid
from decimal import Decimal

from rasa_sdk.events import FollowupAction

from actions.accounts import (
    ActionAskPayee,
    ActionAskTransferConfirmation,
    ActionCancelTransfer,
    ActionCheckBalance,
    ActionExecuteTransfer,
    ValidateStepUpForm,
    ValidateTransferForm,
)
from actions.sense import ActionSenseMessage
from bot.accounts import store
from bot.identity import bindings
from bot.identity.party import SHADOW_KEY


def run(coro):
    return asyncio.run(coro)


def responses(dispatcher):
    return [m["response"] for m in dispatcher.messages]


def confirmation_events(channel: str = "rest", received: float | None = None, metadata: dict | None = None):
    """The conversation right after the bot asked for confirmation and the customer answered."""
    return [{"event": "action", "name": "action_ask_transfer_confirmation"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "确认", "input_channel": channel, "metadata": metadata or {},
             "timestamp": time.time() if received is None else received},
            {"event": "action", "name": "action_extract_slots"}]


def pending(amount: str = "500.00", payee: str = "张三") -> dict:
    return {"payee": payee, "amount": amount, "key": uuid.uuid4().hex}


def test_sense_sets_language_every_turn(dispatcher, tracker_factory):
    events = run(ActionSenseMessage().run(dispatcher, tracker_factory("check my balance"), {}))
    assert events[0] == {"event": "slot", "timestamp": None, "name": "language", "value": "en"}
    events = run(ActionSenseMessage().run(dispatcher, tracker_factory("👍", slots={"language": "en"}), {}))
    assert "language" not in {e["name"] for e in events}  # unchanged: stays en, no event stored


def test_balance_reports_the_customers_own_account(dispatcher, tracker_factory):
    run(ActionCheckBalance().run(dispatcher, tracker_factory("查余额", sender="demo-rich"), {}))
    [message] = dispatcher.messages
    assert message["response"] == "utter_balance"
    assert (message["balance"], message["currency"], message["account_tail"]) == ("880,000.00", "CNY", "1234")


def test_ask_payee_lists_saved_payees_in_the_customers_language(dispatcher, tracker_factory):
    run(ActionAskPayee().run(dispatcher, tracker_factory(slots={"language": "en"}), {}))
    assert dispatcher.messages[0]["payees"].startswith("张三, 李四")


def test_unknown_payee_is_refused_with_the_saved_list(dispatcher, tracker_factory):
    result = run(ValidateTransferForm().validate_payee("王五", dispatcher, tracker_factory(), {}))
    assert result == {"payee": None}
    assert responses(dispatcher) == ["utter_unknown_payee"]
    assert dispatcher.messages[0]["payee"] == "王五"


def test_amount_over_balance_is_refused_and_asked_again(dispatcher, tracker_factory):
    tracker = tracker_factory(sender="demo-low-balance")
    result = run(ValidateTransferForm().validate_amount("500元", dispatcher, tracker, {}))
    assert result == {"amount": None}
    assert responses(dispatcher) == ["utter_insufficient_funds"]
    assert dispatcher.messages[0]["balance"] == "50.00"


def test_unreadable_amount_is_asked_again(dispatcher, tracker_factory):
    result = run(ValidateTransferForm().validate_amount("一点点", dispatcher, tracker_factory(), {}))
    assert result == {"amount": None} and responses(dispatcher) == ["utter_invalid_amount"]


def test_valid_amount_is_normalised(dispatcher, tracker_factory):
    result = run(ValidateTransferForm().validate_amount(["五百"], dispatcher, tracker_factory(), {}))
    assert result == {"amount": "500.00"} and dispatcher.messages == []


def test_confirmation_parks_the_transfer_and_clears_the_form(dispatcher, tracker_factory):
    tracker = tracker_factory(slots={"payee": "张三", "amount": "500.00"})
    events = run(ActionAskTransferConfirmation().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_confirm_transfer"]
    values = {e["name"]: e["value"] for e in events}
    parked = values.pop("pending_transfer")
    assert values == {"payee": None, "amount": None}
    assert parked["payee"] == "张三" and parked["amount"] == "500.00" and len(parked["key"]) == 32


def test_confirmed_transfer_moves_the_money(dispatcher, tracker_factory):
    tracker = tracker_factory("确认", sender="t1", events=confirmation_events(),
                              slots={"pending_transfer": pending()})
    events = run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_done"]
    assert dispatcher.messages[0]["balance"] == "11,845.67"
    assert store.account("t1").balance == Decimal("11845.67")
    assert events[0]["name"] == "pending_transfer" and events[0]["value"] is None


def test_a_stray_yes_later_never_moves_money(dispatcher, tracker_factory):
    later = confirmation_events()[:2] + [{"event": "user", "text": "查余额"},
                                         {"event": "action", "name": "action_check_balance"},
                                         {"event": "action", "name": "action_listen"},
                                         {"event": "user", "text": "好的"}]
    tracker = tracker_factory("好的", sender="t2", events=later,
                              slots={"pending_transfer": pending()})
    run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_no_pending_transfer"]
    assert store.account("t2").balance == Decimal("12345.67")


def test_transfer_that_no_longer_fits_is_refused_at_execution(dispatcher, tracker_factory):
    tracker = tracker_factory("确认", sender="demo-low-balance", events=confirmation_events(),
                              slots={"pending_transfer": pending("60.00")})
    run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_failed_funds"]
    assert store.account("demo-low-balance").balance == Decimal("50.00")


def test_cancel_clears_everything(dispatcher, tracker_factory):
    events = run(ActionCancelTransfer().run(dispatcher, tracker_factory(), {}))
    assert responses(dispatcher) == ["utter_transfer_cancelled"]
    assert {e["name"] for e in events} == {"payee", "amount", "pending_transfer", "step_up_code"}


def test_a_retried_confirmation_moves_money_once(dispatcher, tracker_factory):
    parked = pending()
    for _ in range(2):  # the Rasa server retried, or the customer said yes again after "busy"
        tracker = tracker_factory("确认", sender="t-retry", events=confirmation_events(),
                                  slots={"pending_transfer": parked})
        run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_done", "utter_transfer_done_earlier"]
    assert store.account("t-retry").balance == Decimal("11845.67")


def test_a_confirmation_the_rasa_server_gave_up_on_is_never_executed(dispatcher, tracker_factory):
    tracker = tracker_factory("确认", sender="t-late", events=confirmation_events(received=time.time() - 30),
                              slots={"pending_transfer": pending()})
    assert run(ActionExecuteTransfer().run(dispatcher, tracker, {})) == []
    assert dispatcher.messages == []  # the Rasa server already answered; this answer would be dropped
    assert store.account("t-late").balance == Decimal("12345.67")


def test_a_late_transfer_is_reported_at_the_next_turn(dispatcher, tracker_factory):
    parked = pending()
    store.transfer("t-told", "张三", Decimal("500.00"), parked["key"])  # done, but never announced
    tracker = tracker_factory("查余额", sender="t-told", slots={"pending_transfer": parked})
    events = run(ActionCheckBalance().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_done_earlier", "utter_balance"]
    assert events == [{"event": "slot", "timestamp": None, "name": "pending_transfer", "value": None}]


def test_a_large_transfer_needs_the_code_pushed_to_the_app(dispatcher, tracker_factory, isolated_state):
    parked = pending("6000.00")
    tracker = tracker_factory("确认", sender="t-big", events=confirmation_events(), slots={"pending_transfer": parked})
    events = run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert events[-1] == FollowupAction("step_up_form") and store.account("t-big").balance == Decimal("12345.67")
    pushed = [json.loads(line) for line in (isolated_state / "demo_outbox.jsonl").read_text().splitlines()]
    assert pushed[-1]["kind"] == "app_push" and pushed[-1]["to"] == "t-big"
    code = re.search(r"(?<!\d)\d{6}(?!\d)", pushed[-1]["text"]).group(0)
    asking = tracker_factory("000000", sender="t-big", events=confirmation_events(),
                             slots={"pending_transfer": parked})
    wrong = "000001" if code == "000000" else "000000"
    assert run(ValidateStepUpForm().validate_step_up_code(wrong, dispatcher, asking, {})) == {"step_up_code": None}
    assert run(ValidateStepUpForm().validate_step_up_code(code, dispatcher, asking, {})) == {
        "step_up_code": "verified"}
    after = tracker_factory(code, sender="t-big", slots={"pending_transfer": parked},
                            events=[{"event": "action", "name": "step_up_form"},
                                    {"event": "user", "text": code, "input_channel": "rest", "timestamp": time.time()}])
    run(ActionExecuteTransfer().run(dispatcher, after, {}))
    assert responses(dispatcher)[-1] == "utter_transfer_done"
    assert store.account("t-big").balance == Decimal("6345.67")


def test_three_wrong_codes_cancel_the_transfer(dispatcher, tracker_factory):
    parked = pending("6000.00")
    tracker = tracker_factory("确认", sender="t-guess", events=confirmation_events(),
                              slots={"pending_transfer": parked})
    run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    results = [run(ValidateStepUpForm().validate_step_up_code(guess, dispatcher, tracker, {}))
               for guess in ("111111", "222222", "333333")]  # one in 10^6 to hit the real one
    assert results[-1] == {"step_up_code": "failed", "pending_transfer": None}
    assert responses(dispatcher)[-1] == "utter_step_up_failed"
    assert store.account("t-guess").balance == Decimal("12345.67")


def test_the_copilot_rehearsal_moves_no_money(dispatcher, tracker_factory):
    events = confirmation_events(channel="copilot", metadata={SHADOW_KEY: "t-shadow"})
    tracker = tracker_factory("确认", sender="copilot:call-1", events=events, slots={"pending_transfer": pending()})
    run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_rehearsal"]
    assert store.account("t-shadow").balance == Decimal("12345.67")


def test_an_unbound_wechat_follower_gets_the_binding_prompt(dispatcher, tracker_factory):
    events = [{"event": "user", "text": "查余额", "input_channel": "wechat", "timestamp": time.time()}]
    run(ActionCheckBalance().run(dispatcher, tracker_factory("查余额", sender="oUNBOUND0000", events=events), {}))
    assert responses(dispatcher) == ["utter_binding_prompt"]


def test_a_bound_wechat_follower_sees_the_bound_customers_balance(dispatcher, tracker_factory):
    bindings.bind("oBOUND00000001", "demo-rich")
    events = [{"event": "user", "text": "查余额", "input_channel": "wechat", "timestamp": time.time()}]
    run(ActionCheckBalance().run(dispatcher, tracker_factory("查余额", sender="oBOUND00000001", events=events), {}))
    assert dispatcher.messages[0]["balance"] == "880,000.00"


def test_without_demo_mode_an_unknown_customer_has_no_account(dispatcher, tracker_factory, monkeypatch):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    events = [{"event": "user", "text": "查余额", "input_channel": "rest", "timestamp": time.time()}]
    run(ActionCheckBalance().run(dispatcher, tracker_factory("查余额", sender="demo-rich", events=events), {}))
    assert responses(dispatcher) == ["utter_no_account"]
