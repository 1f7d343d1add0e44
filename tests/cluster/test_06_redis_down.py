"""Redis down: customers get a clear "please retry" (REST) or the polite busy text (WeChat), no
server exits, and turns work again as soon as Redis is back. Runs last (after the replica kill:
one Rasa replica left)."""

from __future__ import annotations

import itertools
import time
import uuid

from tests.cluster.conftest import Customer, events, probes, wechat_caller

MSG_IDS = itertools.count(int(time.time() * 1000) + 10_000_000)


def test_redis_down_is_answered_politely_and_recovered_from(cluster, tracker_db):
    customer = Customer()
    openid = f"o-cluster-{uuid.uuid4().hex[:12]}"
    alive = dict(cluster.processes)
    cluster.redis.stop()
    try:
        refused = customer.post(cluster.rasa_url, "/check_balance", "r0")
        assert refused.status_code == 503 and "retry" in refused.json()["error"]
        busy = wechat_caller(cluster.rasa_url).post(
            wechat_caller(cluster.rasa_url).text_xml(openid, "/greet", next(MSG_IDS)))
        assert busy.status == 200 and busy.msg_type == "text" and "稍后再试" in busy.content
        assert all(process.poll() is None for process in alive.values())
    finally:
        cluster.redis.start()
    answered = customer.post(cluster.rasa_url, "/check_balance", "r1")
    assert answered.status_code == 200 and "12,345.67" in answered.json()[0]["text"]
    assert probes(events(tracker_db, customer.id)) == ["r1"]  # the refused message never reached the dialogue
    again = wechat_caller(cluster.rasa_url).post(
        wechat_caller(cluster.rasa_url).text_xml(openid, "/greet", next(MSG_IDS)))
    assert again.status == 200 and [e["text"] for e in events(tracker_db, openid) if e["event"] == "user"] == ["/greet"]
