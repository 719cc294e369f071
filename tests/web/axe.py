"""axe-core in the browser: installed by the test set-up with npm (never committed), run on
a page, serious and critical violations returned for the assertion to print.

The package goes to ``tests/web/.axe/`` (gitignored) on first use; ``$PUBLISHER_AXE_JS`` may
name an ``axe.min.js`` instead. Without npm or the registry the browser tests are skipped
with a reason starting "browser:", which CI counts as a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

HERE = Path(__file__).parent / ".axe"
VERSION = "4"
BAD = ("serious", "critical")


def axe_source() -> str:
    given = os.environ.get("PUBLISHER_AXE_JS")
    path = Path(given) if given else HERE / "node_modules" / "axe-core" / "axe.min.js"
    if not path.is_file() and not given:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("browser: npm is needed to install axe-core for the accessibility tests")
        HERE.mkdir(exist_ok=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(HERE),
                f"axe-core@{VERSION}",
                "--no-audit",
                "--no-fund",
                "--silent",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"browser: npm could not install axe-core: {done.stderr[-500:]}")
    if not path.is_file():
        pytest.skip(f"browser: no axe-core at {path}")
    return path.read_text(encoding="utf-8")


def violations(page: Page, source: str) -> list[dict[str, Any]]:
    """Serious and critical axe violations of the page as it is now (WCAG 2.x A and AA)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)  # the context bypasses CSP for this only
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const r = await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in found if v["impact"] in BAD]
