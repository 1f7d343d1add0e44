"""One-time codes under a burst of guesses sent at once (red team, 2026-12-06).

The count of tries was read, then written back: on SQLite (no ``SELECT … FOR UPDATE``) sixteen
guesses at once overwrote each other's count and about six were compared against a code that
allows three. Here every guess first reads the open code, then all of them go on together (a
barrier right after the read), which is exactly that race, made certain."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.identity import otp

GUESSES = 16


@pytest.fixture
def compared(monkeypatch):
    """Counts the codes actually compared, and holds every guess after its read of the code
    row until all have read it."""
    barrier, calls = threading.Barrier(GUESSES, timeout=20), []
    aware = otp._aware

    def after_the_read(moment):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return aware(moment)

    real = otp.hmac.compare_digest

    class Hmac:
        @staticmethod
        def compare_digest(a, b):
            calls.append(1)
            return real(a, b)

    monkeypatch.setattr(otp, "_aware", after_the_read)
    monkeypatch.setattr(otp, "hmac", Hmac)
    return calls


def _burst(purpose: str, code: str, customer: str | None = None) -> list[otp.Check]:
    with ThreadPoolExecutor(GUESSES) as pool:
        return list(pool.map(lambda _: otp.check(purpose, code, customer), range(GUESSES)))


def test_a_burst_of_wrong_guesses_gets_three_compared_and_each_its_own_count(compared):
    code = otp.issue("wechat-bind:burst", "C1")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    results = _burst("wechat-bind:burst", wrong)
    assert len(compared) == otp.MAX_ATTEMPTS
    counted = sorted((r.status, r.attempts_left) for r in results if r.status == "wrong" or r.attempts_left)
    assert counted == [("wrong", 1), ("wrong", 2)]
    assert [r.status for r in results].count("locked") == GUESSES - 2
    assert otp.status("wechat-bind:burst", "C1").status == "locked"


def test_a_burst_with_the_right_code_verifies_once(compared):
    purpose = otp.step_up_purpose("C1", {"key": "k-burst", "amount": "6000", "payee": "张三"})
    code = otp.issue(purpose, "C1")
    results = _burst(purpose, code, "C1")
    assert [r.status for r in results].count("ok") == 1
    assert len(compared) <= otp.MAX_ATTEMPTS
    assert otp.redeem(purpose, "C1") and not otp.redeem(purpose, "C1")


def test_a_guess_without_a_try_left_is_not_compared():
    code = otp.issue("test:last", "C1")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert [otp.check("test:last", wrong).status for _ in range(3)] == ["wrong", "wrong", "locked"]
    assert otp.check("test:last", code).status == "none"  # used up by its last wrong try
