"""The WeChat connector through the real Rasa server and action server, with WeChat's side faked
by tests/fakes/wechat.py: signed and encrypted callbacks (the servers run in secure mode, so the
caller encrypts unless told not to), retries, slow answers delivered by the customer-service API,
and every kind of bad callback. The attacks on secure mode, replays and binding are in
tests/e2e/security/test_v2_authentication_wechat.py and test_v3_session_wechat_replay.py."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bot.compliance import audit
from bot.identity import bindings
from tests.e2e.conftest import said
from tests.fakes.wechat import sha1_signature

_msg_ids = itertools.count(int(time.time() * 1000))


def anonymous_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]  # the shape of a real OpenID: 28 characters


def new_openid() -> str:
    """A follower already bound to a demo customer of its own, written straight into the
    servers' binding store: these tests are about the connector; the binding flow itself is
    tested through the servers in tests/e2e/test_production_mode.py and below."""
    openid = anonymous_openid()
    bindings.bind(openid, f"demo-wx-{openid[1:13]}")
    return openid


def user_texts(servers, openid: str) -> list[str]:
    """What the Rasa tracker recorded as this follower's messages."""
    tracker = requests.get(f"{servers.rasa_url}/conversations/{openid}/tracker",
                           headers={"Authorization": f"Bearer {servers.token}"}, timeout=10).json()
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


def test_url_verification_echoes_only_for_a_valid_signature(wechat):
    query = {**wechat.signed_query(), "echostr": "4815162342"}
    assert requests.get(wechat.url, params=query, timeout=10).text == "4815162342"
    forged = {**query, "signature": "0" * 40}
    reply = requests.get(wechat.url, params=forged, timeout=10)
    assert reply.status_code == 403 and "4815162342" not in reply.text


def test_text_answered_passively_with_openid_as_conversation(servers, wechat):
    openid = new_openid()
    reply = wechat.post(wechat.text_xml(openid, "查余额", next(_msg_ids)), encrypt=True)
    assert reply.status == 200
    assert reply.msg_type == "text"
    assert reply.fields["ToUserName"] == openid and reply.fields["FromUserName"] == wechat.account
    assert "12,345.67" in reply.content
    assert "<Encrypt>" in reply.body and "12,345.67" not in reply.body  # the reply went back encrypted
    assert user_texts(servers, openid) == ["查余额"]


def test_followers_never_share_a_conversation(wechat):
    people = [(new_openid(), "hello" if i % 2 else "你好") for i in range(10)]
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda p: wechat.post(wechat.text_xml(p[0], p[1], next(_msg_ids))), people))
    for (openid, said_text), reply in zip(people, replies, strict=True):
        assert reply.fields["ToUserName"] == openid
        assert said([reply.content], "utter_greet", "en" if said_text == "hello" else "zh"), reply.content


def test_forged_callbacks_are_refused_and_never_reach_the_dialogue(servers, wechat):
    openid = new_openid()
    xml = wechat.text_xml(openid, "查余额", next(_msg_ids))
    forged = {**wechat.signed_query(), "signature": sha1_signature("wrong-token", "1", "2")}
    assert wechat.post(xml, query=forged).status == 403
    assert requests.post(wechat.url, data=xml.encode(), timeout=10).status_code == 403  # no signature at all
    # secure mode: a valid query signature but a msg_signature over a different envelope
    query = wechat.signed_query()
    query.update(encrypt_type="aes", msg_signature="f" * 40)
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{'A' * 64}]]></Encrypt></xml>"
    assert requests.post(wechat.url, params=query, data=body.encode(), timeout=10).status_code == 403
    assert user_texts(servers, openid) == []


def test_retries_of_one_message_run_the_dialogue_once(servers, wechat):
    openid = new_openid()
    xml = wechat.text_xml(openid, "我要转账", next(_msg_ids))
    first = wechat.post(xml)
    with ThreadPoolExecutor(3) as pool:  # WeChat's three retries, here all at once
        retries = list(pool.map(lambda _: wechat.post(xml), range(3)))
    assert all(r.status == 200 and r.content == first.content for r in retries)
    assert said([first.content], "utter_ask_payee", "zh")
    assert user_texts(servers, openid) == ["我要转账"]


@contextlib.contextmanager
def actions_paused(servers, seconds: float = 6.0):
    """The action server stopped (SIGSTOP) and resumed after ``seconds`` — longer than WeChat
    waits — whatever the block does."""
    group = os.getpgid(servers.processes["actions"].pid)
    os.killpg(group, signal.SIGSTOP)
    resume = threading.Timer(seconds, os.killpg, (group, signal.SIGCONT))
    resume.start()
    try:
        yield
    finally:
        resume.join()
        os.killpg(group, signal.SIGCONT)


def test_an_identical_retry_joins_while_in_flight_and_is_refused_once_answered(servers, wechat, wechat_api):
    """WeChat may re-send a delivery it got no answer to byte for byte (the same timestamp and
    nonce). With the action server paused, the first delivery is still in flight when its copy
    arrives: the copy joins the turn (one turn, one answer by the API). Once the delivery was
    answered, the same copy is refused (bot/channels/wechat_replay.py says why)."""
    openid = new_openid()
    xml = wechat.text_xml(openid, "查余额", next(_msg_ids))
    with actions_paused(servers):
        query = wechat.signed_query()
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(wechat.post, xml, True, query)
            time.sleep(1.0)  # the first delivery is waiting for the (paused) dialogue now
            retry = wechat.post(xml, encrypt=True, query=query)
            first = first.result()
    assert (first.status, first.body) == (200, "success") and (retry.status, retry.body) == (200, "success")
    assert wechat.replay(first).status == 403
    delivered = wechat_api.wait_for(openid, 1, timeout=30)
    assert len(delivered) == 1 and "12,345.67" in delivered[0]
    assert user_texts(servers, openid) == ["查余额"]


def test_slow_answer_says_success_then_arrives_by_customer_service_api(servers, wechat, wechat_api):
    """The action server is paused for 6 s (longer than WeChat waits): the connector answers
    `success` within its 4.5 s, a retry neither waits nor runs the dialogue again, and the
    answer arrives once through the customer-service API."""
    openid = new_openid()
    xml = wechat.text_xml(openid, "查余额", next(_msg_ids))
    with actions_paused(servers):
        first = wechat.post(xml)
        assert first.status == 200 and first.body == "success"
        assert 4.0 < first.seconds < 5.0, first.seconds
        retry = wechat.post(xml)
        assert retry.body == "success" and retry.seconds < 1.0
    delivered = wechat_api.wait_for(openid, 1, timeout=30)
    assert len(delivered) == 1 and "12,345.67" in delivered[0]
    time.sleep(1)
    assert len(wechat_api.messages_to(openid)) == 1
    assert user_texts(servers, openid) == ["查余额"]


def test_handoff_transfers_to_customer_service_and_survives_an_expired_token(wechat, wechat_api):
    openid = new_openid()
    fetches = wechat_api.token_fetches
    with wechat_api.lock:
        wechat_api.failures.append(40001)  # WeChat says the shared access_token is no longer valid
    reply = wechat.post(wechat.text_xml(openid, "我要转人工", next(_msg_ids)), encrypt=True)
    assert reply.msg_type == "transfer_customer_service"
    assert reply.fields["ToUserName"] == openid
    delivered = wechat_api.wait_for(openid, 1)
    assert said(delivered, "utter_handoff", "zh"), delivered
    assert wechat_api.token_fetches >= fetches + 1


def test_quick_replies_become_numbered_choices(wechat):
    openid = new_openid()
    confirm = wechat.post(wechat.text_xml(openid, "给张三转账100元", next(_msg_ids))).content
    assert "1. 确认" in confirm and "2. 取消" in confirm, confirm
    cancelled = wechat.post(wechat.text_xml(openid, "２", next(_msg_ids))).content  # a full-width digit
    assert said([cancelled], "utter_transfer_cancelled", "zh"), cancelled


def test_events_and_non_text_messages_get_polite_answers(wechat):
    openid = new_openid()
    welcome = wechat.post(wechat.event_xml(openid, "subscribe"))
    assert said([welcome.content], "utter_greet", "zh")
    menu = wechat.post(wechat.event_xml(openid, "CLICK", "ANXIN_BALANCE", create_time=int(time.time()) + 1))
    assert "12,345.67" in menu.content
    unknown = wechat.post(wechat.event_xml(openid, "CLICK", "NO_SUCH_KEY", create_time=int(time.time()) + 2))
    assert "菜单" in unknown.content
    for kind in ("image", "location", "video", "file"):
        answer = wechat.post(wechat.media_xml(openid, kind, next(_msg_ids)))
        assert answer.status == 200 and "文字" in answer.content, (kind, answer.body)
    gone = wechat.post(wechat.event_xml(openid, "unsubscribe", create_time=int(time.time()) + 3))
    assert gone.status == 200 and gone.body == "success"


def test_empty_and_overlong_messages_get_polite_answers(wechat):
    openid = new_openid()
    empty = wechat.post(wechat.text_xml(openid, "   ", next(_msg_ids)))
    assert said([empty.content], "utter_empty_message", "zh"), empty.content
    long = wechat.post(wechat.text_xml(openid, "余额" * 3000, next(_msg_ids)))
    assert long.status == 200 and "有点长" in long.content, long.content


@pytest.mark.parametrize("body, status", [
    (b"<xml><ToUserName>gh</ToUserName><Content>unclosed", 400),
    (b"\xff\xfe\x00binary\x00", 400),
    (b"", 400),
    (b'{"json": "is not xml"}', 400),
    (b"<xml><Content>no sender</Content></xml>", 400),
    (b"<xml>" + b"x" * (70 * 1024) + b"</xml>", 413),
], ids=["unclosed", "binary", "empty", "json", "no-sender", "oversize"])
def test_malformed_callbacks_get_a_clear_error(wechat, body, status):
    try:  # inside a genuine secure-mode envelope, as a broken WeChat would send it
        reply = wechat.post(body.decode("utf-8"))
    except UnicodeDecodeError:  # not even text: posted as the envelope itself
        reply = wechat.post(body, encrypt=False, query={**wechat.signed_query(), "encrypt_type": "aes",
                                                        "msg_signature": "0" * 40})
    assert reply.status == status, reply.body
    assert wechat.post(wechat.text_xml(new_openid(), "你好", next(_msg_ids))).status == 200  # still serving


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "secure"])
def test_entity_expansion_and_xxe_are_rejected_without_reading_files(wechat, encrypt, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-XXE-CANARY", encoding="utf-8")
    openid = new_openid()
    xxe = (f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY leak SYSTEM "file://{secret}">]>'
           f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime>"
           f"<MsgType>text</MsgType><Content>&leak;</Content><MsgId>{next(_msg_ids)}</MsgId></xml>")
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY l0 "lol">{lol}]>'
            f"<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>1</CreateTime>"
            f"<MsgType>text</MsgType><Content>&l9;</Content><MsgId>{next(_msg_ids)}</MsgId></xml>")
    for payload in (xxe, bomb):
        reply = wechat.post(payload, encrypt=encrypt)
        assert reply.status == 400 and "CANARY" not in reply.body and "lollol" not in reply.body


def test_an_answer_wechat_refuses_is_kept_not_lost(servers, wechat, wechat_api):
    openid = new_openid()
    with wechat_api.lock:
        wechat_api.failures.append(45015)  # the 48-hour window has closed
    assert wechat.post(wechat.text_xml(openid, "人工客服", next(_msg_ids))).msg_type == "transfer_customer_service"
    undelivered = Path(os.environ["ANXIN_STATE_DIR"]) / "wechat_undelivered.jsonl"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and openid not in (undelivered.read_text("utf-8")
                                                         if undelivered.exists() else ""):
        time.sleep(0.2)
    kept = [json.loads(line) for line in undelivered.read_text("utf-8").splitlines()]
    mine = [k for k in kept if k["openid"] == openid]
    assert mine and "45015" in mine[0]["reason"] and said(mine[0]["parts"], "utter_handoff", "zh")


def _say(wechat, openid: str, text: str) -> str:
    return wechat.post(wechat.text_xml(openid, text, next(_msg_ids))).content


def test_an_unbound_follower_gets_public_help_and_the_binding_prompt_for_anything_personal(wechat):
    openid = anonymous_openid()
    for personal in ("查余额", "我要转账", "有什么理财产品推荐", "我想做风险测评"):
        answer = _say(wechat, openid, personal)
        assert said([answer], "utter_binding_prompt", "zh"), (personal, answer)
        assert "12,345.67" not in answer
    public = _say(wechat, openid, "有人自称公安让我把钱转到安全账户")
    assert not said([public], "utter_binding_prompt", "zh") and "安全账户" in public


def test_binding_by_a_code_texted_to_the_registered_phone_then_unbinding(servers, wechat, gateways):
    openid = anonymous_openid()
    assert "手机号码" in _say(wechat, openid, "绑定")
    earlier = gateways.sent("sms", "13800000001")
    assert "验证码" in _say(wechat, openid, "138 0000 0001")  # demo-rich's registered mobile
    code = gateways.last_code("sms", "13800000001", after=earlier)  # texted in the background
    assert code is not None
    wrong = "000000" if code != "000000" else "111111"
    assert "还可以再试 2 次" in _say(wechat, openid, wrong)
    assert "绑定成功" in _say(wechat, openid, code)
    assert "880,000.00" in _say(wechat, openid, "查余额")
    kinds = [e.kind for e in audit.history("demo-rich")]
    assert "binding" in kinds and openid not in json.dumps([e.detail for e in audit.history("demo-rich")])
    assert "已解除绑定" in _say(wechat, openid, "解绑")
    assert said([_say(wechat, openid, "查余额")], "utter_binding_prompt", "zh")
    assert "unbinding" in [e.kind for e in audit.history("demo-rich")]


def test_an_unregistered_phone_gets_the_same_answers_and_no_code(wechat, gateways):
    openid = anonymous_openid()
    _say(wechat, openid, "bind")
    sent_before = len(gateways.messages)
    answer = _say(wechat, openid, "13912345678")
    assert "验证码" in answer and len(gateways.messages) == sent_before
    assert "还可以再试 2 次" in _say(wechat, openid, "123456")  # as for a registered number; sent to nobody
    assert bindings.customer_for(openid) is None


def test_the_risk_warning_is_its_own_message_before_any_product(wechat, wechat_api):
    openid = anonymous_openid()
    bindings.bind(openid, "demo-c3")  # a C3 customer with a valid assessment (demo)
    reply = wechat.post(wechat.text_xml(openid, "有什么理财产品推荐", next(_msg_ids)))
    # The passive reply is the warning alone; the products follow by the customer-service API.
    assert reply.content.startswith("【风险提示】") and "风险等级 R" not in reply.content, reply.content
    followed = wechat_api.wait_for(openid, 1, timeout=30)
    assert followed and "风险等级 R" in followed[0], followed
