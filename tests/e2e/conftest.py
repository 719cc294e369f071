"""Fixtures for the end-to-end tests; the process helpers live in ``procs.py``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .procs import Workspace


@pytest.fixture
def workspace(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Workspace]:
    ws = Workspace(tmp_path / "ws")
    try:
        yield ws
    finally:
        ws.close()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed and ws.procs:
            sys.stderr.write(ws.logs()[-20_000:])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
