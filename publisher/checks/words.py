"""Forbidden words (an error) and discouraged wording (a warning), from the bureau's lists."""

from __future__ import annotations

from publisher.checks.findings import Finding, Severity
from publisher.checks.lists import WordList
from publisher.checks.texts import Corpus


def scan(corpus: Corpus, words: WordList, check: str, severity: Severity) -> list[Finding]:
    if words.pattern is None:
        return []
    found = []
    for match in words.pattern.finditer(corpus.text):
        where, start = corpus.locate(match.start())
        entry = words.words[match.group()]
        label = "禁用词" if severity == "error" else "不建议使用"
        message = f"{label}「{entry.word}」"
        if entry.suggestion:
            message += f"，建议改为「{entry.suggestion}」"
        found.append(Finding(check, severity, where, start, message))
    return found
