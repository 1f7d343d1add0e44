"""Refuse a forbidden-wording pattern that could make the guard backtrack for ever.

Python's ``re`` backtracks, and it holds the interpreter lock while it does: one pattern such as
``(a+)+$`` or ``\\d*\\d*x`` run over a long reply freezes the whole server (the Rasa server, or the
copilot whose console tries drafts), not one request. The rules file is data an officer edits,
so every pattern is checked when a rules file (or a console draft) is validated, before it is
ever run, and refused with the reason when it has one of the shapes that backtrack badly:

- a repeated group that itself holds a repeat (``(a+)+``, ``(\\w+\\s?)*``): nested quantifiers,
  exponential;
- a repeated alternation (``(a|ab)*``, ``(?:x|y)+``): the branches may match the same text,
  exponential;
- two unbounded repeats written one right after the other that can match the same characters
  (``\\d+\\d*``, ``.*.*``): polynomial, minutes on a few thousand characters;
- back-references and very long patterns.

The check reads the parsed pattern (``re``'s own parser) and is conservative: it may refuse a
pattern that would have been harmless, never the other way round for these shapes. The rules in
force (``bot/compliance/rules.yml``) use none of them.
"""

from __future__ import annotations

try:  # Python 3.11+
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # Python 3.10 (the Rasa server)
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

import re

MAX_PATTERN_CHARS = 300
UNBOUNDED = 50  # a repeat allowing more than this many counts as unbounded
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | ({_c.POSSESSIVE_REPEAT} if hasattr(_c, "POSSESSIVE_REPEAT") else set())
# Characters the overlap of two character sets is tried on: ASCII and Latin-1, general
# punctuation, CJK punctuation and full-width forms, a few CJK characters, plus every literal of
# the pattern itself (added per pattern).
_SAMPLE = ("".join(chr(c) for c in range(0x00, 0x250)) + "".join(chr(c) for c in range(0x2000, 0x2070))
           + "".join(chr(c) for c in range(0x3000, 0x3040)) + "".join(chr(c) for c in range(0xFF00, 0xFF60))
           + "的年化收益率回报利息一定会涨跌保本")


class _Any:
    """Stands for "any character" when a set cannot be worked out (conservative)."""


ANY = _Any()


def problem(pattern: str) -> str | None:
    """Why ``pattern`` may backtrack catastrophically (None: it has none of the shapes above).
    ``pattern`` must already compile."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    try:
        parsed = _parser.parse(pattern, re.IGNORECASE)
    except re.error as error:
        return f"not a regular expression ({error})"
    literals = {chr(av) for op, av in _flatten(parsed) if op in (_c.LITERAL, _c.NOT_LITERAL)}
    sample = _SAMPLE + "".join(literals) + "".join(c.upper() for c in literals)
    try:
        _check_sequence(list(parsed), sample)
    except _Refused as refused:
        return str(refused)
    return None


class _Refused(Exception):
    pass


def _flatten(items):
    """Every (op, av) of a parsed pattern, at any depth."""
    for op, av in items:
        yield op, av
        for child in _children(op, av):
            yield from _flatten(child)


def _children(op, av) -> list:
    if op in _REPEATS:
        return [av[2]]
    if op == _c.SUBPATTERN:
        return [av[-1]]
    if op == _c.BRANCH:
        return list(av[1])
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [av[1]]
    if op == getattr(_c, "ATOMIC_GROUP", None):
        return [av]
    if op == _c.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch is not None]
    return []


def _is_repeat(op, av) -> bool:
    return op in _REPEATS and (av[1] == _c.MAXREPEAT or av[1] > 1)


def _unbounded(op, av) -> bool:
    return op in _REPEATS and (av[1] == _c.MAXREPEAT or av[1] > UNBOUNDED)


def _check_sequence(items: list, sample: str) -> None:
    _walk(items, [], sample)


def _walk(items, trailing: list, sample: str) -> list:
    """Check a sequence of parsed items. ``trailing``: the character sets of the unbounded
    repeats written right before it; returns those written at its end."""
    for op, av in items:
        if op in (_c.GROUPREF, getattr(_c, "GROUPREF_EXISTS", None)):
            raise _Refused("a back-reference (\\1, (?P=name)) can backtrack without bound; spell the words out")
        if _is_repeat(op, av):
            inner = list(_flatten(av[2]))
            if any(_is_repeat(o, a) for o, a in inner):
                raise _Refused("a repeated group holds another repeat (like (a+)+): it can backtrack for ever")
            if any(o == _c.BRANCH for o, _ in inner):
                raise _Refused("a repeated alternation (like (a|ab)*): it can backtrack for ever")
            _walk(av[2], [], sample)  # assertions inside
            chars = _chars(op, av, sample)
            if _unbounded(op, av) and any(_overlap(chars, earlier) for earlier in trailing):
                raise _Refused("two unbounded repeats written one after the other can match the same characters "
                               "(like \\d+\\d* or .*.*): it backtracks on long texts")
            trailing = [chars] if _unbounded(op, av) else []
        elif op in _REPEATS:  # at most once: x? or (...)?
            trailing = _walk(av[2], trailing, sample)
        elif op == _c.SUBPATTERN:
            trailing = _walk(av[-1], trailing, sample)
        elif op == _c.BRANCH:
            trailing = [found for branch in av[1] for found in _walk(branch, trailing, sample)]
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            _walk(av[1], [], sample)
        elif op == getattr(_c, "ATOMIC_GROUP", None):
            _walk(av, [], sample)
            trailing = []
        elif op != _c.AT:
            trailing = []
    return trailing


def _chars(op, av, sample: str):
    """The set of sample characters ``(op, av)`` can match anywhere, or ANY."""
    if op == _c.LITERAL:
        return {c for c in sample if c.casefold() == chr(av).casefold()}
    if op == _c.NOT_LITERAL:
        return {c for c in sample if c.casefold() != chr(av).casefold()}
    if op == _c.ANY:
        return ANY
    if op == _c.IN:
        return {c for c in sample if _in_set(c, av)}
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return set()
    children = _children(op, av)
    if not children:
        return ANY
    found: set = set()
    for child in children:
        for o, a in child:
            part = _chars(o, a, sample)
            if part is ANY:
                return ANY
            found |= part
    return found


def _in_set(char: str, items) -> bool:
    """Whether ``char`` is in a parsed character class (case-insensitively, as the rules compile)."""
    negate = False
    hit = False
    for op, av in items:
        if op == _c.NEGATE:
            negate = True
        elif op == _c.LITERAL:
            hit = hit or char.casefold() == chr(av).casefold()
        elif op == _c.RANGE:
            hit = hit or any(len(c) == 1 and av[0] <= ord(c) <= av[1] for c in {char, char.lower(), char.upper()})
        elif op == _c.CATEGORY:
            hit = hit or _in_category(char, av)
        else:  # anything unusual: assume it matches
            hit = True
    return hit != negate


_CATEGORIES = {
    "CATEGORY_DIGIT": re.compile(r"\d"), "CATEGORY_NOT_DIGIT": re.compile(r"\D"),
    "CATEGORY_SPACE": re.compile(r"\s"), "CATEGORY_NOT_SPACE": re.compile(r"\S"),
    "CATEGORY_WORD": re.compile(r"\w"), "CATEGORY_NOT_WORD": re.compile(r"\W"),
}


def _in_category(char: str, category) -> bool:
    name = str(category).split(".")[-1]
    for key, matcher in _CATEGORIES.items():
        if name.endswith(key):
            return matcher.match(char) is not None
    return True


def _overlap(first, second) -> bool:
    if first is ANY or second is ANY:
        return True
    return bool(first & second)
