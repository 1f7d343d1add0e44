"""The compliance rules file, loaded once and reloaded whenever it changes on disk.

Rules are data (``bot/compliance/rules.yml``, or ``ANXIN_COMPLIANCE_RULES``): a compliance
officer can extend the forbidden list and every running server applies it on the next
message, with no retraining and no restart.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_RULES = Path(__file__).with_name("rules.yml")


@dataclass(frozen=True)
class Rules:
    mandatory_warning: dict[str, str]
    past_performance_warning: dict[str, str]
    phrases: tuple[tuple[str, str], ...]          # (category, lower-cased phrase)
    patterns: tuple[tuple[str, re.Pattern], ...]  # (category, compiled pattern)
    blocked_reply: dict[str, str]


def rules_path() -> Path:
    return Path(os.environ.get("ANXIN_COMPLIANCE_RULES", DEFAULT_RULES))


def parse(raw: dict) -> Rules:
    phrases = tuple((category, phrase.casefold())
                    for category, items in raw["forbidden_phrases"].items() for phrase in items)
    patterns = tuple((category, re.compile(pattern, re.IGNORECASE))
                     for category, items in raw["forbidden_patterns"].items() for pattern in items)
    return Rules(raw["mandatory_warning"], raw["past_performance_warning"], phrases, patterns,
                 raw["blocked_reply"])


_lock = threading.Lock()
_cache: dict[str, tuple[float, Rules]] = {}


def current() -> Rules:
    """The rules as the file says now (re-read only when its modification time changes)."""
    path = rules_path()
    stamp = path.stat().st_mtime_ns
    with _lock:
        cached = _cache.get(str(path))
        if cached and cached[0] == stamp:
            return cached[1]
        with path.open(encoding="utf-8") as handle:
            rules = parse(yaml.safe_load(handle))
        _cache[str(path)] = (stamp, rules)
        return rules
