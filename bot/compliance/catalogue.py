"""The product catalogue (``knowledge/products/catalogue.yml``): one reviewed source for
suggestions, the guard's product-name detection and the knowledge base."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

DEFAULT_CATALOGUE = PROJECT_ROOT / "knowledge" / "products" / "catalogue.yml"
RISK_LEVELS = ("R1", "R2", "R3", "R4", "R5")


@dataclass(frozen=True)
class Product:
    id: str
    type: str
    risk: str
    name: dict[str, str]
    term: dict[str, str]
    min_amount: int
    liquidity: dict[str, str]
    fees: dict[str, str]
    key_risks: dict[str, str]
    cooling_off_hours: int

    @property
    def risk_rank(self) -> int:
        return RISK_LEVELS.index(self.risk) + 1

    @property
    def is_private(self) -> bool:
        return self.cooling_off_hours > 0


def catalogue_path() -> Path:
    return Path(os.environ.get("ANXIN_CATALOGUE", DEFAULT_CATALOGUE))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    return {"products": tuple(Product(**item) for item in raw["products"]),
            "type_keywords": raw["type_keywords"], "fund_words": raw["fund_words"]}


def products() -> tuple[Product, ...]:
    return _load(str(catalogue_path()))["products"]


def type_keywords() -> tuple[dict[str, list[str]], list[str]]:
    """Words customers use for each product type, and the words that mean "any fund"."""
    loaded = _load(str(catalogue_path()))
    return loaded["type_keywords"], loaded["fund_words"]


def named_in(text: str) -> list[Product]:
    """Products whose Chinese or English name appears in ``text``."""
    folded = text.casefold()
    return [p for p in products() if any(name.casefold() in folded for name in p.name.values())]
