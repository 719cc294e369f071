"""Fixtures for the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PUBLISHER_* from the caller's shell, no .env or database from the caller's directory:
    the test runs in an empty directory of its own, which it gets back."""
    for name in list(os.environ):
        if name.upper().startswith("PUBLISHER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
