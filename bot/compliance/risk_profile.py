"""Risk assessment: score the questionnaire to C1..C5 and keep every result with its date.

A product may be suggested only on a valid assessment (rule 2): one exists and is younger
than ``validity_days`` (12 months). Results are appended, never overwritten, so the history
shows which level was in force when a product was suggested: the ORM and the database
(triggers on SQLite and PostgreSQL, like the audit trail's, made by the migrations) refuse UPDATE and DELETE.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from sqlalchemy import Boolean, Column, DateTime, Integer, String, Text, event, select
from sqlalchemy.orm import declarative_base

from bot import db, settings

QUESTIONNAIRE = Path(__file__).with_name("questionnaire.yml")
DEMO_PROFILES = Path(__file__).with_name("demo_profiles.yml")
LEVELS = ("C1", "C2", "C3", "C4", "C5")
Base = declarative_base()


class RiskProfileRow(Base):
    __tablename__ = "risk_profiles"
    id = Column(Integer, primary_key=True, autoincrement=True)
    customer_id = Column(String(128), nullable=False, index=True)
    level = Column(String(2), nullable=False)
    score = Column(Integer)
    senior = Column(Boolean, nullable=False, default=False)
    answers = Column(Text, nullable=False, default="{}")
    assessed_at = Column(DateTime(timezone=True), nullable=False)


@event.listens_for(RiskProfileRow, "before_update")
@event.listens_for(RiskProfileRow, "before_delete")
def _refuse_change(*_: object) -> None:
    raise PermissionError("risk profiles are append-only: save a new assessment instead")


@dataclass(frozen=True)
class RiskProfile:
    level: str
    score: int | None
    senior: bool
    assessed_at: datetime

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level) + 1

    def is_valid(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return now - self.assessed_at < timedelta(days=questionnaire()["validity_days"])

    @property
    def date(self) -> str:
        return self.assessed_at.date().isoformat()

    @property
    def valid_until(self) -> str:
        return (self.assessed_at + timedelta(days=questionnaire()["validity_days"])).date().isoformat()


@functools.lru_cache(maxsize=1)
def questionnaire() -> dict:
    with QUESTIONNAIRE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def level_name(level: str, language: str) -> str:
    """The level's name for customers ("C3" -> 平衡型 / balanced)."""
    return questionnaire()["level_names"][level][language]


def question(slot: str) -> dict:
    return next(q for q in questionnaire()["questions"] if q["slot"] == slot)


def answer_index(slot: str, text: str | None) -> int | None:
    """Which option (1-based) an answer means: "2", "B", "b." or the option's label."""
    if not text:
        return None
    options = question(slot)["options"]
    cleaned = text.strip().strip(".。)）、 ").casefold()
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(options):
        return int(cleaned)
    if len(cleaned) == 1 and "a" <= cleaned <= chr(ord("a") + len(options) - 1):
        return ord(cleaned) - ord("a") + 1
    for number, option in enumerate(options, start=1):
        if any(label.casefold() == cleaned for label in option["label"].values()):
            return number
    return None


def score(answers: dict[str, int]) -> tuple[str, int, bool]:
    """(level, total points, senior) for answers given as option numbers per slot."""
    total, senior, forced = 0, False, None
    for q in questionnaire()["questions"]:
        option = q["options"][answers[q["slot"]] - 1]
        total += option["points"]
        senior = senior or bool(option.get("senior"))
        forced = option.get("forces_level") or forced
    level = forced or next(lv for lv, upper in questionnaire()["levels"].items() if total <= upper)
    return level, total, senior


def _session():
    return db.sessions(db.COMPLIANCE)()


def save(customer_id: str, level: str, *, score_total: int | None = None, senior: bool = False,
         answers: dict | None = None, assessed_at: datetime | None = None) -> RiskProfile:
    """Append an assessment result (the newest one is the one in force)."""
    row = RiskProfileRow(customer_id=customer_id, level=level, score=score_total, senior=senior,
                         answers=json.dumps(answers or {}), assessed_at=assessed_at or datetime.now(timezone.utc))
    with _session() as session:
        session.add(row)
        session.commit()
    return RiskProfile(level, score_total, senior, row.assessed_at)


def _demo_profile(customer_id: str) -> RiskProfile | None:
    """Demo mode only: the demo customers' assessments on file (demo_profiles.yml)."""
    if not settings.demo_mode():
        return None
    with DEMO_PROFILES.open(encoding="utf-8") as handle:
        demo = (yaml.safe_load(handle) or {}).get(customer_id)
    if not demo:
        return None
    when = datetime.now(timezone.utc) - timedelta(days=demo["days_ago"])
    return save(customer_id, demo["level"], senior=bool(demo.get("senior")), assessed_at=when,
                answers={"demo": True})


def current(customer_id: str) -> RiskProfile | None:
    """The latest assessment of a customer (valid or not), or None if there is none."""
    with _session() as session:
        row = session.scalars(select(RiskProfileRow).where(RiskProfileRow.customer_id == customer_id)
                              .order_by(RiskProfileRow.id.desc()).limit(1)).first()
    if row is None:
        return _demo_profile(customer_id)
    assessed = row.assessed_at if row.assessed_at.tzinfo else row.assessed_at.replace(tzinfo=timezone.utc)
    return RiskProfile(row.level, row.score, row.senior, assessed)
