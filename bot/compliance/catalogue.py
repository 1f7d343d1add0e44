"""The product catalogue (``knowledge/products/catalogue.yml``): one reviewed source for
suggestions, the guard's product-name detection and the knowledge base.

A product is named in a text by its full name, by any of its short names in the catalogue's
``aliases`` block (现金宝, 沪深300指数基金, Anxin CD) or by its id (AX-MMF-01), in either
language. Customers and staff use the short names far more than the full ones, so a guard that
knew only full names would let a product through unannounced. ``named_in`` is the one matcher:
the guard, suitability, the product-facts action and the copilot all call it. Reviewers add a
spelling to ``aliases`` (data), never to code.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.compliance.textmatch import name_key
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


def _spellings(product: Product, aliases: dict) -> tuple[str, ...]:
    """Every way the catalogue names ``product`` (full names, aliases, id), in ``name_key``
    form, longest first."""
    words = [*product.name.values(), product.id]
    for language_aliases in (aliases.get(product.id) or {}).values():
        words.extend(language_aliases)
    return tuple(sorted({name_key(w) for w in words if name_key(w)}, key=len, reverse=True))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    products = tuple(Product(**item) for item in raw["products"])
    aliases = raw.get("aliases") or {}
    unknown = set(aliases) - {p.id for p in products}
    if unknown:
        raise ValueError(f"{path}: aliases for products not in the catalogue: {', '.join(sorted(unknown))}")
    return {"products": products, "spellings": {p.id: _spellings(p, aliases) for p in products},
            "type_keywords": raw["type_keywords"], "fund_words": raw["fund_words"]}


def products() -> tuple[Product, ...]:
    return _load(str(catalogue_path()))["products"]


def type_keywords() -> tuple[dict[str, list[str]], list[str]]:
    """Words customers use for each product type, and the words that mean "any fund"."""
    loaded = _load(str(catalogue_path()))
    return loaded["type_keywords"], loaded["fund_words"]


def named_in(text: str) -> list[Product]:
    """Products that ``text`` names by full name, alias or id, in either language, whatever the
    case, width, spacing or dashes (see ``textmatch.name_key``); in catalogue order."""
    if not text:
        return []
    key = name_key(text)
    loaded = _load(str(catalogue_path()))
    return [p for p in loaded["products"] if any(s in key for s in loaded["spellings"][p.id])]
