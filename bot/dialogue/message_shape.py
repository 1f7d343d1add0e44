"""The shape of a message, whatever it means: is it plainly a question, and is there enough
in it to understand at all?

Both servers use this (dependency-free but for PyYAML): the Rasa server's NLU pipeline turns a
message that is too short to understand into ``nlu_fallback`` (bot.rasa_ext.too_short), so "a",
"7" or a bare emoji gets a clarifying question instead of being read as "yes, put me through";
the action server refuses to take a form's slot value from a sentence that is plainly a
question ("wait, is there a fee for interbank transfers?" is not a payee's name).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

import yaml

SHORT_ANSWERS_FILE = Path(__file__).with_name("short_answers.yml")

# A question mark anywhere, a Chinese question particle or word, or an English sentence that
# opens like a question. Kept to forms that are questions in every context: "多少" alone is not
# one ("转多少" answers nothing), "多少钱" / "是多少" are.
_QUESTION_MARK = re.compile(r"[?？]")
_ZH_QUESTION = re.compile(r"(吗|么|呢)\s*[。.!！]*\s*$|什么|怎么|为什么|为何|是否|能不能|可不可以|会不会|有没有|是不是|"
                          r"多少钱|是多少|几天|哪里|哪个|哪些|如何")
_EN_QUESTION = re.compile(r"^\s*(wait|sorry|hang on|hold on|actually|oh|um+|hmm+|and|but|so)?[\s,.!-]*"
                          r"(what|how|why|when|where|which|who|whom|whose|is|are|am|was|were|do|does|did|"
                          r"can|could|will|would|should|shall|may|might|have|has)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_question(text: str | None) -> bool:
    """True for a sentence that is plainly a question (a question mark, a question word, or an
    English question opening). A bare name or amount is never one."""
    text = (text or "").strip()
    if not text or text.startswith("/"):
        return False
    # An English opening needs three words at least: "Will Smith" or "May Li" is a payee's name.
    english = len(text.split()) >= 3 and _EN_QUESTION.search(text)
    return bool(_QUESTION_MARK.search(text) or _ZH_QUESTION.search(text) or english)


@functools.lru_cache(maxsize=1)
def _short_answers() -> frozenset[str]:
    with open(SHORT_ANSWERS_FILE, encoding="utf-8") as handle:
        return frozenset(str(word).casefold() for word in yaml.safe_load(handle))


def _bare(text: str) -> str:
    """The message without spaces, punctuation and symbols (emoji), case-folded."""
    return "".join(ch for ch in text.casefold()
                   if not unicodedata.category(ch).startswith(("P", "S", "Z", "C")))


def too_short(text: str | None) -> bool:
    """True when there is too little in a message to understand it: no words at all (a bare
    emoji, "???"), a single letter, or a number alone — unless it is one of the reviewed short
    answers (yes, no, ok, 好, 算了 ...). Inside a form a number alone is still a valid answer:
    the form takes it as the requested slot's value before intents matter (domain.yml mappings)."""
    text = (text or "").strip()
    if not text or text.startswith("/"):  # empty messages and button payloads have their own paths
        return False
    bare = _bare(text)
    if bare in _short_answers():
        return False
    if not bare or bare.isdigit():
        return True
    words = _WORD.findall(bare)
    return len(words) == 1 and len(words[0]) == 1 and words[0].isascii()
