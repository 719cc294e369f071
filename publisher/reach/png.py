"""A reach chart as PNG, for pasting into a report or a slide (``publisher report reach
--format png``): the chart's SVG drawn by a headless chromium through Playwright.

Both are optional: ``pip install 'publisher[png]'`` brings Playwright's Python package, and
chromium is the system's (Debian: ``apt-get install chromium fonts-noto-cjk``; the CJK font
draws the Chinese labels), found as ``chromium`` or ``chromium-browser`` on the PATH or at the
``chromium`` setting (``PUBLISHER_CHROMIUM``). Playwright's own browser download is never
used. Without either, the command says so in one line and SVG still works.

The page is our own SVG in an empty document; every request it might make is refused, so
nothing leaves the machine. The PNG is three device pixels per SVG unit: a 480-unit chart is
1440 pixels wide, sharp when printed at A4 width.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from publisher.errors import ConfigError

SCALE = 3
LAUNCH_ARGS = ("--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking")
_VIEW_BOX = re.compile(r'viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"')
NO_PLAYWRIGHT = (
    "PNG 需要 Playwright 的 Python 包 (pip install 'publisher[png]') 和 chromium；"
    "也可用 --format svg"
)


def find_chromium(configured: Path | None) -> Path:
    """The chromium to draw with: the setting if given, else the PATH's. ConfigError if none."""
    if configured is not None:
        if not configured.is_file():
            raise ConfigError(f"chromium: 找不到 {configured}；也可用 --format svg")
        return configured
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ConfigError(
        "PNG 需要 chromium (apt-get install chromium fonts-noto-cjk，或设置 PUBLISHER_CHROMIUM)；"
        "也可用 --format svg"
    )


def svg_to_png(svg: str, chromium: Path | None = None) -> bytes:
    """``svg`` (one of our charts, sized by its viewBox) as PNG bytes. ConfigError, one line,
    when Playwright or chromium is missing or chromium cannot start."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise ConfigError(NO_PLAYWRIGHT) from None
    browser_path = find_chromium(chromium)
    box = _VIEW_BOX.search(svg)
    if box is None:
        raise ValueError("the chart has no viewBox")
    width, height = (round(float(n)) for n in box.groups())
    document = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        "html,body{margin:0;background:#fff}svg{display:block;width:100%;height:auto}"
        f'</style></head><body><div style="width:{width}px">{svg}</div></body></html>'
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(browser_path), args=LAUNCH_ARGS)
            try:
                page = browser.new_page(
                    viewport={"width": width, "height": height}, device_scale_factor=SCALE
                )
                page.route("**/*", lambda route: route.abort())  # nothing leaves the machine
                page.set_content(document)
                return page.locator("svg").first.screenshot(type="png")
            finally:
                browser.close()
    except Error as exc:
        first = (str(exc).strip().splitlines() or ["?"])[0]
        raise ConfigError(f"chromium 无法绘制 PNG ({browser_path}): {first}") from None
