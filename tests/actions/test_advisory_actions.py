"""The advisory actions: holdings, a worry grounded in them, advisor bookings, the report, and
needs-based suggestions (the library's own tests are tests/unit/test_advisory_*)."""

import asyncio
import re

from actions.advisory import ActionAllocationReport, ActionBookAdvisor, ActionHoldingsSummary
from actions.emotion import ActionMarketFacts
from actions.products import ActionSuggestProducts
from bot.advisory import bookings, report_links, review_flags, suggestions
from bot.compliance import audit, catalogue, guard, risk_profile, rulebook, suitability
from tests.actions.conftest import records_asked

INSTRUCTIONS = re.compile(r"建议(您)?(买入|卖出|持有|赎回)|(应该|赶紧)(买|卖|赎回|持有)|\b(you should|we recommend) "
                          r"(buy|sell|hold|redeem)|will (rise|recover|rebound)|会(涨|反弹|回升)", re.I)


def run(action, dispatcher, tracker):
    asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages


def texts(messages):
    return [m.get("text") or "" for m in messages]


def test_holdings_summary_states_value_gain_and_level_after_the_warning(dispatcher, tracker_factory):
    messages = run(ActionHoldingsSummary(), dispatcher, tracker_factory("我的投资怎么样了", sender="demo-c4"))
    said = texts(messages)
    assert said[0] == rulebook.current().mandatory_warning["zh"]
    assert "市值" in said[1] and "合计" in said[1] and "C4" in said[1]
    assert messages[-1]["response"] == "utter_offer_report"
    [(_, request)] = records_asked(dispatcher)
    assert request["kind"] == "warning" and request["detail"] == "holdings" and request["products"]
    for index, text in enumerate(said[:2]):
        assert guard.check_message(text, said[:index]) == [], text


def test_a_holding_above_the_level_is_stated_flagged_and_audited_once(dispatcher, tracker_factory):
    run(ActionHoldingsSummary(), dispatcher, tracker_factory("看看我的持仓", sender="demo-c2"))
    summary = texts(dispatcher.messages)[1]
    assert "高于您目前的风险承受等级" in summary and not INSTRUCTIONS.search(summary)
    [flag] = review_flags.open_review_flags("demo-c2")
    assert [e.kind for e in audit.history("demo-c2")] == ["holding_review"]
    run(ActionHoldingsSummary(), dispatcher, tracker_factory("看看我的持仓", sender="demo-c2"))
    assert [e.kind for e in audit.history("demo-c2")] == ["holding_review"]  # once per flag
    assert audit.history("demo-c2")[0].products == [{"id": flag.product_id, "risk": flag.product_risk}]


def test_nobody_unidentified_gets_holdings(dispatcher, tracker_factory, monkeypatch):
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    messages = run(ActionHoldingsSummary(), dispatcher, tracker_factory("my investments", sender="someone"))
    assert [m["response"] for m in messages] == ["utter_sign_in_needed"]


def test_a_worry_about_a_loss_is_answered_from_the_holding_concerned(dispatcher, tracker_factory):
    tracker = tracker_factory("我的基金跌了20%，好慌", sender="demo-c4", intent="market_worry",
                              slots={"emotion": "anxious", "care_mode": "support"})
    messages = run(ActionMarketFacts(), dispatcher, tracker)
    said = [t for t in texts(messages) if t]
    assert rulebook.current().mandatory_warning["zh"] in said
    facts = "\n".join(said)
    for fact in ("最高净值", "风险等级", "赎回", "计划投资的时间"):  # drawdown, level, cost of redeeming, horizon
        assert fact in facts, fact
    assert not INSTRUCTIONS.search(facts)
    assert messages[-1]["response"] == "utter_offer_advisor"
    assert not any(m.get("response") == "utter_product_line" for m in messages)
    assert [r["kind"] for _, r in records_asked(dispatcher)] == ["warning"]


def test_a_worry_from_someone_who_holds_nothing_gets_the_general_facts(dispatcher, tracker_factory):
    messages = run(ActionMarketFacts(), dispatcher, tracker_factory("基金跌了怎么办", sender="holds-nothing",
                                                                   intent="market_worry"))
    assert [m.get("response") for m in messages][-3:] == ["utter_kb_answer", "utter_market_own_choice",
                                                         "utter_offer_person"]


def test_an_advisor_booking_is_stored_and_confirmed(dispatcher, tracker_factory):
    run(ActionBookAdvisor(), dispatcher, tracker_factory("预约理财顾问", sender="demo-c4"))
    [booking] = bookings.open_bookings("demo-c4")
    assert booking in bookings.open_bookings()  # the copilot's list
    assert "预约" in texts(dispatcher.messages)[0]


def test_the_report_link_opens_the_stored_report_and_a_changed_link_does_not(dispatcher, tracker_factory):
    run(ActionAllocationReport(), dispatcher, tracker_factory("给我一份资产配置报告", sender="demo-c4"))
    [message] = dispatcher.messages
    assert message["response"] == "utter_report_link" and message["pdf_link"] == message["link"] + "/pdf"
    token = message["link"].rsplit("/", 1)[1]
    report = report_links.open_report(token)
    assert report.customer_id == "demo-c4" and report.pdf.startswith(b"%PDF")
    assert rulebook.current().mandatory_warning["zh"] in report.html
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    try:
        report_links.open_report(forged)
        raise AssertionError("a changed link opened a report")
    except report_links.ReportLinkError as refused:
        assert refused.reason == "forged"


def test_a_general_request_gets_at_most_three_products_that_fit_level_and_needs(dispatcher, tracker_factory):
    messages = run(ActionSuggestProducts(), dispatcher, tracker_factory("有什么理财产品推荐", sender="demo-c4"))
    lines = [m for m in messages if m.get("response") == "utter_product_line"]
    fits = [m for m in messages if m.get("response") == "utter_product_fit"]
    assert messages[0]["response"] == "utter_risk_warning" and 1 <= len(lines) <= 3 and len(fits) == len(lines)
    profile = risk_profile.current("demo-c4")
    chosen = suggestions.suggest_for("demo-c4", suggestions_funds("demo-c4"), "zh")
    assert [line["name"] for line in lines] == [s.product.name["zh"] for s in chosen.shown]
    names = {p.name["zh"]: p for p in catalogue.products()}
    assert all(suitability.within_level(names[line["name"]], profile) for line in lines)
    hidden = {p.name["zh"] for p, _ in chosen.level_only}
    assert hidden and not hidden & {line["name"] for line in lines}  # level-only products are not shown
    [suggestion] = [r for _, r in records_asked(dispatcher) if r["kind"] == "suggestion"]
    assert {p["id"] for p in suggestion["products"]} == {names[line["name"]].id for line in lines}


def suggestions_funds(customer):
    from bot.accounts import store

    return store.account(customer).balance


def test_an_assessment_without_needs_gets_the_level_list_and_says_so(dispatcher, tracker_factory):
    risk_profile.save("no-answers", "C3")
    messages = run(ActionSuggestProducts(), dispatcher, tracker_factory("推荐点理财", sender="no-answers"))
    responses = [m.get("response") for m in messages]
    assert "utter_needs_not_on_file" in responses and "utter_product_fit" not in responses
    assert responses.count("utter_product_line") >= 1
