"""Read a money amount out of what a customer typed: "500", "1,000.50元", "五百块", "1.5万", "2k".

Customers rarely type clean numbers, and a transfer must never run on a misread amount:
anything ambiguous (two different numbers, nothing numeric) returns ``None`` so the bot asks again.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_SUFFIX = {"k": 1000, "K": 1000, "千": 1000, "万": 10_000, "w": 10_000, "W": 10_000}

_ARABIC = re.compile(r"(-?)(\d[\d,，]*(?:\.\d+)?)\s*([kKwW千万]?)")
# A Chinese numeral counts only with a unit inside (五百, 三万) or a currency word after it
# (五元, 八块), or as the whole message (五): otherwise 张三 would read as 3 yuan.
_NUMERAL = "[零〇一二两三四五六七八九十百千万亿]"
_CHINESE = re.compile(rf"({_NUMERAL}+)(?=\s*[元块圆])|({_NUMERAL}*[十百千万亿]{_NUMERAL}*)")
_CENTS = Decimal("0.01")


def _chinese_to_int(word: str) -> int | None:
    """Convert a Chinese numeral such as 一千二百 or 三万五千 to an integer."""
    total, section, digit = 0, 0, None
    for char in word:
        if char in _DIGITS:
            digit = _DIGITS[char]
        elif char in ("万", "亿"):
            section = (section + (digit or 0)) * _UNITS[char]
            total += section
            section, digit = 0, None
        else:  # 十 百 千
            section += (1 if digit is None else digit) * _UNITS[char]
            digit = None
    total += section + (digit or 0)
    return total or None


def parse_amount(text: str | None) -> Decimal | None:
    """Return the single amount in ``text`` rounded to cents, or None if there is none or
    there are several different ones."""
    if not text:
        return None
    found: set[Decimal] = set()
    for minus, number, suffix in _ARABIC.findall(text):
        if minus:
            return None  # a negative amount is never a transfer
        try:
            value = Decimal(number.replace(",", "").replace("，", ""))
        except InvalidOperation:
            continue
        found.add(value * _SUFFIX.get(suffix, 1))
    if not found:
        words = [a or b for a, b in _CHINESE.findall(text)]
        if not words and text.strip() in _DIGITS:
            words = [text.strip()]
        for word in words:
            if word in ("万", "亿") or not any(c in _DIGITS or c == "十" for c in word):
                continue
            value = _chinese_to_int(word)
            if value:
                found.add(Decimal(value))
    if len(found) != 1:
        return None
    amount = found.pop().quantize(_CENTS)
    return amount if amount > 0 else None
