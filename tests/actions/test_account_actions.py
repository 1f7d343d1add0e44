import asyncio
from decimal import Decimal

from actions.accounts import (
    ActionAskPayee,
    ActionAskTransferConfirmation,
    ActionCancelTransfer,
    ActionCheckBalance,
    ActionExecuteTransfer,
    ValidateTransferForm,
)
from actions.sense import ActionSenseMessage
from bot.accounts import store


def run(coro):
    return asyncio.run(coro)


def responses(dispatcher):
    return [m["response"] for m in dispatcher.messages]


def confirmation_events():
    """The conversation right after the bot asked for confirmation and the customer answered."""
    return [{"event": "action", "name": "action_ask_transfer_confirmation"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "确认"},
            {"event": "action", "name": "action_extract_slots"}]


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
    assert {e["name"]: e["value"] for e in events} == {
        "payee": None, "amount": None, "pending_transfer": {"payee": "张三", "amount": "500.00"}}


def test_confirmed_transfer_moves_the_money(dispatcher, tracker_factory):
    tracker = tracker_factory("确认", sender="t1", events=confirmation_events(),
                              slots={"pending_transfer": {"payee": "张三", "amount": "500.00"}})
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
                              slots={"pending_transfer": {"payee": "张三", "amount": "500.00"}})
    run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_no_pending_transfer"]
    assert store.account("t2").balance == Decimal("12345.67")


def test_transfer_that_no_longer_fits_is_refused_at_execution(dispatcher, tracker_factory):
    tracker = tracker_factory("确认", sender="demo-low-balance", events=confirmation_events(),
                              slots={"pending_transfer": {"payee": "张三", "amount": "60.00"}})
    run(ActionExecuteTransfer().run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_transfer_failed_funds"]
    assert store.account("demo-low-balance").balance == Decimal("50.00")


def test_cancel_clears_everything(dispatcher, tracker_factory):
    events = run(ActionCancelTransfer().run(dispatcher, tracker_factory(), {}))
    assert responses(dispatcher) == ["utter_transfer_cancelled"]
    assert {e["name"] for e in events} == {"payee", "amount", "pending_transfer"}
