"""V2 Authentication, WeChat (issue 23): a secure-mode account takes no plain-text callback, and
the binding flow neither tells registered numbers apart nor lets anyone bomb a phone with codes
or guess codes without end. Every attack goes through the real servers (tests/e2e/conftest.py):
the connector in secure mode, the fake WeChat caller and the fake SMS gateway."""

from __future__ import annotations

import itertools
import os
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot import db
from bot.accounts import store
from bot.identity import bindings, otp
from tests.e2e.test_wechat import user_texts

_msg_ids = itertools.count(int(time.time() * 1000) + 7_000_000)
LOCKED, TOO_MANY = "错误次数过多", "过于频繁"


def anonymous_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


def unregistered_number() -> str:
    return "166" + f"{secrets.randbelow(10**8):08d}"


def registered_number() -> tuple[str, str]:
    """A new bank customer with a registered mobile of their own: (customer id, number)."""
    number, customer = "199" + f"{secrets.randbelow(10**8):08d}", f"C{uuid.uuid4().int % 10**9:09d}"
    store.open_account(customer, display_name="Ms Wei", balance=Decimal("3000.00"), account_no="6222021111110001",
                       phone=number, payees=[{"name": "张三", "account_no": "6222020000005678"}])
    return customer, number


def refusals(servers, reason: str) -> float:
    token = os.environ.get("ANXIN_METRICS_TOKEN")
    reply = requests.get(f"{servers.rasa_url}/metrics", timeout=10,
                         headers={"Authorization": f"Bearer {token}"} if token else {})
    return sum(s.value for family in text_string_to_metric_families(reply.text) for s in family.samples
               if s.name == "anxin_wechat_refused_total" and s.labels.get("reason") == reason)


def say(wechat, openid: str, text: str) -> str:
    reply = wechat.post(wechat.text_xml(openid, text, next(_msg_ids)))
    assert reply.status == 200, reply.body
    return reply.content


def sms_to(gateways, number: str) -> list[dict]:
    return [m for m in gateways.messages if m["kind"] == "sms" and m["to"] == number]


# -- secure mode cannot be downgraded --------------------------------------------------------------


def test_a_plain_text_callback_to_a_secure_account_is_refused_and_reads_nothing(servers, wechat):
    """The attack of issue 23: one genuine query string (as HAProxy's log keeps it), its
    encrypt_type and msg_signature dropped, and any body as a bound follower."""
    victim, customer = anonymous_openid(), f"demo-wx-{uuid.uuid4().hex[:12]}"
    bindings.bind(victim, customer)
    balance = store.account(customer).balance
    genuine = wechat.post(wechat.text_xml(anonymous_openid(), "你好", next(_msg_ids)), encrypt=True)
    assert genuine.status == 200
    logged = {k: v for k, v in genuine.query.items() if k not in ("encrypt_type", "msg_signature")}
    before = refusals(servers, "plaintext")

    for query in (logged, wechat.signed_query(), {**wechat.signed_query(), "encrypt_type": "raw"}):
        reply = wechat.post(wechat.text_xml(victim, "查余额", next(_msg_ids)), encrypt=False, query=query)
        assert reply.status == 403 and "12,345.67" not in reply.body, reply.body
    for text in ("给张三转账100元", "1"):
        assert wechat.post(wechat.text_xml(victim, text, next(_msg_ids)), encrypt=False).status == 403

    assert user_texts(servers, victim) == []
    assert store.account(customer).balance == balance
    assert refusals(servers, "plaintext") >= before + 5
    # WeChat's URL verification (GET) works as WeChat does it, and genuine callbacks still do
    assert requests.get(wechat.url, params={**wechat.signed_query(), "echostr": "2718"}, timeout=10).text == "2718"
    assert "12,345.67" in say(wechat, victim, "查余额")


# -- binding: no enumeration, no SMS bombing, no endless guessing ----------------------------------


def test_binding_answers_alike_for_registered_and_unregistered_numbers(wechat, gateways):
    _, registered = registered_number()
    unregistered = unregistered_number()
    code_holder, prober = anonymous_openid(), anonymous_openid()
    answers = {}
    for openid, number in ((code_holder, registered), (prober, unregistered)):
        answers[number] = [say(wechat, openid, "绑定"), say(wechat, openid, number)]
    code = gateways.wait_for("sms", registered, 1)[0]["text"]  # texted in the background
    wrong = "000000" if "000000" not in code else "111111"
    for openid, number in ((code_holder, registered), (prober, unregistered)):
        answers[number] += [say(wechat, openid, wrong) for _ in range(3)]  # every try, and after the last
        answers[number].append(say(wechat, openid, wrong))  # the flow is over: the dialogue answers
    assert answers[registered] == answers[unregistered], (answers[registered], answers[unregistered])
    assert len(sms_to(gateways, registered)) == 1 and sms_to(gateways, unregistered) == []


def test_codes_per_number_are_limited_and_said_alike_for_any_number(wechat, gateways):
    """Five followers ask a code for one customer's number: three are sent (the default
    ANXIN_BINDING_CODES_PER_PHONE of 3/hour), then a polite refusal; an unregistered number
    gets the very same answers."""
    _, registered = registered_number()
    unregistered = unregistered_number()
    answers = {registered: [], unregistered: []}
    for number in answers:
        for _ in range(5):
            openid = anonymous_openid()
            say(wechat, openid, "绑定")
            answers[number].append(say(wechat, openid, number))
    assert len(gateways.wait_for("sms", registered, 3)) == 3
    assert answers[registered] == answers[unregistered]
    assert TOO_MANY in answers[registered][3] and TOO_MANY in answers[registered][4]


def test_codes_per_follower_are_limited(wechat, gateways):
    """One follower asking codes for number after number (ANXIN_BINDING_CODES_PER_FOLLOWER, 5/hour)."""
    openid = anonymous_openid()
    numbers = [registered_number()[1] for _ in range(3)] + [unregistered_number() for _ in range(4)]
    answers = []
    for number in numbers:
        say(wechat, openid, "绑定")
        answers.append(say(wechat, openid, number))
    assert all(TOO_MANY not in answer for answer in answers[:5])
    assert all(TOO_MANY in answer for answer in answers[5:]), answers[5:]


def test_five_wrong_codes_lock_the_follower_and_the_number_for_an_hour(wechat, gateways):
    customer, number = registered_number()
    guesser = anonymous_openid()
    wrong = "000000"

    say(wechat, guesser, "绑定")
    say(wechat, guesser, number)
    first = [say(wechat, guesser, wrong) for _ in range(3)]  # the code's three tries
    assert "验证未通过" in first[-1], first
    say(wechat, guesser, "绑定")
    earlier = gateways.sent("sms", number)
    say(wechat, guesser, number)
    code = gateways.last_code("sms", number, after=earlier)
    guesses = [say(wechat, guesser, wrong if wrong != code else "111111") for _ in range(2)]
    assert LOCKED in guesses[-1], guesses  # the fifth wrong code locks

    assert LOCKED in say(wechat, guesser, "绑定")  # the follower is locked ...
    sent = len(sms_to(gateways, number))
    other = anonymous_openid()  # ... and so is the number, whoever types it
    say(wechat, other, "绑定")
    assert LOCKED in say(wechat, other, number)
    assert len(sms_to(gateways, number)) == sent  # no code sent while locked
    assert bindings.customer_for(guesser) is None and bindings.customer_for(other) is None


# -- found by the independent red team (2026-12-06) ---------------------------------------------


def test_a_burst_of_guesses_at_once_gets_no_more_tries_than_one_at_a_time(wechat, gateways):
    """Before the fix 16 guesses sent at once by one follower were all let past the lockout
    (checked before any was counted) and the code's tries were read and written back without a
    lock: "2 tries left" came back twice, and about six guesses were compared against a code
    that allows three. Now each try is counted atomically before its code is compared."""
    _, number = registered_number()
    guesser = anonymous_openid()
    say(wechat, guesser, "绑定")
    earlier = gateways.sent("sms", number)
    say(wechat, guesser, number)
    code = gateways.last_code("sms", number, after=earlier)
    wrong = "000000" if code != "000000" else "111111"
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda _: say(wechat, guesser, wrong), range(16)))
    tries_left = [reply for reply in replies if "还可以再试" in reply]
    assert len(tries_left) <= otp.MAX_ATTEMPTS - 1 and len(set(tries_left)) == len(tries_left), replies
    with db.sessions(db.BANK)() as session:
        attempts = session.scalars(select(otp.OneTimeCode.attempts)
                                   .where(otp.OneTimeCode.purpose == f"wechat-bind:{guesser}")).all()
    assert attempts and max(attempts) <= otp.MAX_ATTEMPTS
    assert bindings.customer_for(guesser) is None
    # the follower's tries were counted, the burst's too: it is locked out
    assert LOCKED in say(wechat, guesser, "绑定")
