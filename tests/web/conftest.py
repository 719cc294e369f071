"""Fixtures for the browser tier: a real Chromium, a real ``publisher serve``, screenshots kept.

- ``browser`` (package): Debian's ``/usr/bin/chromium`` (``$PUBLISHER_CHROMIUM`` to override)
  driven by Playwright's Python package. Playwright's own browser download is not reachable
  from here, so it is never used. Without chromium or playwright every browser test is
  skipped with a reason that starts with "browser:" (CI fails on such a skip).
  Package scope, not session: while Playwright's sync API is open, asyncio sees its loop as
  running in this thread, so no ``async def`` test can run. Keep tests in this folder sync.
- ``site`` (package): ``publisher serve`` with its embedded default settings (portal, weibo,
  wechat and oa accounts on the sandbox at ``/_sandbox``) in an empty directory on a free
  loopback port, the way ``tests/e2e`` start it. ``site.submit(notice)`` publishes a notice
  and waits until every channel has it.
- ``page_at(width)``: a fresh page ``width`` CSS px wide (844 high, scale 1, no mobile
  emulation, so an overflow shows as ``scrollWidth > innerWidth`` instead of zooming out).
- ``shoot(page, name)``: a full-page PNG under ``$PUBLISHER_TEST_ARTIFACTS`` or
  ``tests/web/artifacts/`` (gitignored), kept after the run for a person to look at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from e2e.channel_procs import Sandboxes
from e2e.procs import Server, Workspace, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("PUBLISHER_CHROMIUM") or "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("PUBLISHER_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
HEIGHT = 844  # an iPhone 14's CSS height; the width is what each test is about


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(
            f"browser: no chromium at {CHROMIUM} "
            "(apt-get install -y chromium fonts-noto-cjk, or set PUBLISHER_CHROMIUM)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser: the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield found
        finally:
            found.close()


@pytest.fixture
def page_at(browser: Browser) -> Iterator[Callable[[int], Page]]:
    contexts: list[Any] = []

    def open_page(width: int) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": HEIGHT},
            device_scale_factor=1,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def shoot(artifacts: Path) -> Callable[[Page, str], Path]:
    def save(page: Page, name: str) -> Path:
        path = artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@dataclass
class Site:
    """A running ``publisher serve`` and what its sandbox received."""

    ws: Workspace
    server: Server
    ids: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"

    @property
    def sandboxes(self) -> Sandboxes:
        return Sandboxes(f"{self.server.url}/_sandbox")

    def submit(self, name: str, notice: dict[str, Any]) -> int:
        """Publish ``notice`` (CLI, ``--wait 60``); its id, also kept as ``ids[name]``."""
        self.ws.write(f"{name}.json", notice)
        result = self.ws.cli("notice", "submit", f"{name}.json", "--wait", "60", "--json")
        assert result.returncode == 0, result
        self.ids[name] = int(json.loads(result.stdout)["id"])
        return self.ids[name]

    def wechat_content(self, name: str) -> str:
        """The article body the WeChat sandbox received for notice ``name`` (draft/add)."""
        found = [a for nid, a in self.sandboxes.wechat_drafts() if nid == self.ids[name]]
        assert len(found) == 1, found
        return str(found[0]["content"])


@pytest.fixture(scope="package")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # ``browser`` first: without one, skip before starting a server for nothing.
    ws = Workspace(tmp_path_factory.mktemp("web"))
    try:
        port = free_port()
        ws.env["PUBLISHER_PORT"] = str(port)  # links in messages point at this server
        yield Site(ws, ws.serve(port))
    except BaseException:
        print(ws.logs()[-20_000:])
        raise
    finally:
        ws.close()
