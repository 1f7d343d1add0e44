"""The compliance rules file, loaded once and reloaded whenever it changes on disk.

Rules are data (``bot/compliance/rules.yml``, or ``ANXIN_COMPLIANCE_RULES``): a compliance
officer can extend the forbidden list and every running server applies it on the next
message, with no retraining and no restart. ``Rules.version`` names the rules in force (the
file's ``version``, else the first 12 hex digits of the SHA-256 of its bytes); every audit
record carries it.

Because an edit takes effect at once, an edit that is wrong must not: a typo in a field name,
a list emptied by mistake, a warning deleted, a pattern that does not compile or that matches
every text, a file saved half-written. Each new version of the file is validated first
(``problems``). One that does not validate is refused: the last good rules stay in force, and
the refusal is logged (one JSON line, ``event: rules_refused``) and audited (kind
``rules_refused``, under the rules version kept in force, with the refused file's content
hash), once per refused file content and process. With no good rules at all (the file was
never valid in this process) there is nothing to keep: ``current()`` raises ``RulesRefused``
and the Rasa server does not start.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import regex
import yaml

from bot import metrics
from bot.compliance import pattern_safety
from bot.compliance.textmatch import fold, without_spaces

logger = logging.getLogger(__name__)
DEFAULT_RULES = Path(__file__).with_name("rules.yml")
LANGUAGES = ("zh", "en")
TEXTS = ("mandatory_warning", "past_performance_warning", "blocked_reply")
# Each forbidden list must be there and hold something: dropping one would silently switch off
# a rule of shared/reference/compliance.md (4: guarantees, superlatives, yields; 5: predictions;
# 8: urgency and fear). Further categories may be added.
REQUIRED = {"forbidden_phrases": ("guarantees", "superlatives", "urgency_and_fear"),
            "forbidden_patterns": ("stated_yield", "prediction")}
FIELDS = ("version", *TEXTS, *REQUIRED)
CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
AUDIT_SUBJECT = "compliance-rules"  # the audit trail's "customer" of a refused rules file


@dataclass(frozen=True)
class Rules:
    mandatory_warning: dict[str, str]
    past_performance_warning: dict[str, str]
    phrases: tuple[tuple[str, str], ...]          # (category, folded phrase; see textmatch.fold)
    patterns: tuple[tuple[str, regex.Pattern], ...]  # (category, compiled: pattern_safety.compile_rule)
    blocked_reply: dict[str, str]
    version: str = ""  # the file's explicit version, else a short hash of its bytes
    screen: regex.Pattern | None = None  # all the patterns as one (pattern_safety.screen), or None

    def wording_in(self, text: str) -> list[tuple[str, str]]:
        """(category, the words) for each forbidden phrase or pattern ``text`` contains, whatever
        its width, case, spacing or invisible characters. The one matcher: the guard checks
        every message part with it, and a new rules file checks its own texts with it.

        Each pattern search is bounded (``pattern_safety.search``). A pattern that runs out of time
        on ``text`` counts as a hit of its category: the guard cannot tell the text is clean, so
        it holds the message (the blocked reply is sent instead, and the block is audited), and
        the time-out is logged and counted (``anxin_rule_pattern_timeouts_total``)."""
        spaced, squeezed = fold(text), without_spaces(text)
        found = [(category, phrase) for category, phrase in self.phrases
                 if phrase in spaced or (" " not in phrase and phrase in squeezed)]
        forms = (spaced,) if squeezed == spaced else (spaced, squeezed)
        return found + self._pattern_hits(forms, len(text))

    def _pattern_hits(self, forms: tuple[str, ...], length: int) -> list[tuple[str, str]]:
        """The patterns' part of ``wording_in``. Almost every message holds none, so all the
        patterns are first tried as one (``screen``: one bounded search per form of the text
        instead of one per pattern, each of which pays the time-out's set-up); only when that
        finds something, or runs out of time, is each pattern searched on its own."""
        if self.screen is not None:
            try:
                if not any(pattern_safety.search(self.screen, form) for form in forms):
                    return []
            except pattern_safety.PatternTimeout:
                pass  # each pattern on its own, each bounded, says which one
        found = []
        for category, pattern in self.patterns:
            try:
                match = next((m for form in forms if (m := pattern_safety.search(pattern, form))), None)
            except pattern_safety.PatternTimeout:
                _timed_out(self.version, category, pattern.pattern, length)
                found.append((category, f"(no verdict: the pattern {pattern.pattern} ran out of time)"))
                continue
            if match:
                found.append((category, match.group(0)))
        return found


def _timed_out(version: str, category: str, pattern: str, length: int) -> None:
    metrics.RULE_PATTERN_TIMEOUTS.inc()
    logger.warning("Compliance pattern %r (%s, rules version %s) ran out of time on a text of %d characters; "
                   "the message is held", pattern, category, version, length,
                   extra={"event": "rule_pattern_timeout", "rules_version": version, "category": category,
                          "pattern": pattern, "text_chars": length})


@dataclass(frozen=True)
class Refusal:
    """A version of the rules file that was refused, and what was kept instead."""

    path: str
    content_hash: str            # first 12 hex digits of the SHA-256 of the refused bytes
    problems: tuple[str, ...]
    in_force: str | None         # the version of the rules kept in force; None: there were none
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "content_hash": self.content_hash, "problems": list(self.problems),
                "rules_version_in_force": self.in_force, "at": self.at.isoformat()}


class RulesRefused(ValueError):
    """The rules file does not validate and no earlier good version is in force."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"compliance rules file {refusal.path} refused: {'; '.join(refusal.problems)}")
        self.refusal = refusal


def rules_path() -> Path:
    return Path(os.environ.get("ANXIN_COMPLIANCE_RULES", DEFAULT_RULES))


def content_hash(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()[:12]


def version_of(raw: dict, source: bytes) -> str:
    """The rules' version: explicit (``version:`` in the file) or the file's short content hash."""
    explicit = raw.get("version")
    return str(explicit) if explicit not in (None, "") else content_hash(source)


def _texts_problems(name: str, value: Any) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name}: must map each language ({', '.join(LANGUAGES)}) to its text"]
    problems = [f"{name}.{language}: missing or empty" for language in LANGUAGES
                if not isinstance(value.get(language), str) or not value[language].strip()]
    problems += [f"{name}.{key}: unknown language" for key in value if key not in LANGUAGES]
    return problems


def _pattern_problem(item: str, deadline: float) -> str | None:
    """Why the forbidden pattern ``item`` may not be run by the guard (None: it may). Cheapest
    first: its length, whether it compiles (``re``, whose parser the static check reads, and
    ``regex``, which runs it), whether it matches an empty text, the static check of
    ``pattern_safety``, then the probe: the pattern is run on texts made to make it backtrack,
    under the time-out, and refused when it runs out of time."""
    if len(item) > pattern_safety.MAX_PATTERN_CHARS:
        return f"refused: longer than {pattern_safety.MAX_PATTERN_CHARS} characters"
    try:
        re.compile(item, re.IGNORECASE)
        compiled = pattern_safety.compile_rule(item)
    except (re.error, regex.error, RecursionError, OverflowError) as error:
        return f"not a regular expression ({error})"
    try:
        if pattern_safety.search(compiled, "") is not None:
            return "matches an empty text, so every text"
    except pattern_safety.PatternTimeout:
        return "refused: it runs out of time on an empty text"
    unsafe = pattern_safety.problem(item) or pattern_safety.probe(compiled, deadline)
    return f"refused: {unsafe}" if unsafe else None


def _list_problems(field: str, value: Any, deadline: float) -> list[str]:
    if not isinstance(value, dict) or not value:
        return [f"{field}: must map each category to a list"]
    problems = [f"{field}.{category}: missing" for category in REQUIRED[field] if category not in value]
    for category, items in value.items():
        where = f"{field}.{category}"
        if not isinstance(category, str) or not CATEGORY_NAME.match(category):
            problems.append(f"{where}: a category is named in lower-case letters, digits and _")
        elif not isinstance(items, list) or not items:
            problems.append(f"{where}: an empty list (a forbidden list must name something)")
        else:
            for number, item in enumerate(items, start=1):
                if not isinstance(item, str) or not item.strip():
                    problems.append(f"{where} item {number}: must be non-empty text, not {item!r}")
                elif field == "forbidden_patterns" and (why := _pattern_problem(item, deadline)):
                    shown = item if len(item) <= pattern_safety.MAX_PATTERN_CHARS else item[:60] + "..."
                    shown = f"'{shown}'" if shown.isprintable() else repr(shown)  # as written, unless unreadable
                    problems.append(f"{where} item {number}: {shown} {why}")
    return problems


def problems(raw: Any) -> list[str]:
    """Everything wrong with a rules file's content (an empty list: it validates)."""
    if not isinstance(raw, dict):
        return ["the file does not hold a mapping of rules (empty, or not YAML of the expected shape)"]
    found = [f"unknown field {key!r} (known: {', '.join(FIELDS)})" for key in raw if key not in FIELDS]
    version = raw.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (str, int, float))):
        found.append("version: must be text or a number")
    for name in TEXTS:
        found += _texts_problems(name, raw.get(name))
    deadline = time.monotonic() + pattern_safety.PROBE_BUDGET  # for all the patterns' probes together
    for field in REQUIRED:
        found += _list_problems(field, raw.get(field), deadline)
    if found:
        return found
    rules = parse(raw)
    own = [(name, language, text) for name in ("blocked_reply", "mandatory_warning")
           for language, text in raw[name].items()]
    for name, language, text in own:  # the texts the guard itself sends must pass it
        hits = [words for _, words in rules.wording_in(text)]
        if hits:
            found.append(f"{name}.{language}: contains forbidden wording ({', '.join(hits)})")
    return found


def parse(raw: dict, source: bytes = b"") -> Rules:
    """Rules from a file's content that ``problems`` found valid."""
    phrases = tuple((category, fold(phrase))
                    for category, items in raw["forbidden_phrases"].items() for phrase in items)
    patterns = tuple((category, pattern_safety.compile_rule(pattern))
                     for category, items in raw["forbidden_patterns"].items() for pattern in items)
    return Rules(raw["mandatory_warning"], raw["past_performance_warning"], phrases, patterns,
                 raw["blocked_reply"], version_of(raw, source),
                 pattern_safety.screen([pattern for _, pattern in patterns]))


MAX_PROBLEMS = 50  # a file with more is reported by its first ones
# rules.yml is about 3 KiB; twenty times that leaves room for a long list of phrases.
MAX_RULES_BYTES = 64 * 1024
# rules.yml nests 3 deep (a field, a category, its list). PyYAML builds nested collections by
# recursion and its scanner spends time proportional to the depth on every token, so 1,100
# nested brackets already end in a RecursionError and 60,000 in minutes of CPU.
MAX_NESTING = 20


class TooDeep(yaml.YAMLError):
    """The YAML nests collections more than ``MAX_NESTING`` deep."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, stopped by its own scanner as soon as a collection opens deeper than
    ``MAX_NESTING``: flow collections (``[``, ``{``; the scanner's ``flow_level``, which knows
    what is inside a quoted string and what is not) plus block indentation levels (``- - -`` or
    ever deeper keys; the scanner's ``indents``). The check runs while the text is read, before
    anything is built from it, so the cost is at most ``MAX_NESTING`` levels' worth and a
    hand-written pre-scan cannot disagree with the parser about quoting."""

    def _deeper(self) -> None:
        if self.flow_level + len(self.indents) > MAX_NESTING:
            raise TooDeep(f"collections nested more than {MAX_NESTING} deep (line {self.line + 1}); "
                          "a rules file needs 3")

    def fetch_flow_collection_start(self, TokenClass):  # noqa: N803 - PyYAML's name
        super().fetch_flow_collection_start(TokenClass)
        self._deeper()

    def add_indent(self, column):
        added = super().add_indent(column)
        if added:
            self._deeper()
        return added


def bounds_problem(source: bytes) -> str | None:
    """Why ``source`` is refused before it is read as rules: too large, or nested too deep (None:
    neither). Reads YAML tokens only (linear time); other YAML errors are left to ``load``."""
    if len(source) > MAX_RULES_BYTES:
        return f"a rules file is at most {MAX_RULES_BYTES // 1024} KiB (this one is {len(source) // 1024} KiB)"
    try:
        for _ in yaml.scan(source, Loader=_BoundedLoader):
            pass
    except TooDeep as error:
        return str(error)
    except (yaml.YAMLError, RecursionError):
        return None
    return None


def _without_aliases(source: bytes) -> str | None:
    """Why ``source`` cannot be read as plain YAML: an anchor or alias (``&a`` / ``*a``), which a
    rules file never needs and which lets a few lines expand into millions of items (an
    "alias bomb"); None when it has none."""
    try:
        for event in yaml.parse(source, Loader=_BoundedLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return "YAML anchors and aliases (&name, *name) are not allowed in a rules file"
    except (yaml.YAMLError, RecursionError):
        return None  # safe_load reports it
    return None


def load(source: bytes) -> tuple[Rules | None, list[str]]:
    """(rules, []) when ``source`` validates, else (None, its problems)."""
    refused = bounds_problem(source) or _without_aliases(source)
    if refused:
        return None, [refused]
    try:
        raw = yaml.load(source, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        return None, [f"not valid YAML: {' '.join(str(error).split())[:300]}"]
    except RecursionError:  # not expected past bounds_problem; never an uncaught error
        return None, [f"not valid YAML: nested too deep (at most {MAX_NESTING} levels)"]
    found = problems(raw)
    if len(found) > MAX_PROBLEMS:
        found = [*found[:MAX_PROBLEMS], f"... and {len(found) - MAX_PROBLEMS} more problems"]
    return (None, [p if len(p) <= 500 else p[:500] + "..." for p in found]) if found else (parse(raw, source), [])


@dataclass
class _Entry:
    """What this process knows of one rules file: the rules in force and the last refusal."""

    good: Rules | None = None
    good_hash: str | None = None
    stamp: tuple[int, int] | None = None  # (mtime_ns, size) of the file when ``good`` was read
    refusal: Refusal | None = None


_lock = threading.Lock()
_entries: dict[str, _Entry] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def current() -> Rules:
    """The rules in force: the file as it is now when it validates, else the last good rules
    (the refusal logged and audited once). Raises ``RulesRefused`` when there are none.

    The file is re-read when its modification time or size changes; while it is refused it is
    re-read on every call (a few kilobytes), so a fix, or the end of a save that was read
    half-way, takes effect on the next message."""
    path = rules_path()
    stamp = _stamp(path)
    with _lock:
        entry = _entries.setdefault(str(path), _Entry())
        if entry.good is not None and stamp is not None and stamp == entry.stamp:
            return entry.good
        try:
            source: bytes | None = path.read_bytes()
        except OSError as error:
            source, found = None, [f"cannot be read ({error.strerror or error})"]
        digest = content_hash(source) if source is not None else "unreadable"
        if entry.good is not None and digest == entry.good_hash:
            entry.stamp = stamp  # touched, not changed
            return entry.good
        if entry.refusal is not None and digest == entry.refusal.content_hash:
            if entry.good is None:
                raise RulesRefused(entry.refusal)
            return entry.good  # refused already: said once
        if source is not None:
            rules, found = load(source)
        else:
            rules = None
        if rules is not None:
            previous, entry.good, entry.good_hash, entry.stamp, entry.refusal = entry.good, rules, digest, stamp, None
            refusal = None
        else:
            previous = None
            refusal = entry.refusal = Refusal(str(path), digest, tuple(found),
                                              entry.good.version if entry.good else None,
                                              datetime.now(timezone.utc))
        kept = entry.good
    if refusal is not None:
        _report(refusal)
        if kept is None:
            raise RulesRefused(refusal)
        return kept
    if previous is not None:
        logger.info("Compliance rules reloaded from %s: version %s (was %s)", path, rules.version,
                    previous.version, extra={"event": "rules_reloaded", "rules_version": rules.version,
                                             "rules_file": str(path)})
    return rules


def last_refusal() -> Refusal | None:
    """The refusal of the rules file as it is now, if it is refused (for /health)."""
    entry = _entries.get(str(rules_path()))
    return entry.refusal if entry is not None else None


def _report(refusal: Refusal) -> None:
    """Log the refusal and, when rules are in force, audit it under their version. Called outside
    ``_lock``: the audit trail asks for ``current()`` itself, which answers from the entry."""
    kept = (f"the rules in force stay version {refusal.in_force}" if refusal.in_force
            else "no rules are in force")
    logger.error("Compliance rules file %s (content %s) refused, %s: %s", refusal.path, refusal.content_hash,
                 kept, "; ".join(refusal.problems),
                 extra={"event": "rules_refused", "rules_file": refusal.path,
                        "refused_content_hash": refusal.content_hash,
                        "rules_version_in_force": refusal.in_force, "problems": "; ".join(refusal.problems)})
    if refusal.in_force is None:
        return  # no version to record it under; the server refuses to start instead
    from bot.compliance import audit  # here: audit imports this module

    try:
        audit.record(AUDIT_SUBJECT, "rules_refused",
                     detail=f"refused {refusal.path} (content {refusal.content_hash}) in process {os.getpid()}: "
                            f"{'; '.join(refusal.problems)}; kept in force: version {refusal.in_force}")
    except Exception:  # noqa: BLE001 - the guard keeps working on the last good rules regardless
        logger.exception("The refusal of the compliance rules file %s could not be audited", refusal.path)
