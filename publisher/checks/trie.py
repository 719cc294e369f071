"""One regular expression for many words, shaped as a trie.

Python's ``re`` tries the branches of ``a|b|c`` one after another at every position; with
hundreds of words that is hundreds of attempts per character. Shared prefixes folded into a
trie (``中(?:国|华人民共和国)``) leave one character test per position for most text, and a
pattern whose every branch starts with a literal lets ``re`` skip ahead to the characters
that can start a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

END = ""  # marks the end of a sequence in a trie node (no fragment is empty)


def fragments_regex(sequences: Iterable[Sequence[str]]) -> str | None:
    """A pattern matching any sequence of regex fragments (one character each), longest first;
    None for none."""
    root: dict[str, Any] = {}
    for sequence in sequences:
        if not sequence:
            continue
        node = root
        for fragment in sequence:
            node = node.setdefault(fragment, {})
        node[END] = {}
    return _branch(root) if root else None


def _branch(node: dict[str, Any]) -> str:
    alternatives = [f + _branch(child) for f, child in sorted(node.items()) if f]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    if END in node:  # a word ends here, a longer one may go on: try the longer first
        return f"(?:{body})?"
    return body


def trie_regex(words: Iterable[str]) -> str | None:
    """A pattern matching any of ``words``, the longest at each position; None for no words."""
    return fragments_regex([re.escape(ch) for ch in word] for word in words)


def compile_words(words: Iterable[str]) -> re.Pattern[str] | None:
    pattern = trie_regex(words)
    return re.compile(pattern) if pattern is not None else None
