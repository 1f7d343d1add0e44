"""How the compliance code compares text: one folding for the guard's wording checks and the
catalogue's product detection.

A message can spell the same words many ways: full-width letters and digits (ＡＸ－ＭＭＦ－０１,
５％), upper or lower case, spaces between Chinese characters (保 本), invisible characters
(zero-width spaces, soft hyphens) slipped between letters. Folding all of them away before
matching means a rule written once in the rules file or the catalogue catches every spelling.
"""

from __future__ import annotations

import re
import unicodedata

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")  # whitespace except line breaks
_NAME_SEPARATORS = frozenset({"Zs", "Zl", "Zp", "Cc", "Pd", "Pc"})  # spaces, controls, dashes, underscores


def fold(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, invisible characters removed, runs of
    spaces and tabs made one space. Line breaks stay: they separate list items, and a pattern
    must not join the end of one item to the number of the next."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return _HORIZONTAL_SPACE.sub(" ", visible)


def without_spaces(text: str) -> str:
    """``fold`` with every space and tab removed: "保 本" is 保本."""
    return _HORIZONTAL_SPACE.sub("", fold(text))


def name_key(text: str) -> str:
    """The form product names, aliases and ids are compared in: ``fold`` without any space,
    line break, dash or underscore, so "AX-MMF-01", "ax_mmf_01", "AX MMF 01" and
    "稳盈 90 天" / "稳盈90天" are one spelling each."""
    return "".join(c for c in fold(text) if unicodedata.category(c) not in _NAME_SEPARATORS)
