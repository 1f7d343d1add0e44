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

A static check can be got round, though (``\\d+.?\\d+.?\\d+.?\\d+x`` or ``\\d{0,50}`` four times
have none of these shapes and still take minutes), so it is only the first, cheap filter. What
bounds the time is that a rule pattern never runs on ``re``: it is compiled with the ``regex``
module (``compile_rule``; a dependency of transformers and of Rasa, in both environments) and every
match of it goes through ``search``, which gives up after ``MATCH_TIMEOUT`` seconds and raises
``PatternTimeout``. ``regex`` also lets go of the interpreter lock while it matches, so other
requests keep being served meanwhile. And before a rules file (or a console draft) is accepted,
each of its patterns is run (``probe``) on texts built to make backtracking patterns slow: long
runs of digits, letters, spaces, Chinese characters and punctuation, and of the pattern's own
characters, preceded or followed by a character that makes the match fail. A pattern that runs
out of time on any of them is refused, naming the pattern; so the one that reaches the guard is
one that answered all of them quickly, and if a text still makes it run out of time the guard
treats the text as holding the forbidden wording (the message is held: see ``rulebook``).
"""

from __future__ import annotations

try:  # Python 3.11+
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # Python 3.10 (the Rasa server)
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _parser  # type: ignore[no-redef]

import re
import time

import regex

MAX_PATTERN_CHARS = 300
MATCH_TIMEOUT = 0.05  # seconds one search of one rule pattern may take (regex checks it every so often)
# Length of the probe texts. 50 ms on 300 characters refuses exponential and cubic-or-worse
# backtracking; a quadratic pattern (a run of digits scanned again from each start, as the yield
# patterns of rules.yml do) passes, and on a crafted text of thousands of digits it is cut off
# by MATCH_TIMEOUT instead.
PROBE_CHARS = 300
PROBE_TRIES = 3       # a probe text must run out of time this many times running: a busy machine is no reason
PROBE_BUDGET = 10.0   # seconds all the probes of one rules file may take together (about 0.3 s for rules.yml)
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


class PatternTimeout(TimeoutError):
    """A rule pattern gave up on a text after ``MATCH_TIMEOUT`` seconds."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"the pattern {pattern!r} took longer than {MATCH_TIMEOUT * 1000:.0f} ms")
        self.pattern = pattern


def compile_rule(pattern: str) -> regex.Pattern:
    """``pattern`` as the guard runs it: ``regex`` in its ``re``-compatible mode (VERSION0),
    case-insensitive. Raises ``regex.error`` when it does not compile."""
    return regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)


def search(compiled: regex.Pattern, text: str, timeout: float = MATCH_TIMEOUT):
    """``compiled.search(text)``, or ``PatternTimeout`` after ``timeout`` seconds."""
    try:
        return compiled.search(text, timeout=timeout)
    except TimeoutError:
        raise PatternTimeout(compiled.pattern) from None



def screen(compiled: list[regex.Pattern]) -> regex.Pattern | None:
    """All of ``compiled`` as one alternation, which matches a text exactly when one of them does
    (it tries each of them at each position); None when that cannot be promised: a pattern sets
    a flag for the whole pattern (``(?x)``...), which would apply to the others as well, or the
    alternation does not compile."""
    if not compiled:
        return None
    plain = _parser.parse("x", re.IGNORECASE).state.flags
    try:
        if any(_parser.parse(p.pattern, re.IGNORECASE).state.flags != plain for p in compiled):
            return None
        return compile_rule("|".join(f"(?:{p.pattern})" for p in compiled))
    except (re.error, regex.error, RecursionError, OverflowError):
        return None

_FILLERS = ("1", "a", " ", "的", ".", "%", "1 ", "1.", "1,", "a ", "a1", "的 ")
_BREAKERS = ("", "!", "\n", "。")
MAX_PROBE_LITERALS = 24


def probe_texts(pattern: str) -> list[str]:
    """Texts on which a pattern that backtracks badly runs for a long time: a long run of one
    filler (digits, letters, spaces, Chinese, punctuation, and each character the pattern names),
    then a character that makes the match fail. ``regex`` gives up at once on a text that lacks
    a character the pattern requires, so each run is also tried followed, or preceded, by all the
    characters the pattern names (run + ``!x``: \\d+.?\\d+x backtracks only on such a text)."""
    try:
        parsed = _parser.parse(pattern, re.IGNORECASE)
        own = list(dict.fromkeys(chr(av) for op, av in _flatten(parsed) if op == _c.LITERAL))
    except (re.error, RecursionError, OverflowError):
        own = []
    own = own[:MAX_PROBE_LITERALS]
    named = "".join(own)
    texts = []
    for filler in (*_FILLERS, *own):
        run = (filler * (PROBE_CHARS // len(filler) + 1))[:PROBE_CHARS]
        for breaker in _BREAKERS:
            texts.append(run + breaker)
            if named:
                texts += [run + breaker + named, named + run + breaker]
    return list(dict.fromkeys(texts))


def probe(compiled: regex.Pattern, deadline: float | None = None) -> str | None:
    """Why ``compiled`` may not be run by the guard (None: it answered every probe text in time).
    ``deadline``: a ``time.monotonic()`` by which the probes of the whole file must be done; past
    it the pattern is refused too, so a file of many slow-but-not-quite patterns cannot keep
    the server busy either."""
    for text in probe_texts(compiled.pattern):
        if deadline is not None and time.monotonic() > deadline:
            return (f"checking the patterns took longer than {PROBE_BUDGET:.0f} s in all; "
                    "the patterns are too slow (or too many)")
        if _times_out(compiled, text):
            return (f"took longer than {MATCH_TIMEOUT * 1000:.0f} ms on a text of {len(text)} characters "
                    f"({_describe(text)}): it backtracks on long texts")
    return None


def _times_out(compiled: regex.Pattern, text: str) -> bool:
    for _ in range(PROBE_TRIES):
        try:
            search(compiled, text)
            return False
        except PatternTimeout:
            continue
    return True


def _describe(text: str) -> str:
    """A probe text in a few characters: its start and its end."""
    return f"{text[:6]!r} ... {text[-3:]!r}"
