"""Which language a customer wrote in: Chinese first, English second.

Kept light because both servers use it: the action server sets the ``language`` slot every
turn, and the Rasa server uses it to answer "service busy" in the customer's language when the
action server cannot be reached. ``to_simplified`` serves both too: customers from Hong Kong,
Taiwan or abroad write traditional characters (轉帳, 張三), while the NLU was trained, the
payees are saved and the reviewed cue lists are written in simplified ones.
"""

from __future__ import annotations

import functools
import re

ZH = "zh"
EN = "en"
DEFAULT_LANGUAGE = ZH

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str | None, previous: str | None = None) -> str:
    """Return ``"zh"`` or ``"en"`` for a message.

    Any run of Han characters makes the message Chinese, even with English words mixed in
    ("我的credit card丢了"), because a customer who writes Chinese at all reads it best. A
    message with no letters (emoji, digits, "???") or a button payload ("/affirm") keeps the
    conversation's previous language.
    """
    text = (text or "").strip()
    if text.startswith("/"):  # a button payload ("/affirm"): the customer typed no words
        return previous if previous in (ZH, EN) else DEFAULT_LANGUAGE
    if _HAN.search(text):
        return ZH
    if _LATIN_WORD.search(text):
        return EN
    return previous if previous in (ZH, EN) else DEFAULT_LANGUAGE


# OpenCC writes 帳 as 帐, a variant simplified banking text does not use (转账, 账户, 账单).
_VARIANTS = str.maketrans({"帐": "账"})


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc_purepy import OpenCC  # pure Python, dictionaries in the wheel: loaded on first use

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """The message in simplified characters (OpenCC's phrase-aware t2s conversion); text with
    no Han characters, and button payloads, are returned as they are."""
    if not text or text.startswith("/") or not _HAN.search(text):
        return text
    return _t2s().convert(text).translate(_VARIANTS)

