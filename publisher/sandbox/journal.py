"""What a sandbox received, kept in a JSON-lines file so that it survives a restart.

One file per channel imitation (``<sandbox_dir>/<type>.jsonl``). Each line is one record,
``{"<kind>": <value>}``, appended as the sandbox receives it: a post is one short append, never
a rewrite of the file, so the sandbox stays as fast as the benchmarks need. Each line reaches
the operating system (one ``write`` on a descriptor opened in append mode) before the sandbox
answers, so a killed process loses nothing it answered. ``DELETE /posts`` is the one rewrite
(:meth:`Journal.replace`), rare by nature.

The sandbox is a stand-in, not a store: a torn last line (power cut mid-write) is skipped.
"""

from __future__ import annotations

import json
import os
import weakref
from pathlib import Path
from typing import Any


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], Journal] | None = None

    def read(self) -> list[dict[str, Any]]:
        """Every whole record written so far, oldest first (none when there is no file).

        Called once, when the sandbox starts, before any :meth:`append`.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        if text and not text.endswith("\n"):
            # end the torn line, so that the next record starts a line of its own
            with self.path.open("a", encoding="utf-8") as file:
                file.write("\n")
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(record, dict):
                records.append(record)
        return records

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A plain descriptor in append mode: one write() per record, straight to the OS.
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._closer = weakref.finalize(self, os.close, self._fd)
        os.write(self._fd, _line(record).encode())

    def replace(self, records: list[dict[str, Any]]) -> None:
        """Make the file hold exactly ``records`` (written aside, then renamed over it)."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = self.path.with_name(self.path.name + ".new")
        aside.write_text("".join(_line(r) for r in records), encoding="utf-8")
        os.replace(aside, self.path)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()  # closes the descriptor, once
        self._fd = self._closer = None


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
