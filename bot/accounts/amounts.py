"""Read a money amount out of what a customer typed: "500", "1,000.50元", "五百块", "1.5万", "2k".

Customers rarely type clean numbers, and a transfer must never run on a misread amount. So
``read_amount`` either finds exactly one well-formed positive amount or says what is wrong, and
the bot says that reason and asks again:

- ``negative``: a minus of any kind (``-``, ``−``, ``－``, "负", "minus") before a number. Never
  read as the number without its sign: "−100" is not a transfer of 100.
- ``malformed``: digit grouping that is not thousands ("1,000,0", "1,0000") or more than two
  decimals ("99.555"). "1,000,0" is not 10,000: a slip of the finger must not move ten times
  the money, so the customer types it again.
- ``not_positive``: zero.
- ``too_large``: more than ``MAX_AMOUNT`` (100,000,000, "1亿"): no customer of a retail chat
  moves that much in one message, and a number that size is far likelier a slip ("1万亿") than
  meant; ``typed`` is the amount as read, so the reply shows it was read right.
- ``several``: two different amounts ("转100还是200"); ``none``: nothing numeric.

Chinese units after digits multiply together ("1万亿" is 10^12, "3百" 300, "2千万" 20,000,000),
and a Chinese numeral counts its 亿 over everything before it ("一万亿"): a unit the reading did
not know would otherwise drop silently and leave a smaller number ("1万亿" once read 10,000).

Why one reading for the whole text: the NLU's entity extractor may hand over only part of what
was typed ("100" out of "−100", "1," out of "1,000,0"), so the transfer form also reads the
customer's whole message and refuses when that reading has a problem (actions/accounts.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_SUFFIX = {"k": 1000, "K": 1000, "十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000,
           "w": 10_000, "W": 10_000}
# The largest amount read as one; above it the reading is ``too_large`` (see the module's docstring).
MAX_AMOUNT = Decimal(100_000_000)

# A number as typed: digits with the separators a customer might put between them (grouping
# commas, a decimal point); whether the separators are well placed is decided afterwards.
_ARABIC = re.compile(r"\d(?:[\d,.]*\d)?")
# One Latin suffix ("2k", "3w") or a run of Chinese units ("1万亿", "5百万"), multiplied together.
_SUFFIX_AFTER = re.compile(r"\s*([kKwW](?![A-Za-z])|[十百千万亿]+)")
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+")
# Minus signs: hyphen-minus, the minus sign, full-width and small hyphen-minus, hyphens and dashes.
_MINUS = "-−－﹣‐‑‒–—"
_NEGATIVE_WORD = re.compile(r"(?:负|minus|negative)\s*$", re.IGNORECASE)
# A Chinese numeral counts only with a unit inside (五百, 三万) or a currency word after it
# (五元, 八块), or as the whole message (五): otherwise 张三 would read as 3 yuan.
_NUMERAL = "[零〇一二两三四五六七八九十百千万亿]"
_CHINESE = re.compile(rf"({_NUMERAL}+)(?=\s*[元块圆])|({_NUMERAL}*[十百千万亿]{_NUMERAL}*)")
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class AmountReading:
    """What a text says about an amount: ``value`` when it names exactly one well-formed positive
    amount, else ``problem`` (negative, malformed, not_positive, several, none) and ``typed``,
    the part of the text at fault (for the reply)."""

    value: Decimal | None = None
    problem: str | None = None
    typed: str = ""


def _chinese_to_int(word: str) -> int | None:
    """Convert a Chinese numeral such as 一千二百 or 三万五千 to an integer."""
    total, myriads, section, digit = 0, 0, 0, None  # 亿s so far, 万s since, the part below 万
    for char in word:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char == "亿":  # multiplies everything before it: 一万亿 is 10^12
            total = (total + myriads + section + (digit or 0)) * _UNITS[char]
            myriads, section, digit = 0, 0, None
        elif char == "万":
            myriads = (myriads + section + (digit or 0)) * _UNITS[char]
            section, digit = 0, None
        else:  # 十 百 千
            section += (1 if digit is None else digit) * _UNITS[char]
            digit = None
    total += myriads + section + (digit or 0)
    return total or None


def _negative(text: str, start: int) -> bool:
    """True when the number starting at ``start`` carries a minus: a minus sign right before it
    (not one between two numbers, "100-200", which is a range) or the word 负 / minus / negative."""
    before = text[:start].rstrip()
    if before and before[-1] in _MINUS:
        ahead = before[:-1].rstrip()
        return not (ahead and ahead[-1].isdigit())
    return bool(_NEGATIVE_WORD.search(before))


def _arabic(number: str) -> Decimal | None:
    """The value of a typed number, or None when its separators are not well placed: commas only
    in groups of three before the decimal point, one decimal point (how many decimals is checked
    once a suffix has multiplied it: "1.555万" is 15,550)."""
    whole, point, fraction = number.partition(".")
    if "." in fraction or "," in fraction:
        return None
    if "," in whole and not _GROUPED.fullmatch(whole):
        return None
    try:
        return Decimal(whole.replace(",", "") + point + fraction)
    except InvalidOperation:
        return None


def _shown(value: Decimal) -> str:
    """``value`` as the reply shows it (grouped, cents), cut short when absurdly long."""
    shown = f"{value:,.2f}"
    return shown if len(shown) <= 40 else shown[:40] + "…"


def read_amount(text: str | None) -> AmountReading:
    """The single amount in ``text`` rounded to cents, or the reason there is none."""
    if not text:
        return AmountReading(problem="none")
    # Full-width digits read as digits; a full-width comma stays a pause in a sentence ("转100，给
    # 李四"; "100，200" is two numbers), never a thousands separator.
    text = unicodedata.normalize("NFKC", text.replace("，", "、"))
    found: set[Decimal] = set()
    for match in _ARABIC.finditer(text):
        number = match.group(0).rstrip(",.")
        if _negative(text, match.start()):
            return AmountReading(problem="negative", typed=number)
        value = _arabic(number)
        if value is None:
            return AmountReading(problem="malformed", typed=number)
        suffix = _SUFFIX_AFTER.match(text, match.end())
        for unit in suffix.group(1) if suffix else "":
            value *= _SUFFIX[unit]
        if value > MAX_AMOUNT:  # before rounding: a 40-digit number has no cents to round to
            return AmountReading(problem="too_large", typed=_shown(value))
        if value != value.quantize(_CENTS):
            return AmountReading(problem="malformed", typed=number)
        found.add(value)
    if not found:
        words = [(m.start(), m.group(1) or m.group(2)) for m in _CHINESE.finditer(text)]
        if not words and text.strip() in _DIGITS:
            words = [(text.index(text.strip()), text.strip())]
        for start, word in words:
            if word in ("万", "亿") or not any(c in _DIGITS or c == "十" for c in word):
                continue
            if _negative(text, start):
                return AmountReading(problem="negative", typed=word)
            value = _chinese_to_int(word)
            if value:
                found.add(Decimal(value))
    if not found:
        return AmountReading(problem="none")
    if len(found) != 1:
        return AmountReading(problem="several")
    amount = found.pop().quantize(_CENTS)
    if amount > MAX_AMOUNT:
        return AmountReading(problem="too_large", typed=_shown(amount))
    return AmountReading(amount) if amount > 0 else AmountReading(problem="not_positive", typed=str(amount))


def parse_amount(text: str | None) -> Decimal | None:
    """Return the single amount in ``text`` rounded to cents, or None if there is none, there
    are several different ones, or it is negative, zero, malformed or too large (``read_amount``
    says which)."""
    return read_amount(text).value
