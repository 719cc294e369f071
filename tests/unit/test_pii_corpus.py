"""Recall and false alarms of the PII guard on a labelled corpus of disclosure snippets.

``tests/data/pii_corpus.jsonl`` holds realistic Chinese disclosure text: positives carry a
resident ID, mobile or bank card number in every format people type (spaced, hyphenated,
full-width, glued to letters, zero-width characters inside, country codes, inside URLs);
negatives carry what such notices are full of and must still publish: credit codes, document
numbers, amounts, dates, office phone numbers, serials and account numbers.

Print the figures: ``.venv/bin/python tests/unit/test_pii_corpus.py``
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from publisher import pii

CORPUS = Path(__file__).parent.parent / "data" / "pii_corpus.jsonl"
KINDS = {"id": "resident_id", "mobile": "mobile", "card": "bank_card"}


@dataclass(frozen=True)
class Score:
    positives: int
    caught: int  # positives with a find of the labelled kind
    negatives: int
    false_alarms: list[str]
    missed: list[str]

    @property
    def recall(self) -> float:
        return self.caught / self.positives

    @property
    def false_positive_rate(self) -> float:
        return len(self.false_alarms) / self.negatives


def score() -> Score:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    caught, false_alarms, missed = 0, [], []
    for row in rows:
        kinds = {f.kind for f in pii.scan_text(row["text"], "body")}
        if row["pii"]:
            if KINDS[row["kind"]] in kinds:
                caught += 1
            else:
                missed.append(row["text"])
        elif kinds:
            false_alarms.append(row["text"])
    positives = sum(1 for r in rows if r["pii"])
    return Score(positives, caught, len(rows) - positives, false_alarms, missed)


def test_corpus_is_big_enough_and_labelled() -> None:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert sum(1 for r in rows if r["pii"]) >= 200
    assert sum(1 for r in rows if not r["pii"]) >= 200
    assert {r["kind"] for r in rows if r["pii"]} == set(KINDS)


def test_every_personal_number_is_caught_with_its_kind() -> None:
    assert score().missed == []


def test_false_alarms_stay_at_or_below_one_percent() -> None:
    s = score()
    assert s.false_positive_rate <= 0.01, s.false_alarms


if __name__ == "__main__":
    s = score()
    print(f"recall: {s.caught}/{s.positives} = {s.recall:.2%}")
    print(f"false positives: {len(s.false_alarms)}/{s.negatives} = {s.false_positive_rate:.2%}")
    for text in s.missed:
        print("missed:", text)
    for text in s.false_alarms:
        print("false alarm:", text)
