"""Reviewed knowledge files -> passages, one per entry and language.

The FAQ and investor-education entries live in ``knowledge/faq`` and ``knowledge/education``;
product sheets come from the compliance catalogue (``knowledge/products/catalogue.yml``), so
the knowledge base and the suitability gate read one source, never two copies.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.compliance import catalogue
from bot.settings import PROJECT_ROOT

KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
ENTRY_FOLDERS = ("faq", "education")
QUESTIONS_FILE = "questions.yml"
LANGUAGES = ("zh", "en")
PRODUCT_SHEET = {
    "zh": ("{name}（风险等级 {risk}）。期限：{term}；起购金额：{min_amount} 元；流动性：{liquidity}；"
           "费用：{fees}；主要风险：{key_risks}。"),
    "en": ("{name} (risk level {risk}). Term: {term}; minimum: CNY {min_amount}; liquidity: {liquidity}; "
           "fees: {fees}; key risks: {key_risks}."),
}
PRODUCT_TITLE = {"zh": "产品说明书：{name}", "en": "Product sheet: {name}"}


@dataclass(frozen=True)
class Passage:
    """One retrievable unit. ``entry_id`` is shared by the zh and en versions of an entry."""

    entry_id: str
    language: str
    title: str
    text: str
    topic: str
    source: str  # file the passage came from, relative to the project
    product_id: str | None = None
    questions: tuple[str, ...] = ()  # other ways customers ask for it (knowledge/questions.yml)

    @property
    def key(self) -> str:
        return f"{self.entry_id}:{self.language}"

    @property
    def embedded_texts(self) -> tuple[str, ...]:
        """What the encoder sees, one vector each: the title alone (it is phrased as the
        question a customer asks, and question-to-question similarity is sharper), the title
        with the text (for questions the body answers), and each reviewed alternative question."""
        return (self.title, f"{self.title}\n{self.text}", *self.questions)


def digest(encoder: str, text: str) -> str:
    """Cache key of one embedded text."""
    return hashlib.sha256(f"{encoder}\0{text}".encode()).hexdigest()


def _entry_files(root: Path) -> list[Path]:
    return sorted(path for folder in ENTRY_FOLDERS for path in (root / folder).glob("*.yml"))


def _alternative_questions(root: Path) -> dict[str, dict[str, list[str]]]:
    path = root / QUESTIONS_FILE
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _asked(questions: dict[str, dict[str, list[str]]], entry_id: str, language: str) -> tuple[str, ...]:
    """The reviewed alternative questions of one entry in one language."""
    return tuple(q.strip() for q in questions.get(entry_id, {}).get(language, []))


def _entry_passages(path: Path, root: Path, questions: dict[str, dict[str, list[str]]]) -> list[Passage]:
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    passages = []
    for entry in document["entries"]:
        for language in LANGUAGES:
            passages.append(Passage(entry["id"], language, entry[language]["title"].strip(),
                                    entry[language]["text"].strip(), document["topic"],
                                    str(path.relative_to(root.parent)),
                                    questions=_asked(questions, entry["id"], language)))
    return passages


def _product_passages(questions: dict[str, dict[str, list[str]]]) -> list[Passage]:
    source = str(catalogue.catalogue_path().relative_to(PROJECT_ROOT)) \
        if catalogue.catalogue_path().is_relative_to(PROJECT_ROOT) else str(catalogue.catalogue_path())
    passages = []
    for product in catalogue.products():
        for language in LANGUAGES:
            fields = {"name": product.name[language], "risk": product.risk, "term": product.term[language],
                      "min_amount": f"{product.min_amount:,}", "liquidity": product.liquidity[language],
                      "fees": product.fees[language], "key_risks": product.key_risks[language]}
            entry_id = f"product-{product.id}"
            passages.append(Passage(entry_id, language, PRODUCT_TITLE[language].format(**fields),
                                    PRODUCT_SHEET[language].format(**fields), "products", source,
                                    product_id=product.id, questions=_asked(questions, entry_id, language)))
    return passages


def load_passages(root: Path = KNOWLEDGE_DIR) -> list[Passage]:
    """Every passage, in a stable order; entry ids must be unique across files."""
    questions = _alternative_questions(root)
    passages = [p for path in _entry_files(root) for p in _entry_passages(path, root, questions)]
    passages += _product_passages(questions)
    keys = [p.key for p in passages]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate knowledge entry ids: {duplicates}")
    unknown = sorted(set(questions) - {p.entry_id for p in passages})
    if unknown:
        raise ValueError(f"{QUESTIONS_FILE} names entries that do not exist: {unknown}")
    return passages


@functools.lru_cache(maxsize=1)
def _reviewed_by_key() -> dict[str, Passage]:
    return {p.key: p for p in load_passages()}


def passage(key: str) -> Passage:
    """One reviewed passage by key ("edu-market-fall:zh"), read from knowledge/ once per process
    (like the index, an edited knowledge file takes effect when the servers restart)."""
    return _reviewed_by_key()[key]
