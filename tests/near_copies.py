"""Near-copy detection between data sets that must stay apart (training vs evaluation).

Exact disjointness is not enough: "LPR 降了我的房贷会变吗" and "LPR降了我房贷会变吗" are the same
question. Texts are compared after dropping case, spaces and punctuation, by difflib's ratio.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

CEILING = 0.8  # at or above this ratio two short messages are one message reworded by a character or two


def normal(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text.casefold())


def near_copies(candidates: Iterable[str], references: Iterable[str],
                ceiling: float = CEILING) -> list[tuple[str, str]]:
    """Every (candidate, reference) pair at least ``ceiling`` alike."""
    kept = [normal(r) for r in references]
    found = []
    for candidate in {normal(c) for c in candidates}:
        matcher = difflib.SequenceMatcher(None, "", candidate)  # b is cached: one matcher per candidate
        for reference in kept:
            matcher.set_seq1(reference)
            if matcher.quick_ratio() >= ceiling and matcher.ratio() >= ceiling:
                found.append((candidate, reference))
    return found
