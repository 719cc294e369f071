"""Near misses of protected names: 中华人民共合国 for 中华人民共和国.

A near miss is a stretch of text one edit away from a protected name (one character
substituted, inserted or deleted). Rules that keep false alarms rare:

* Names shorter than :data:`MIN_LENGTH` (4) are never matched loosely: one edit away from
  中国 or 国务院 is most of the language.
* An edit at the first or last character counts only for names of at least
  :data:`EDGE_MIN_LENGTH` (6) characters, and only as a substitution. Chinese organ names end
  in the kind of body (部, 局, 厅, 委): 应急管理局 is a city bureau, not a misspelt 应急管理部.
  An extra or missing character at an end is just the neighbouring text, and so is a changed
  one when the rest already holds a protected name (中华人民共和国国务院 is no misspelt
  中华人民共和国国徽), and so is an edit just after a correct name with less than
  :data:`NEXT_WORD` characters after it (中华人民共和国刑法 is no misspelt 中华人民共和国宪法).
* Text that is itself a protected name, or lies in a word of ``allowed.txt``, is never one.

Finding them fast: every one-edit variant of every name (a substituted character as
``[^x]``, an inserted one as any character, a deleted one left out) goes into one trie-shaped
regular expression that starts with a literal character, so one pass of ``re`` in C over the
whole notice finds the candidates; Python only verifies those few. The cost grows with the
length of the text, not with text x names x length. Names changed at their first character
come from a second pass that looks for the rest of the name.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from publisher.checks.texts import SEP
from publisher.checks.trie import compile_words, fragments_regex

MIN_LENGTH = 4
EDGE_MIN_LENGTH = 6
# Beside a correct protected name, fewer unchanged characters than this past the edit read as
# the next word (刑法 after 中华人民共和国), more as a misspelt longer name (…大会长务委员会).
NEXT_WORD = 3


@dataclass(frozen=True)
class NearMiss:
    start: int
    text: str
    name: str


def edit_at(window: str, name: str) -> int | None:
    """Where ``window`` differs from ``name`` by one edit the rules allow, else None."""
    n, m = len(name), len(window)
    if m == n and window != name:
        if window[0] != name[0]:
            return 0 if n >= EDGE_MIN_LENGTH and window[1:] == name[1:] else None
        if window[-1] != name[-1]:
            return n - 1 if n >= EDGE_MIN_LENGTH and window[:-1] == name[:-1] else None
    elif abs(m - n) != 1 or window[0] != name[0] or window[-1] != name[-1] or name in window:
        return None  # the same text, or an insertion or deletion at an end
    # Both ends agree: the edit is inside. Find where the two first differ (cheap slicing
    # checks above keep this loop to the few windows that get this far).
    i, limit = 1, min(m, n)
    while i < limit and window[i] == name[i]:
        i += 1
    if m == n:
        same = window[i + 1 :] == name[i + 1 :]
    elif m == n + 1:  # a character inserted at i
        same = window[i + 1 :] == name[i:]
    else:  # the character name[i] left out
        same = window[i:] == name[i + 1 :]
    return i if same else None


def one_edit(window: str, name: str) -> bool:
    """``window`` is ``name`` with one character changed, inserted or deleted (rules above)."""
    return edit_at(window, name) is not None


class NearMissIndex:
    """The protected names, as one pattern of their one-edit variants."""

    def __init__(self, names: Iterable[str], allowed: Iterable[str] = ()) -> None:
        self.names = frozenset(n for n in names if n)
        loose = sorted(n for n in self.names if len(n) >= MIN_LENGTH)
        self._by_first: dict[str, list[str]] = defaultdict(list)
        for name in loose:
            self._by_first[name[0]].append(name)
        self._variants = _compile(fragments_regex(v for n in loose for v in _variants(n)))
        # A name changed at its first character: find the rest, look at the one before it.
        self._tails = {n[1:]: n for n in loose if len(n) >= EDGE_MIN_LENGTH}
        self._tail = compile_words(self._tails)
        # Stretches never reported: the protected names themselves and the allowed words.
        self._correct = compile_words({*self.names, *allowed})
        self._long = loose
        self._long_name = compile_words(loose)

    def find(self, text: str) -> list[NearMiss]:
        """Every near miss in ``text`` (positions in ``text``), first position first."""
        candidates: list[tuple[int, str, list[str]]] = []
        if self._variants is not None:
            for m in self._variants.finditer(text):
                candidates.append((m.start(), m.group(), self._by_first[m.group()[0]]))
        if self._tail is not None:
            for m in self._tail.finditer(text):
                p = m.start() - 1
                name = self._tails[m.group()]
                if p >= 0 and text[p] not in (name[0], SEP):
                    candidates.append((p, text[p] + m.group(), [name]))
        if not candidates:
            return []
        correct = self._correct_spans(text)
        found: dict[int, NearMiss] = {}
        for start, window, names in candidates:
            if start in found or _covered(correct, start, start + len(window)):
                continue
            for name in names:
                i = edit_at(window, name)
                if i is not None and not self._other_words(window, name, i):
                    found[start] = NearMiss(start, window, name)
                    break
        return sorted(found.values(), key=lambda f: f.start)

    def _other_words(self, window: str, name: str, i: int) -> bool:
        """The text is a protected name with other words beside it, not a misspelt ``name``:
        a name ends just before the edit with little of ``name`` after it (中华人民共和国刑法
        and 中华人民共和国法律 are no 中华人民共和国宪法), or starts just after it with little
        before, or the edit is at an end and the rest holds a name."""
        before = window[:i]
        after = window[i + 1 :] if len(window) >= len(name) else window[i:]
        if len(after) < NEXT_WORD and any(before.endswith(p) for p in self._long):
            return True
        if len(before) < NEXT_WORD and any(after.startswith(p) for p in self._long):
            return True
        at_end = i in (0, len(name) - 1) and len(window) == len(name)
        return (
            at_end and self._long_name is not None and bool(self._long_name.search(before + after))
        )

    def _correct_spans(self, text: str) -> list[tuple[int, int]]:
        if self._correct is None:
            return []
        return [(m.start(), m.end()) for m in self._correct.finditer(text)]


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) lies within a correct word (the spans are sorted, disjoint)."""
    i = bisect_right(spans, (start, 1 << 62)) - 1  # the last span starting at or before start
    return i >= 0 and spans[i][0] <= start and end <= spans[i][1]


def _variants(name: str) -> Iterator[list[str]]:
    """Every one-edit variant the rules allow, as regex fragments, none starting with a wildcard."""
    n = len(name)
    chars = [re.escape(ch) for ch in name]
    subs = range(1, n) if n >= EDGE_MIN_LENGTH else range(1, n - 1)
    for j in subs:
        yield [*chars[:j], f"[^{_class(name[j])}]", *chars[j + 1 :]]
    for j in range(1, n):  # inserted before name[j]; a copy of name[j] counts one later
        yield [*chars[:j], f"[^{_class(name[j])}]", *chars[j:]]
    for j in range(1, n - 1):
        yield [*chars[:j], *chars[j + 1 :]]


def _class(ch: str) -> str:
    """``ch`` and the separator, escaped for a negated character class."""
    return re.escape(SEP) + re.escape(ch)


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern is not None else None
