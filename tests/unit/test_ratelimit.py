"""The generic rate limiter (bot.ratelimit) over the `limits` library."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import time

import pytest

from bot import settings
from bot.ratelimit import Limiter


def test_a_key_is_refused_past_its_limit_and_told_when_to_retry():
    limiter = Limiter("3/minute")
    assert [limiter.hit("agent-1") for _ in range(4)] == [True, True, True, False]
    assert 1 <= limiter.retry_after("agent-1") <= 60
    assert limiter.hit("agent-2") and limiter.retry_after("agent-2") == 0  # keys are counted apart


def test_refused_hits_are_not_counted_and_the_window_moves_on():
    limiter = Limiter("2/second")
    assert [limiter.hit("k") for _ in range(5)] == [True, True, False, False, False]
    time.sleep(1.1)
    assert [limiter.hit("k") for _ in range(3)] == [True, True, False]


def test_several_limits_all_apply():
    limiter = Limiter("2/second; 3/minute")
    assert [limiter.hit("k") for _ in range(3)] == [True, True, False]  # the per-second limit
    time.sleep(1.1)
    assert [limiter.hit("k") for _ in range(2)] == [True, False]  # now the per-minute one
    assert limiter.retry_after("k") > 1


@pytest.mark.parametrize("spec", ["off", "OFF", " off ", ""])
def test_off_lets_everything_through(spec):
    limiter = Limiter(spec)
    assert not limiter.enabled
    assert all(limiter.hit("k") for _ in range(1000)) and limiter.retry_after("k") == 0


@pytest.mark.parametrize("spec", ["lots", "120/fortnight", "-1/minute"])
def test_a_spec_that_is_not_a_limit_is_refused(spec):
    with pytest.raises(ValueError, match="not a rate limit"):
        Limiter(spec)


def test_configured_by_the_environment(monkeypatch):
    monkeypatch.setenv("ANXIN_RATE_LIMIT_AGENT", "1/hour")
    limiter = Limiter(settings.rate_limit("agent"))
    assert limiter.hit("k") and not limiter.hit("k")
    monkeypatch.delenv("ANXIN_RATE_LIMIT_AGENT")
    assert Limiter(settings.rate_limit("agent")).spec == "120/minute"


def test_importing_it_loads_nothing_heavy():
    """The Rasa server imports it: the `limits` library loads only with the first enabled limiter."""
    code = ("import sys, bot.ratelimit as r; assert 'limits' not in sys.modules; r.Limiter('off');"
            "assert 'limits' not in sys.modules; r.Limiter('1/minute'); assert 'limits' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the client address behind a reverse proxy (ANXIN_TRUSTED_PROXIES) -------------------------


def test_forwarded_for_is_read_only_from_a_trusted_proxy():
    from bot.ratelimit import forwarded_client

    proxies = (ipaddress.ip_network("10.0.0.5/32"), ipaddress.ip_network("10.1.0.0/16"))
    # from the proxy: the right-most address it did not add itself; what the client wrote on the left is ignored
    assert forwarded_client("10.0.0.5", "6.6.6.6, 203.0.113.9", proxies) == "203.0.113.9"
    assert forwarded_client("10.0.0.5", "203.0.113.9, 10.1.2.3", proxies) == "203.0.113.9"  # two proxies deep
    # from anyone else the header is the client's own claim: the socket's peer counts
    assert forwarded_client("198.51.100.7", "203.0.113.9", proxies) == "198.51.100.7"
    assert forwarded_client("10.0.0.5", None, proxies) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", "203.0.113.9", ()) == "10.0.0.5"  # no proxy configured


def test_trusted_proxies_setting(monkeypatch):
    monkeypatch.setenv("ANXIN_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert settings.trusted_proxies() == (ipaddress.ip_network("10.0.0.5/32"), ipaddress.ip_network("10.1.0.0/16"))
    monkeypatch.delenv("ANXIN_TRUSTED_PROXIES")
    assert settings.trusted_proxies() == ()
