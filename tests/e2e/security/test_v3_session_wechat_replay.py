"""V3 Session management, WeChat (issue 23): a callback is taken once and only while fresh, and
a message's turn belongs to the follower who sent it. Every attack goes through the real servers
(tests/e2e/conftest.py) with the fake WeChat caller in secure mode."""

from __future__ import annotations

import itertools
import time
import uuid

from bot.accounts import store
from bot.identity import bindings
from tests.e2e.conftest import said
from tests.e2e.security.test_v2_authentication_wechat import anonymous_openid, refusals
from tests.e2e.test_wechat import user_texts

_msg_ids = itertools.count(int(time.time() * 1000) + 9_000_000)


def bound_follower() -> tuple[str, str]:
    """(OpenID, customer) of a follower bound to a demo customer of its own (12,345.67 CNY)."""
    openid, customer = anonymous_openid(), f"demo-wx-{uuid.uuid4().hex[:12]}"
    bindings.bind(openid, customer)
    return openid, customer


def test_callbacks_stamped_outside_the_window_are_refused(servers, wechat):
    """A genuine, correctly signed and encrypted callback whose timestamp is 606 s old (as the
    tester's capture was when replayed), or as far ahead, is refused and runs nothing."""
    victim, customer = bound_follower()
    balance = store.account(customer).balance
    before = refusals(servers, "stale")
    for offset in (-606, +606):
        query = wechat.signed_query(timestamp=str(int(time.time()) + offset))
        for text in ("查余额", "给张三转账100元"):
            reply = wechat.post(wechat.text_xml(victim, text, next(_msg_ids)), encrypt=True, query=query)
            assert reply.status == 403 and "12,345.67" not in reply.body, (offset, reply.body)
    assert user_texts(servers, victim) == []
    assert store.account(customer).balance == balance
    assert refusals(servers, "stale") >= before + 4
    fresh = wechat.post(wechat.text_xml(victim, "查余额", next(_msg_ids)), encrypt=True)
    assert fresh.status == 200 and "12,345.67" in fresh.content


def test_a_replayed_genuine_callback_is_refused_and_runs_nothing_twice(servers, wechat):
    """The follower confirms a transfer; the very same deliveries (query string and encrypted
    body), posted again within the window, are refused: no second turn, no second transfer."""
    victim, customer = bound_follower()
    start = store.account(customer).balance
    ask = wechat.post(wechat.text_xml(victim, "给张三转账100元", next(_msg_ids)), encrypt=True)
    assert "1. 确认" in ask.content, ask.content
    confirm = wechat.post(wechat.text_xml(victim, "1", next(_msg_ids)), encrypt=True)
    assert confirm.status == 200 and store.account(customer).balance == start - 100, confirm.content
    turns = user_texts(servers, victim)
    before = refusals(servers, "replay")

    for delivery in (confirm, ask, confirm):
        again = wechat.replay(delivery)
        assert again.status == 403, again.body
    assert user_texts(servers, victim) == turns
    assert store.account(customer).balance == start - 100
    assert refusals(servers, "replay") >= before + 3


def test_another_follower_sending_the_victims_msgid_gets_its_own_answer(servers, wechat):
    """De-duplication is per follower: the attacker's callback carrying the victim's fresh MsgId
    starts the attacker's own turn (an unbound follower: the binding prompt), never the victim's."""
    victim, _ = bound_follower()
    attacker = anonymous_openid()
    msg_id = next(_msg_ids)
    mine = wechat.post(wechat.text_xml(victim, "查余额", msg_id))
    assert "12,345.67" in mine.content
    theirs = wechat.post(wechat.text_xml(attacker, "查余额", msg_id))
    assert theirs.status == 200 and theirs.fields["ToUserName"] == attacker
    assert "12,345.67" not in theirs.body + theirs.content
    assert said([theirs.content], "utter_binding_prompt", "zh"), theirs.content
    assert user_texts(servers, attacker) == ["查余额"]
