"""The compliance rules file, loaded once and reloaded whenever it changes on disk.

Rules are data (``bot/compliance/rules.yml``, or ``ANXIN_COMPLIANCE_RULES``): a compliance
officer can extend the forbidden list and every running server applies it on the next
message, with no retraining and no restart. ``Rules.version`` names the rules in force (the
file's ``version``, else the first 12 hex digits of the SHA-256 of its bytes); every audit
record carries it.
"""

from __future__ import annotations

import hashlib
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
    version: str = ""  # the file's explicit version, else a short hash of its bytes


def rules_path() -> Path:
    return Path(os.environ.get("ANXIN_COMPLIANCE_RULES", DEFAULT_RULES))


def version_of(raw: dict, source: bytes) -> str:
    """The rules' version: explicit (``version:`` in the file) or the file's short content hash."""
    explicit = raw.get("version")
    return str(explicit) if explicit not in (None, "") else hashlib.sha256(source).hexdigest()[:12]


def parse(raw: dict, source: bytes = b"") -> Rules:
    phrases = tuple((category, phrase.casefold())
                    for category, items in raw["forbidden_phrases"].items() for phrase in items)
    patterns = tuple((category, re.compile(pattern, re.IGNORECASE))
                     for category, items in raw["forbidden_patterns"].items() for pattern in items)
    return Rules(raw["mandatory_warning"], raw["past_performance_warning"], phrases, patterns,
                 raw["blocked_reply"], version_of(raw, source))


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
        source = path.read_bytes()
        rules = parse(yaml.safe_load(source), source)
        _cache[str(path)] = (stamp, rules)
        return rules
