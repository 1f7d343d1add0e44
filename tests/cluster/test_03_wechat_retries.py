"""WeChat retries of one message landing on the other replica join the first turn: one dialogue
turn in the tracker, the answer delivered once; and one access_token serves both replicas."""

from __future__ import annotations

import itertools
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.cluster.conftest import assert_whole_turns, events, wechat_caller

MSG_IDS = itertools.count(int(time.time() * 1000))


def _user_texts(tracker_db, openid: str) -> list[str]:
    return [e["text"] for e in events(tracker_db, openid) if e["event"] == "user"]


def _delivered(replies, wechat_api, openid: str) -> list[str]:
    """What the follower got: the passive reply (WeChat shows one of identical ones) and the
    customer-service messages."""
    passive = {r.content for r in replies if r.msg_type == "text"}
    assert len(passive) <= 1, f"different passive replies to one message: {passive}"
    return sorted(passive) + wechat_api.messages_to(openid)


def test_a_retry_sent_at_once_to_the_other_replica_joins_the_turn(cluster, tracker_db, wechat_api):
    openid = f"o-cluster-{uuid.uuid4().hex[:12]}"
    xml = wechat_caller(cluster.rasa_url).text_xml(openid, "/greet", next(MSG_IDS))
    callers = [wechat_caller(cluster.replica_url(1)), wechat_caller(cluster.replica_url(2))]
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda caller: caller.post(xml), callers))
    assert [r.status for r in replies] == [200, 200]
    time.sleep(1)  # an asynchronous answer would be on its way now
    assert _user_texts(tracker_db, openid) == ["/greet"]
    assert len(assert_whole_turns(events(tracker_db, openid))) == 1
    delivered = _delivered(replies, wechat_api, openid)
    assert len(delivered) == 1 and delivered[0].strip(), delivered


def test_a_later_retry_on_the_other_replica_gets_the_same_answer(cluster, tracker_db, wechat_api):
    openid = f"o-cluster-{uuid.uuid4().hex[:12]}"
    xml = wechat_caller(cluster.rasa_url).text_xml(openid, "/greet", next(MSG_IDS))
    first = wechat_caller(cluster.replica_url(2)).post(xml)
    retry = wechat_caller(cluster.replica_url(1)).post(xml)
    again = wechat_caller(cluster.rasa_url).post(xml)
    assert first.status == retry.status == again.status == 200
    assert (first.msg_type, first.content) == (retry.msg_type, retry.content) == (again.msg_type, again.content)
    assert _user_texts(tracker_db, openid) == ["/greet"]
    assert len(_delivered([first, retry, again], wechat_api, openid)) == 1


def test_handoffs_on_both_replicas_share_one_access_token(cluster, tracker_db, wechat_api):
    """A handoff answers with transfer_customer_service and sends its text through the
    customer-service API: both replicas send, and WeChat's token is fetched once for both."""
    openids = [f"o-cluster-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    replies = [wechat_caller(cluster.replica_url(n + 1)).post(
        wechat_caller(cluster.rasa_url).text_xml(openid, "/request_human", next(MSG_IDS)))
        for n, openid in enumerate(openids)]
    assert [r.msg_type for r in replies] == ["transfer_customer_service"] * 2
    for openid in openids:
        assert len(wechat_api.wait_for(openid, 1, timeout=20)) >= 1
        assert _user_texts(tracker_db, openid) == ["/request_human"]
    assert wechat_api.token_fetches == 1
