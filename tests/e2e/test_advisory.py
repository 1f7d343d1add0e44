"""Advisory that knows the customer, through the real servers, in both languages: holdings, a
worry answered from the holding concerned, an advisor booking the copilot sees, needs-based
suggestions, and the allocation report behind its signed link (rendered in a browser by
tests/e2e/test_browser.py). Button payloads (/ask_holdings ...) are used where the test is about
the answer, not about the NLU."""

from __future__ import annotations

import re

import requests

from bot.advisory import bookings, review_flags
from bot.compliance import audit, rulebook
from tests.e2e import staff

INSTRUCTIONS = re.compile(r"建议(您)?(买入|卖出|持有|赎回)|(应该|赶紧)(买|卖|赎回|持有)|\b(you should|we recommend) "
                          r"(buy|sell|hold|redeem)|will (rise|recover|rebound)|会(涨|反弹|回升)", re.I)


def test_holdings_summary_in_both_languages_warning_first(chat_as):
    for language, ask, words in (("zh", "/ask_holdings", ("市值", "合计")), ("en", "how are my investments doing?",
                                                                           ("worth", "In total"))):
        texts = chat_as("demo-c4").texts(ask)  # the reply's language follows the message
        warning = rulebook.current().mandatory_warning[language]
        assert warning in texts, texts
        summary = texts[texts.index(warning) + 1]
        assert all(word in summary for word in words), summary
        assert not INSTRUCTIONS.search("\n".join(texts))


def test_a_holding_above_the_level_is_flagged_for_review_and_the_copilot_shows_it(chat_as, servers):
    texts = chat_as("demo-c2").texts("/ask_holdings")
    assert any("高于您目前的风险承受等级" in t for t in texts), texts
    assert review_flags.open_review_flags("demo-c2")
    assert "holding_review" in [e.kind for e in audit.history("demo-c2")]
    agent = staff.demo(servers)
    agent.handle("demo-c2")  # an agent sees the customer whose handoff they took
    view = agent.get("/api/customers/demo-c2/advisory").json()
    assert view["review_flags"] and any(h["within_level"] is False for h in view["holdings"])
    assert requests.get(f"{servers.copilot_url}/api/customers/demo-c2/advisory", timeout=30).status_code == 401


def test_a_worry_about_a_loss_gets_the_facts_of_the_holding_then_a_booking_the_copilot_sees(chat_as, servers):
    chat = chat_as("demo-c4")
    replies = chat.say("我的基金跌了20%，怎么办")
    texts = [m.get("text", "") for m in replies]
    facts = "\n".join(texts)
    assert rulebook.current().mandatory_warning["zh"] in texts
    assert "最高净值" in facts and "赎回" in facts, facts
    assert not INSTRUCTIONS.search(facts)
    assert any(b.get("payload") == "/book_advisor" for m in replies for b in m.get("buttons") or [])
    before = len(bookings.open_bookings("demo-c4"))
    confirmed = chat.texts("/book_advisor")
    assert any("预约" in t for t in confirmed)
    assert len(bookings.open_bookings("demo-c4")) == before + 1
    agent = staff.demo(servers)
    agent.handle("demo-c4")
    view = agent.get("/api/customers/demo-c4/advisory").json()
    assert len(view["bookings"]) == before + 1 and view["holdings"]


def test_a_general_request_gets_at_most_three_products_each_with_its_reason(chat_as):
    replies = chat_as("demo-c3").texts("/product_inquiry")  # a calm conversation: demo-c4 worried above
    warning = rulebook.current().mandatory_warning["zh"]
    assert warning in replies[0]
    reasons = [t for t in replies if t.startswith("为什么适合您")]
    assert 1 <= len(reasons) <= 3, replies


def test_the_report_link_opens_the_report_and_its_pdf_and_a_forged_one_does_not(chat_as):
    [message] = [t for t in chat_as("demo-c4").texts("/ask_allocation_report") if "/webhooks/rest/report/" in t]
    link = re.search(r"(http://[^\s]+/webhooks/rest/report/[A-Za-z0-9_.\-]+)", message).group(1)
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and rulebook.current().mandatory_warning["zh"] in page.text
    assert page.headers["Cache-Control"] == "no-store" and "<svg" in page.text
    pdf = requests.get(f"{link}/pdf", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    forged = link[:-1] + ("0" if link[-1] != "0" else "1")
    refused = requests.get(forged, timeout=30)
    assert refused.status_code == 403 and rulebook.current().mandatory_warning["zh"] not in refused.text
