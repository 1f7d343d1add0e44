"""The WeChat connector's parts, in the Rasa environment where it runs: reading and checking
callbacks, secure mode, reply size, numbered choices, the shared access_token and the sender.
WeChat's side is tests/fakes/wechat.py, written from the protocol rather than from wechatpy."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET

import pytest

from bot.channels import wechat_protocol as protocol
from bot.channels.wechat import Turn, TurnMemory, merge_messages
from bot.channels.wechat_api import AccessTokenHolder, CustomerServiceSender
from tests.fakes.wechat import FakeWeChatApi, WeChatCaller, aes_decrypt, aes_encrypt, new_aes_key, sha1_signature

TOKEN, APP_ID = "unit-token", "wx00000000000000aa"
AES_KEY = new_aes_key()
CREDS = protocol.Credentials(TOKEN, APP_ID, "secret", AES_KEY)
PLAIN = protocol.Credentials(TOKEN, APP_ID, "secret")  # an account in plain mode (no EncodingAESKey)


def signed(**extra: str) -> dict[str, str]:
    return {"signature": sha1_signature(TOKEN, "1700000000", "n1"), "timestamp": "1700000000", "nonce": "n1",
            **extra}


def test_url_verification_needs_the_token_signature():
    assert protocol.verify_url(CREDS, signed(echostr="hello")) == "hello"
    with pytest.raises(protocol.CallbackError) as refused:
        protocol.verify_url(CREDS, {**signed(echostr="hello"), "nonce": "other"})
    assert refused.value.status == 403


def test_text_callback_is_read_with_openid_and_msgid():
    xml = WeChatCaller.text_xml("oUser1", "查余额", 42, account="gh_bank")
    callback = protocol.read_callback(PLAIN, signed(), xml.encode())
    assert (callback.openid, callback.account, callback.kind, callback.text) == ("oUser1", "gh_bank", "text", "查余额")
    assert callback.dedupe_key == "msg:oUser1:42" and not callback.encrypted  # MsgId per follower


def test_events_are_deduplicated_by_sender_and_time():
    xml = WeChatCaller.event_xml("oUser1", "CLICK", "ANXIN_BALANCE", create_time=1700000001)
    callback = protocol.read_callback(PLAIN, signed(), xml.encode())
    assert (callback.kind, callback.event, callback.event_key) == ("event", "click", "ANXIN_BALANCE")
    assert callback.dedupe_key == "evt:oUser1:1700000001:CLICK"


def test_voice_uses_wechats_recognition_text():
    xml = ("<xml><ToUserName>gh</ToUserName><FromUserName>oU</FromUserName><CreateTime>1</CreateTime>"
           "<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format>"
           "<Recognition><![CDATA[我的卡丢了]]></Recognition><MsgId>7</MsgId></xml>")
    assert protocol.read_callback(PLAIN, signed(), xml.encode()).text == "我的卡丢了"


def secure(xml: str, app_id: str = APP_ID) -> tuple[dict[str, str], bytes]:
    encrypted = aes_encrypt(AES_KEY, app_id, xml)
    query = signed(encrypt_type="aes", msg_signature=sha1_signature(TOKEN, "1700000000", "n1", encrypted))
    return query, f"<xml><ToUserName>gh</ToUserName><Encrypt>{encrypted}</Encrypt></xml>".encode()


def test_secure_mode_decrypts_and_replies_encrypted():
    query, body = secure(WeChatCaller.text_xml("oUser2", "hello", 43))
    callback = protocol.read_callback(CREDS, query, body)
    assert callback.encrypted and callback.text == "hello"
    sealed = protocol.seal(CREDS, callback, protocol.text_reply(callback, "hi there"), "n2", "1700000002")
    fields = {c.tag: c.text for c in ET.fromstring(sealed)}
    assert fields["MsgSignature"] == sha1_signature(TOKEN, "1700000002", "n2", fields["Encrypt"])
    reply = {c.tag: c.text for c in ET.fromstring(aes_decrypt(AES_KEY, APP_ID, fields["Encrypt"]))}
    assert (reply["ToUserName"], reply["MsgType"], reply["Content"]) == ("oUser2", "text", "hi there")


@pytest.mark.parametrize("change, status", [("app_id", 403), ("msg_signature", 403), ("garbage", 400)])
def test_secure_mode_refuses_other_apps_forgeries_and_garbage(change, status):
    query, body = secure(WeChatCaller.text_xml("oU", "x", 44), app_id="wxSOMEONEELSE" if change == "app_id" else APP_ID)
    if change == "msg_signature":
        query["msg_signature"] = "0" * 40
    if change == "garbage":
        query["msg_signature"] = sha1_signature(TOKEN, "1700000000", "n1", "not base64!")
        body = b"<xml><Encrypt>not base64!</Encrypt></xml>"
    with pytest.raises(protocol.CallbackError) as refused:
        protocol.read_callback(CREDS, query, body)
    assert refused.value.status == status


def test_a_secure_mode_account_refuses_plain_text_callbacks():
    xml = WeChatCaller.text_xml("oUser1", "查余额", 45).encode()
    for query in (signed(), signed(encrypt_type="raw"), signed(msg_signature="0" * 40)):
        with pytest.raises(protocol.CallbackError) as refused:
            protocol.read_callback(CREDS, query, xml)
        assert (refused.value.status, refused.value.reason) == (403, "plaintext")


def test_timestamps_outside_the_window_are_refused():
    assert protocol.check_timestamp(signed(), 300, now=1700000000 + 300) == 1700000000
    for now in (1700000000 + 301, 1700000000 - 301):
        with pytest.raises(protocol.CallbackError) as refused:
            protocol.check_timestamp(signed(), 300, now=now)
        assert (refused.value.status, refused.value.reason) == (403, "stale")
    for stamp in ("", "17e8", "-1", "١٧٠٠٠٠٠٠٠٠"):
        with pytest.raises(protocol.CallbackError):
            protocol.check_timestamp({"timestamp": stamp}, 300, now=1700000000)


def test_a_delivery_is_taken_once_but_joined_while_in_flight():
    from bot.channels.wechat_replay import ReplayGuard

    async def scenario() -> None:
        guard = ReplayGuard(300)
        first = await guard.admit(signed(), "msg:oU:1")
        assert await guard.admit(signed(), "msg:oU:1") == first  # WeChat's identical retry, in flight
        with pytest.raises(protocol.CallbackError):  # the same query with another message: a copy
            await guard.admit(signed(), "msg:oU:2")
        await guard.answered(first, "msg:oU:1")
        with pytest.raises(protocol.CallbackError) as refused:  # answered: a copy
            await guard.admit(signed(), "msg:oU:1")
        assert refused.value.reason == "replay"
        await guard.admit({**signed(), "nonce": "n2", "signature": sha1_signature(TOKEN, "1700000000", "n2")},
                          "msg:oU:1")  # a retry with a new nonce is a new delivery

    asyncio.run(scenario())


def test_a_dtd_is_refused_before_any_parsing():
    xml = b'<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>'
    with pytest.raises(protocol.CallbackError) as refused:
        protocol.read_callback(CREDS, signed(), xml)
    assert refused.value.status == 400 and "DTD" in refused.value.message


def test_split_keeps_every_character_within_2048_bytes():
    paragraphs = ["风险提示：" + "理财非存款，产品有风险，投资须谨慎。" * 20, "产品说明" * 150, "x" * 5000]
    text = "\n\n".join(paragraphs)
    parts = protocol.split_for_wechat(text)
    assert len(parts) > 2 and all(len(p.encode("utf-8")) <= protocol.MAX_REPLY_BYTES for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert parts[0].startswith("风险提示") and paragraphs[0] in parts[0]  # the warning is not cut
    assert protocol.split_for_wechat("短回答") == ["短回答"]


def test_merge_numbers_buttons_and_notices_a_handoff():
    merged, payloads, handoff = merge_messages([
        {"text": "请确认转账。",
         "buttons": [{"title": "确认", "payload": "/affirm"}, {"title": "取消", "payload": "/deny"}]},
        {"custom": {"handoff": True}},
    ])
    assert merged == ["请确认转账。\n\n请回复数字选择：\n1. 确认\n2. 取消"]
    assert payloads == ["/affirm", "/deny"] and handoff


def test_the_risk_warning_is_always_a_wechat_message_of_its_own():
    from bot.compliance import rulebook

    warning = f"【风险提示】{rulebook.current().mandatory_warning['zh']}。您的风险承受能力等级为 C3。"
    groups, _, _ = merge_messages([{"text": "根据您的风险等级，可以了解："}, {"text": warning},
                                   {"text": "安心稳盈90天净值型理财（R2）"}, {"text": "以上信息不构成推荐。"}])
    assert groups == ["根据您的风险等级，可以了解：", warning, "安心稳盈90天净值型理财（R2）\n\n以上信息不构成推荐。"]


def test_turn_memory_forgets_old_turns_but_never_a_running_one():
    async def scenario():
        memory = TurnMemory(seconds=0.0, size=2)
        running = asyncio.get_running_loop().create_task(asyncio.sleep(10))
        memory.put("a", Turn(running))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        memory.put("b", Turn(done))
        assert memory.get("a") is not None  # still running: kept
        running.cancel()
    asyncio.run(scenario())


@pytest.fixture
def fake_api():
    api = FakeWeChatApi(APP_ID, "secret").start()
    yield api
    api.stop()


def test_one_token_is_shared_refreshed_before_expiry_and_refetched_when_rejected(fake_api):
    async def scenario():
        now = [0.0]
        holder = AccessTokenHolder(fake_api.url, APP_ID, "secret", clock=lambda: now[0])
        sender = CustomerServiceSender(holder)
        tokens = await asyncio.gather(*(holder.get(sender._client()) for _ in range(20)))
        assert len(set(tokens)) == 1 and fake_api.token_fetches == 1
        now[0] = 7200 - 299  # inside the refresh margin
        assert await holder.get(sender._client()) != tokens[0] and fake_api.token_fetches == 2
        fake_api.failures.extend([40001, -1])  # token rejected, then "system busy"
        await sender.send_texts("oU", ["第一条", "第二条"])
        await sender.close()
    asyncio.run(scenario())
    assert fake_api.messages_to("oU") == ["第一条", "第二条"]
    assert fake_api.token_fetches == 3


def test_refused_messages_are_kept_for_staff(fake_api, isolated_state):
    async def scenario():
        sender = CustomerServiceSender(AccessTokenHolder(fake_api.url, APP_ID, "secret"))
        fake_api.failures.append(45047)  # quota used up
        await sender.send_texts("oU", ["one", "two"])
        await sender.close()
    asyncio.run(scenario())
    kept = [json.loads(line) for line in (isolated_state / "wechat_undelivered.jsonl").read_text("utf-8").splitlines()]
    assert kept[0]["openid"] == "oU" and kept[0]["parts"] == ["one", "two"] and "45047" in kept[0]["reason"]
    assert fake_api.messages_to("oU") == []


def test_numbered_choices_are_remembered_per_follower_and_bounded(monkeypatch):
    from bot.channels import wechat

    monkeypatch.setattr(wechat, "MAX_CHOICES_REMEMBERED", 3)
    channel = wechat.WeChatInput(CREDS)
    for n in range(5):
        channel.choices.put(f"o{n}", ["/affirm", "/deny"])
    assert len(channel.choices) <= 3 and "o4" in channel.choices
    assert channel._resolve_choice("o4", "２") == "/deny"
    assert channel._resolve_choice("o4", "3") == "3"  # no third choice: the text stays as typed
    assert channel._resolve_choice("o0", "1") == "1"  # forgotten follower: the text stays as typed
