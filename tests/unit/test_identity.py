"""Customer tokens, whom a conversation acts for, one-time codes and WeChat bindings."""

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.identity import bindings, otp
from bot.identity.party import SHADOW_KEY, resolve, strip_reserved
from bot.identity.tokens import CustomerTokens, TokenError, bearer

SECRET = "unit-test-app-backend-key-with-enough-length"


def _unsigned(claims: dict) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_token_of_the_app_backend_names_the_customer():
    tokens = CustomerTokens(SECRET)
    assert tokens.verify(tokens.issue("C123", 5)).customer_id == "C123"


@pytest.mark.parametrize("token, reason", [
    ("", "missing"),
    ("not-a-jwt", "malformed"),
    (jwt.encode({"sub": "C1", "exp": int(time.time()) + 60}, "some-other-key-of-enough-length!!", "HS256"),
     "signature"),
    (jwt.encode({"sub": "C1", "exp": int(time.time()) - 120}, SECRET, "HS256"), "expired"),
    (jwt.encode({"sub": "C1"}, SECRET, "HS256"), "exp"),
    (jwt.encode({"exp": int(time.time()) + 60}, SECRET, "HS256"), "sub"),
    (jwt.encode({"sub": "copilot:x", "exp": int(time.time()) + 60}, SECRET, "HS256"), "customer id"),
    (_unsigned({"sub": "C1", "exp": int(time.time()) + 60}), "algorithm"),
    (jwt.encode({"sub": "C1", "exp": int(time.time()) + 60}, SECRET * 2, "HS512"), "algorithm"),
], ids=["none", "malformed", "forged", "expired", "no-exp", "no-sub", "bad-sub", "alg-none", "hs512"])
def test_bad_tokens_are_refused_with_a_reason(token, reason):
    with pytest.raises(TokenError, match=reason):
        CustomerTokens(SECRET).verify(token)


def test_rs256_tokens_are_checked_with_the_public_key_only():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    tokens = CustomerTokens(public_key=public_pem)
    good = jwt.encode({"sub": "C9", "exp": int(time.time()) + 60}, private, algorithm="RS256")
    assert tokens.verify(good).customer_id == "C9"
    # The classic confusion: an HS256 token whose HMAC key is the (public) RS256 key.
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': 'C9', 'exp': int(time.time()) + 60})}"
    mac = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(TokenError, match="algorithm"):
        tokens.verify(confused)
    with pytest.raises(TokenError):
        tokens.issue("C9", 5)  # an RS256 verifier cannot mint tokens


def test_no_key_configured_means_no_customer_can_be_verified():
    assert not CustomerTokens().configured
    with pytest.raises(TokenError):
        CustomerTokens().verify(CustomerTokens(SECRET).issue("C1", 5))


def test_bearer_header_parsing():
    assert bearer("Bearer abc") == "abc" and bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") == "" and bearer(None) == ""


def test_the_party_comes_from_the_channel_never_from_the_client(monkeypatch):
    assert resolve("C1", "rest", {SHADOW_KEY: "C2"}).customer_id == "C1"
    assert resolve("oOPENID01", "wechat", None).customer_id is None
    bindings.bind("oOPENID01", "C7")
    assert resolve("oOPENID01", "wechat", None).customer_id == "C7"
    shadow = resolve("copilot:call-1", "copilot", {SHADOW_KEY: "C3"})
    assert shadow.customer_id == "C3" and shadow.shadow
    assert resolve("someone", "cmdline", None).customer_id == "someone"  # demo mode (tests' default)
    monkeypatch.setenv("ANXIN_DEMO_MODE", "0")
    assert resolve("someone", "cmdline", None).customer_id is None
    assert strip_reserved({SHADOW_KEY: "C2", "app": "1.0"}) == {"app": "1.0"}


def test_bindings_close_and_keep_their_history():
    bindings.bind("oFOLLOWER1", "C1")
    bindings.bind("oFOLLOWER1", "C2")  # a new binding replaces the old one
    assert bindings.customer_for("oFOLLOWER1") == "C2"
    assert bindings.unbind("oFOLLOWER1") == "C2" and bindings.customer_for("oFOLLOWER1") is None
    assert bindings.unbind("oFOLLOWER1") is None
    assert [b.unbound_at is not None for b in bindings.of_customer("C1")] == [True]
    assert bindings.mask_open_id("oFOLLOWER1") == "oFOL…WER1"


def test_a_code_works_once_and_three_wrong_tries_lock_it():
    code = otp.issue("test:1", "C1")
    assert otp.check("test:1", code).status == "ok" and otp.verified("test:1", "C1")
    assert otp.check("test:1", code).status == "none"  # used up
    code = otp.issue("test:2", "C1")
    wrong = "000000" if code != "000000" else "111111"
    assert [otp.check("test:2", wrong).status for _ in range(3)] == ["wrong", "wrong", "locked"]
    assert otp.check("test:2", code).status == "none" and not otp.verified("test:2", "C1")


PENDING = {"key": "k" * 32, "amount": "100.00", "payee": "张三"}


def _verified_step_up(customer: str = "C1", pending: dict = PENDING) -> str:
    purpose = otp.step_up_purpose(customer, pending)
    assert otp.check(purpose, otp.issue(purpose, customer), customer).status == "ok"
    return purpose


def test_a_step_up_code_is_bound_to_the_customer_the_key_the_amount_and_the_payee():
    purpose = _verified_step_up()
    assert otp.step_up_purpose("C1", dict(PENDING)) == purpose
    assert otp.step_up_purpose("C1", {**PENDING, "amount": "100"}) == purpose  # the same amount
    for other in ({**PENDING, "amount": "9000.00"}, {**PENDING, "payee": "李四"}, {**PENDING, "key": "x" * 32}):
        assert not otp.verified(otp.step_up_purpose("C1", other), "C1")
        assert not otp.redeem(otp.step_up_purpose("C1", other), "C1")
    assert not otp.verified(otp.step_up_purpose("C2", PENDING), "C2")  # customer B, customer A's transfer
    assert not otp.verified(purpose, "C2") and not otp.redeem(purpose, "C2")  # A's very purpose, as B
    assert otp.verified(purpose, "C1")  # none of that spent A's verification
    assert otp.step_up_purpose(None, PENDING) is None and otp.step_up_purpose("C1", {"key": "k"}) is None


def test_a_code_for_one_customer_cannot_be_tried_by_another():
    purpose = otp.step_up_purpose("C1", PENDING)
    code = otp.issue(purpose, "C1")
    assert otp.check(purpose, code, "C2").status == "none"  # B's try neither works nor counts
    assert otp.status(purpose, "C1").status == "pending"
    assert otp.check(purpose, code, "C1").status == "ok"


def test_a_verification_is_spent_by_one_transfer():
    purpose = _verified_step_up()
    assert otp.redeem(purpose, "C1")
    assert not otp.redeem(purpose, "C1") and not otp.verified(purpose, "C1")
    assert otp.status(purpose, "C1").status == "none"


def test_a_code_expires_and_so_does_a_verification_left_unused(monkeypatch):
    purpose = otp.step_up_purpose("C1", PENDING)
    code = otp.issue(purpose, "C1")
    later = datetime.now(timezone.utc) + otp.VALID_FOR + timedelta(seconds=1)
    monkeypatch.setattr(otp, "datetime", _Clock(later))
    assert otp.status(purpose, "C1").status == "expired"
    assert otp.check(purpose, code, "C1").status == "expired"
    monkeypatch.undo()
    purpose = _verified_step_up(pending={**PENDING, "key": "y" * 32})
    monkeypatch.setattr(otp, "datetime", _Clock(datetime.now(timezone.utc) + otp.VERIFIED_FOR + timedelta(seconds=1)))
    assert not otp.verified(purpose, "C1") and not otp.redeem(purpose, "C1")


def test_status_reports_the_tries_made_elsewhere():
    purpose = otp.step_up_purpose("C1", PENDING)
    code = otp.issue(purpose, "C1")
    wrong = "000000" if code != "000000" else "111111"
    otp.check(purpose, wrong, "C1")
    assert otp.status(purpose, "C1") == otp.Check("wrong", "C1", 2)
    otp.check(purpose, wrong, "C1")
    otp.check(purpose, wrong, "C1")
    assert otp.status(purpose, "C1").status == "locked"


class _Clock:
    """``datetime`` as otp uses it, stopped at ``now``."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self, tz=None) -> datetime:
        return self._now


def test_a_new_code_replaces_the_old_one():
    first = otp.issue("test:3", "C1")
    second = otp.issue("test:3", "C1")
    if first != second:
        assert otp.check("test:3", first).status in ("wrong",)
    assert otp.check("test:3", second).status == "ok"


def test_a_typed_code_is_masked_and_its_digits_kept_only_as_the_attempt():
    from bot.compliance.masking import mask_event
    from bot.rasa_ext.step_up_door import MASK, conceal

    assert conceal("123 456") == (MASK, "123456")
    assert conceal("my code is 123-456, thanks") == (f"my code is {MASK}, thanks", "123456")
    assert conceal("取消") == ("取消", "")
    # the stored slot keeps no digit of a code that came round the door
    assert mask_event({"event": "slot", "name": "step_up_code", "value": "654321"})["value"] == "******"
    assert mask_event({"event": "slot", "name": "amount", "value": "654321"})["value"] == "654321"
