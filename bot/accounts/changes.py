"""What a change of mind at the transfer confirmation changes: "make that 300 instead of 250",
"不是250，是300", "actually send it to Alice, not Bob", "改成给王芳", "金额改一下".

A message that changes a transfer often names the old value too. Reading every amount in it
("300 instead of 250" has two) either refuses it as ambiguous or, worse, keeps the old one, and
the customer who says "yes" to a confirmation they did not read closely sends the old amount.
So the old value is recognised by the words around it (``change_words.yml``: it follows
"instead of", "not", "不是"; it stands before "改成" / "to" after "把" / "change" / "from"),
taken out, and the new value read from what is left, as strictly as anywhere else
(``bot.accounts.amounts``, ``bot.accounts.payees``). When the words do not settle it but the
message names exactly two amounts and one of them is the amount being changed, the other is
the new one. A message that names what to change without a new value ("change the payee")
says so, and the bot asks for the value rather than confirming the old transfer again.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from bot.accounts.amounts import AmountReading, read_amount
from bot.accounts.payees import PayeeMatch, match_payee, name_forms, normalise

WORDS_FILE = Path(__file__).with_name("change_words.yml")
# An amount as it may be written next to the words that mark it old: digits (with separators, a
# k/万 suffix, a currency word) or a Chinese numeral.
_AMOUNT = (r"(?<![\d.,])\d(?:[\d,.]*\d)?(?:\s*[kw千万](?![a-z]))?(?:\s*(?:元|块钱|块|圆|yuan|rmb|cny))?"
           r"|[零〇一二两三四五六七八九十百千万亿]+(?:元|块钱|块)?")
# Words that may stand between a marker and the old value ("not to Bob", "不是转给李四").
_FILLER_EN = r"(?:(?:the|a|send|sending|sent|pay|paying|transfer|transferring|give|it|that|to)\s+){0,3}"
_FILLER_ZH = r"(?:转给|转账给|转账|转|给|是)?"


@dataclass(frozen=True)
class Change:
    """What a message changes. ``amount``: the reading of the new amount, or None when the
    message names no amount at all; ``payee``: the new payee's match, or None when it names no
    payee at all; ``asks``: "amount" / "payee" when it names what to change without a new value
    (or names only the old one), else None."""

    amount: AmountReading | None = None
    payee: PayeeMatch | None = None
    asks: str | None = None

    @property
    def nothing(self) -> bool:
        return self.amount is None and self.payee is None and self.asks is None


@functools.lru_cache(maxsize=1)
def _words() -> dict:
    return yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))


def _alternation(words: Sequence[str], latin: bool) -> str:
    """Longest first; a Latin word must stand whole ("not" is not in "cannot")."""
    ordered = sorted({normalise(w) for w in words}, key=len, reverse=True)
    if latin:
        return "|".join(rf"(?<![a-z']){re.escape(w)}(?![a-z])" for w in ordered)
    return "|".join(re.escape(w) for w in ordered)


def _value(names: Sequence[str]) -> str:
    forms = sorted(name_forms(names), key=len, reverse=True)
    named = "|".join(rf"(?<![a-z]){re.escape(f)}(?![a-z])" for f in forms if len(f) >= 2)
    return f"(?:{named}|{_AMOUNT})" if named else f"(?:{_AMOUNT})"


def _comparable(text: str) -> str:
    """``text`` as names are compared (``payees.normalise``), a full-width comma kept a pause
    in a sentence rather than becoming a thousands separator ("100，200" is two amounts)."""
    return normalise(text.replace("，", "、"))


def without_old_values(text: str, names: Sequence[str]) -> str:
    """``text`` (normalised) with the values it marks as the old ones taken out."""
    words = _words()
    text = _comparable(text)
    value = _value(names)
    patterns = [
        rf"(?:{_alternation(words['old_after']['en'], True)})\s*{_FILLER_EN}{value}",
        rf"(?:{_alternation(words['old_after']['zh'], False)}){_FILLER_ZH}{value}",
        rf"(?:{_alternation(words['old_before_opener']['en'], True)})\s+(?:the\s+)?{value}"
        rf"(?=\s*(?:{_alternation(words['old_before']['en'], True)}))",
        rf"(?:{_alternation(words['old_before_opener']['zh'], False)})?{value}"
        rf"(?=\s*(?:{_alternation(words['old_before']['zh'], False)}))",
    ]
    for pattern in patterns:
        text = re.sub(pattern, " ", text)
    return " ".join(text.split())


def _amounts_in(text: str) -> set[Decimal]:
    """Every well-formed amount written in ``text``, one by one."""
    found = set()
    for match in re.finditer(_AMOUNT, _comparable(text)):
        reading = read_amount(match.group(0))
        if reading.value is not None:
            found.add(reading.value)
    return found


def _asks(text: str) -> str | None:
    typed = _comparable(text)
    for field in ("amount", "payee"):
        words = _words()["field"][field]
        if re.search(_alternation(words["en"], True), typed) or re.search(_alternation(words["zh"], False), typed):
            return field
    return None


def read_change(text: str, names: Sequence[str], previous_amount: Decimal | None) -> Change:
    """What ``text`` changes of a transfer of ``previous_amount`` to one of the saved ``names``."""
    if not text or not text.strip():
        return Change()
    rest = without_old_values(text, names)
    amount: AmountReading | None = None
    if read_amount(text).problem != "none":  # the message names an amount, old or new
        amount = read_amount(rest)
        if amount.problem == "several":
            others = _amounts_in(text) - {previous_amount}
            if len(_amounts_in(text)) == 2 and len(others) == 1:
                amount = AmountReading(others.pop())
        if amount.problem == "none":  # only the old amount was named ("not 250")
            amount = None
    payee: PayeeMatch | None = match_payee(names, rest)
    if payee.name is None and not payee.near:
        payee = None
    asks = None
    if amount is None and payee is None:
        named_old = read_amount(text).problem != "none" or match_payee(names, text).name is not None
        asks = _asks(text) or ("amount" if read_amount(text).problem != "none" else "payee" if named_old else None)
    return Change(amount, payee, asks)
