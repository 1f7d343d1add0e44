"""The demo customers (demo mode only): who the demo sign-in may issue a token for.

They are the customers seeded in bot/accounts/demo_customers.yml and
bot/compliance/demo_profiles.yml, plus any new ``demo-<name>`` (a fresh demo account with
no risk assessment). Real customer ids never start with ``demo-``, so a demo token can never
act for a real customer.
"""

from __future__ import annotations

import re

import yaml

from bot.settings import PROJECT_ROOT

SEED_FILES = (PROJECT_ROOT / "bot" / "accounts" / "demo_customers.yml",
              PROJECT_ROOT / "bot" / "compliance" / "demo_profiles.yml")
DEMO_ID = re.compile(r"^demo-[a-z0-9-]{1,40}\Z")


def seeded() -> list[str]:
    """The demo customers with seeded data, in file order."""
    names: list[str] = []
    for path in SEED_FILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name in {**data.get("customers", {}), **{k: v for k, v in data.items() if k.startswith("demo-")}}:
            if name not in names:
                names.append(name)
    return names


def is_demo_customer(customer_id: str) -> bool:
    return bool(DEMO_ID.match(customer_id))
