"""Locust users for bench/load.py: each user is one customer's conversation over the REST
channel, sending its next message as soon as the previous answer arrives (no think time).

Settings come from the environment (bench/load.py sets them):
- ``ANXIN_LOAD_KIND``: ``bare`` (the bare ``rasa init`` bot: its own intents, no token) or
  ``anxin`` (a customer JWT signed with ``ANXIN_LOAD_JWT_SECRET``, as the bank app's backend
  signs them);
- ``ANXIN_LOAD_LEVELLED``: how many of the users speak as the demo customers with a risk level
  on file (demo-c1 .. demo-c5, one user each); the others are new demo customers.

Run headless, e.g. ``locust -f bench/locustfile.py --headless -u 20 -r 20 -t 60s --host URL``.
"""

from __future__ import annotations

import itertools
import os
import uuid

from locust import FastHttpUser, constant, task

KIND = os.environ.get("ANXIN_LOAD_KIND", "anxin")
LEVELLED = [f"demo-c{i}" for i in range(1, 1 + int(os.environ.get("ANXIN_LOAD_LEVELLED", "5")))]

# Messages whose intent is clear (taken from the training data's own phrasing, not borderline):
# greeting, balance (a custom action), fees and an FAQ (the knowledge base), product facts and a
# product question (the suitability gate), thanks.
ANXIN_SCRIPT = ["你好", "查一下余额", "跨行转账要手续费吗", "新卡怎么激活", "现金宝的风险等级是多少",
                "what's my balance", "有什么理财产品推荐", "谢谢"]
# The bare bot's own intents (rasa init's moodbot).
BARE_SCRIPT = ["hello", "I am feeling great", "hi", "I am sad", "yes", "good morning", "no", "bye"]

_customers = itertools.count()


def new_customer() -> str:
    n = next(_customers)
    return LEVELLED[n] if n < len(LEVELLED) else f"demo-load-{uuid.uuid4().hex[:10]}"


def auth_header(customer: str) -> dict[str, str]:
    from bot.identity.tokens import CustomerTokens

    token = CustomerTokens(os.environ["ANXIN_LOAD_JWT_SECRET"]).issue(customer, 120)
    return {"Authorization": f"Bearer {token}"}


class Customer(FastHttpUser):
    """FastHttpUser (geventhttpclient), not HttpUser (requests): the load generator shares this
    2-core machine with the servers it measures, and requests cost it several times the CPU
    (locust's docs, "Increase performance with a faster HTTP client")."""

    wait_time = constant(0)

    def on_start(self) -> None:
        if KIND == "bare":
            self.sender = f"load-{uuid.uuid4().hex[:10]}"
            self.headers: dict[str, str] = {}
            self.script = itertools.cycle(BARE_SCRIPT)
        else:
            self.sender = new_customer()
            self.headers = auth_header(self.sender)
            self.script = itertools.cycle(ANXIN_SCRIPT)

    @task
    def say(self) -> None:
        text = next(self.script)
        with self.client.post("/webhooks/rest/webhook", json={"sender": self.sender, "message": text},
                              headers=self.headers, name="turn", catch_response=True) as reply:
            if reply.status_code != 200:
                reply.failure(f"HTTP {reply.status_code}")
            else:
                try:
                    answered = bool(reply.json())
                except ValueError:
                    answered = False
                # The bare moodbot answers some turns with nothing (e.g. "yes" outside its
                # question): that is its behaviour, not an error; Anxin never stays silent.
                if answered or KIND == "bare":
                    reply.success()
                else:
                    reply.failure("no answer")
