"""Send a one-time code to a customer: by SMS to the registered phone (WeChat binding) or as
a push to the bank app (step-up for large transfers).

Both are the bank's own gateways, reached over HTTP with a JSON body
``{"to": ..., "text": ...}`` (``ANXIN_SMS_GATEWAY_URL``, ``ANXIN_APP_PUSH_URL``); the tests run
a local fake that speaks it (tests/fakes/gateways.py). Without a gateway, demo mode writes
the message to ``<state>/demo_outbox.jsonl`` (the demo sign-in page shows the newest code);
outside demo mode that is an error: a code nobody receives must not be pretended sent.
Standard library only, so the Rasa server (WeChat binding) and the action server both use it.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bot import settings

TIMEOUT_SECONDS = 5


@functools.lru_cache(maxsize=1)
def _texts() -> dict:
    return yaml.safe_load((Path(__file__).with_name("texts.yml")).read_text(encoding="utf-8"))


def text(name: str, language: str, **values: str) -> str:
    """A message of texts.yml in ``language`` with its placeholders filled."""
    return _texts()[name][language].format(**values)


class DeliveryError(Exception):
    """The code could not be handed to a gateway."""


def _outbox(kind: str, to: str, text: str) -> None:
    line = json.dumps({"at": datetime.now(timezone.utc).isoformat(), "kind": kind, "to": to, "text": text},
                      ensure_ascii=False)
    with open(settings.state_dir() / "demo_outbox.jsonl", "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def send(kind: str, to: str, text: str) -> None:
    """Deliver ``text`` to ``to`` (a phone for ``sms``, a customer id for ``app_push``). Blocking:
    call it from a thread in async code."""
    url = os.environ.get({"sms": "ANXIN_SMS_GATEWAY_URL", "app_push": "ANXIN_APP_PUSH_URL"}[kind])
    if not url:
        if settings.demo_mode():
            _outbox(kind, to, text)
            return
        raise DeliveryError(f"no {kind} gateway configured")
    request = urllib.request.Request(url, data=json.dumps({"to": to, "text": text}).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
            if reply.status >= 300:
                raise DeliveryError(f"{kind} gateway answered {reply.status}")
    except (urllib.error.URLError, OSError) as error:
        raise DeliveryError(f"{kind} gateway unreachable: {error}") from error
