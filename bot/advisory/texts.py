"""The advisory's customer- and agent-facing texts (``texts.yml``), zh and en.

Texts are data so reviewers change wording without touching code; the code only picks an entry
and fills its placeholders. An unknown language falls back to Chinese, the bot's first language.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yml")
LANGUAGES = ("zh", "en")


@functools.lru_cache(maxsize=1)
def all_texts() -> dict:
    with TEXTS_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else LANGUAGES[0]


def text(key: str, language: str | None, **fields: object) -> str:
    """The entry at ``key`` ("holdings.line") in ``language``, its placeholders filled."""
    entry = all_texts()
    for part in key.split("."):
        entry = entry[part]
    return entry[language_or_default(language)].format(**fields)


def money(amount: Decimal, language: str | None, signed: bool = False) -> str:
    """An amount as customers read it: thousands separated, two decimals, the currency in the
    language's way ("12,345.67 元", "CNY 12,345.67"); ``signed`` shows + for gains."""
    number = f"{amount:+,.2f}" if signed else f"{amount:,.2f}"
    return text("units.money", language, amount=number)


def percent(value: Decimal, signed: bool = True) -> str:
    return f"{value:+.2f}%" if signed else f"{value:.2f}%"


def days(count: int, language: str | None) -> str:
    return text("units.days", language, count=count)
