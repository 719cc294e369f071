"""The word lists the bureau edits, read from ``config/checks/`` (or the ``checks_dir`` setting).

Plain UTF-8 text, one entry a line; ``#`` starts a comment, blank lines are skipped.

* ``names-*.txt`` — protected names (the country, state organs, leaders and their titles).
  Spaces inside a line are dropped: ``张三 局长`` protects ``张三局长``.
* ``allowed.txt`` — correct words that merely look like a near miss of a protected name.
* ``forbidden.txt`` (error) and ``discouraged.txt`` (warning) — ``词`` or ``词 => 建议用语``.

The lists load once per process and again only when a file changes (its modification time
or size), so a bureau's edit takes effect without a restart. The files are looked at no
more than once every :data:`RECHECK_SECONDS`, so a busy intake does not stat them per notice.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from publisher.checks.names import NearMissIndex
from publisher.checks.trie import compile_words
from publisher.errors import ConfigError

SUGGESTS = "=>"
RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Word:
    word: str
    suggestion: str | None


@dataclass(frozen=True)
class WordList:
    words: dict[str, Word]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, entries: list[Word]) -> WordList:
        words = {w.word: w for w in entries}
        return cls(words, compile_words(words))


@dataclass(frozen=True)
class Lists:
    names: NearMissIndex
    forbidden: WordList
    discouraged: WordList


def read_lines(path: Path) -> list[str]:
    """The entries of one list file, comments and blank lines left out."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"内容检查词表 {path}: 不是 UTF-8 文本") from None
    except OSError as exc:
        raise ConfigError(f"内容检查词表 {path}: 无法读取: {exc.strerror}") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def _words(path: Path) -> list[Word]:
    if not path.is_file():
        return []
    out = []
    for line in read_lines(path):
        word, _, suggestion = (part.strip() for part in line.partition(SUGGESTS))
        if word:
            out.append(Word(word, suggestion or None))
    return out


def _names(folder: Path) -> list[str]:
    names: list[str] = []
    for path in sorted(folder.glob("names-*.txt")):
        names.extend(re.sub(r"\s+", "", line) for line in read_lines(path))
    return names


Stamp = tuple[tuple[str, int, int], ...]
_cache: dict[Path, tuple[float, Stamp, Lists]] = {}  # folder -> (looked at, files' stamp, lists)
_lock = Lock()


def _stamp(folder: Path) -> Stamp:
    with os.scandir(folder) as entries:
        files = [e for e in entries if e.name.endswith(".txt") and e.is_file()]
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in files))


def load(folder: Path) -> Lists:
    """The lists of ``folder``, built once and rebuilt only when one of its files changed."""
    now = time.monotonic()
    cached = _cache.get(folder)
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[2]
    if not folder.is_dir():
        raise ConfigError(f"设置 PUBLISHER_CHECKS_DIR 无效: 目录不存在: {folder}")
    stamp = _stamp(folder)
    with _lock:
        cached = _cache.get(folder)
        if cached is not None and cached[1] == stamp:
            _cache[folder] = (now, stamp, cached[2])
            return cached[2]
        allowed = [re.sub(r"\s+", "", w.word) for w in _words(folder / "allowed.txt")]
        lists = Lists(
            names=NearMissIndex(_names(folder), allowed),
            forbidden=WordList.of(_words(folder / "forbidden.txt")),
            discouraged=WordList.of(_words(folder / "discouraged.txt")),
        )
        _cache[folder] = (now, stamp, lists)
        return lists
