"""Which saved payee a customer means: exactly one, named exactly, or none and a question.

Money goes only to saved payees, so a near miss must never be "close enough": 张三三 is not
张三, and "Bob Lie" is not Bob Li. A name counts when, once the words around it are taken off
("转给李四吧", "to Bob Li please"; ``payee_words.yml``), the text *is* a saved name or an
unambiguous alias of one (the given name or surname of a Latin-script name: "alice" is Alice
Wang while no other payee is called Alice). Inside a whole message ("给张三转100元") a saved name
counts only where it stands whole: a Chinese name between characters that cannot be part of a
name (给 before, 转 after, a digit, an amount such as 三百元), a Latin-script name between
non-letters. Traditional characters read as simplified ones (張三 is 张三) and case is ignored.

Anything else comes back with ``near``: the saved names the text resembled (for "did you mean"),
so the bot asks which payee instead of guessing.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.language import to_simplified

WORDS_FILE = Path(__file__).with_name("payee_words.yml")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NUMERAL = "零〇一二两三四五六七八九十百千万亿"
_AMOUNT_AHEAD = re.compile(rf"[{_NUMERAL}]*[十百千万亿]?[{_NUMERAL}]*[元块圆十百千万亿]")
_EDGE = re.compile(r"^[\s\W_]+|[\s\W_]+$")


@dataclass(frozen=True)
class PayeeMatch:
    """``name``: the saved payee meant, or None; ``near``: saved names the text resembled when
    none matched exactly, or the several names it named at once."""

    name: str | None
    near: tuple[str, ...] = ()


@functools.lru_cache(maxsize=1)
def _words() -> dict:
    return yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))


def normalise(text: str) -> str:
    """Simplified characters, NFKC (full width to half), case-folded, single spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text or "")).casefold()
    return " ".join(text.split())


def _strip_words(text: str) -> str:
    """``text`` without punctuation at its ends and the filler words of payee_words.yml around it."""
    words = _words()
    leading = sorted((w.casefold() for lang in words["leading"].values() for w in lang), key=len, reverse=True)
    trailing = sorted((w.casefold() for lang in words["trailing"].values() for w in lang), key=len, reverse=True)
    changed = True
    while changed and text:
        changed = False
        text = _EDGE.sub("", text)
        for word in leading:
            if text.startswith(word) and len(text) > len(word):
                rest = text[len(word):]
                if _HAN.match(word) or rest[:1] == " ":
                    text, changed = rest.strip(), True
                    break
        for word in trailing:
            if text.endswith(word) and len(text) > len(word):
                rest = text[: -len(word)]
                if _HAN.match(word) or rest[-1:] == " ":
                    text, changed = rest.strip(), True
                    break
    return _EDGE.sub("", text)


def _aliases(names: Sequence[str]) -> dict[str, str]:
    """Every way of writing each saved name that points to it alone: the name, and for a
    Latin-script name its parts and its parts run together, unless another payee shares them."""
    seen: dict[str, set[str]] = {}
    for name in names:
        key = normalise(name)
        forms = {key, key.replace(" ", "")}
        if not _HAN.search(key) and " " in key:
            forms |= set(key.split())
        for form in forms:
            seen.setdefault(form, set()).add(name)
    return {form: next(iter(owners)) for form, owners in seen.items() if len(owners) == 1}


def _filler_tokens() -> frozenset[str]:
    words = _words()
    return frozenset(token for side in ("leading", "trailing") for phrase in words[side]["en"]
                     for token in phrase.casefold().split()) | {"and", "or", "for", "cny", "rmb", "yuan"}


def _stands_whole(text: str, start: int, end: int, chinese: bool, part: bool) -> bool:
    """True when ``text[start:end]`` is a whole name in ``text``, not part of a longer one.
    ``part``: the form is only part of a Latin-script name ("bob" of Bob Li), which must then
    not stand next to another word that could be the rest of some other name ("Bob Lee")."""
    before, after = text[start - 1:start], text[end:end + 1]
    if not chinese:
        if before.isalnum() or after.isalnum():
            return False
        if part:
            neighbours = re.findall(r"[^\W\d_]+", text[:start])[-1:] + re.findall(r"[^\W\d_]+", text[end:])[:1]
            return all(word in _filler_tokens() for word in neighbours)
        return True
    words = _words()
    if before and _HAN.match(before) and before not in words["zh_before"]:
        return False
    if after and _HAN.match(after) and after not in words["zh_after"]:
        # a Chinese amount may follow a name ("转给张三三百元" is 300 to 张三) but not a bare
        # numeral ("张三三" is somebody else)
        return after in _NUMERAL and bool(_AMOUNT_AHEAD.match(text, end))
    return True


def match_payee(names: Sequence[str], text: str | None) -> PayeeMatch:
    """The saved payee ``text`` names exactly (see the module docstring), or None and the near misses."""
    typed = normalise(text or "")
    if not typed or not names:
        return PayeeMatch(None)
    aliases = _aliases(names)
    full = {normalise(name) for name in names}
    core = _strip_words(typed)
    if core in aliases:
        return PayeeMatch(aliases[core])
    whole: set[str] = set()
    partial: set[str] = set()
    for form, name in aliases.items():
        chinese = bool(_HAN.search(form))
        if not chinese and len(form) < 2:
            continue
        for found in re.finditer(re.escape(form), typed):
            if not chinese and typed[found.start() - 1:found.start()].isalnum():
                continue  # letters inside another word ("li" in "alice"): no name there at all
            part = not chinese and form not in full
            stands = _stands_whole(typed, found.start(), found.end(), chinese, part)
            (whole if stands else partial).add(name)
    if len(whole) == 1 and not partial - whole:
        return PayeeMatch(whole.pop())
    if whole:
        return PayeeMatch(None, tuple(n for n in names if n in whole | partial))
    if core and len(core) >= 2:
        partial |= {name for form, name in aliases.items() if core in form}
    return PayeeMatch(None, tuple(n for n in names if n in partial))


def name_forms(names: Sequence[str]) -> dict[str, str]:
    """Every normalised way of writing each saved name that points to it alone (see ``_aliases``):
    what a message may call a payee, e.g. the old payee in "send it to Alice, not Bob"."""
    return _aliases(names)
