"""``publisher report reach --format png``: a reach chart drawn by Debian's chromium, for
pasting into a report. A notice goes through ``publisher serve`` to every channel, reach is
collected from the sandbox, and the chart comes out as the command's PNG: the chart's own
size at three pixels a unit, its bars in the chart's colours and its Chinese text drawn (dark
pixels, counted in a canvas). Without ``--output``, or with no chromium, one line and exit 2.
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .conftest import Site

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.web

NOTICE = {
    "kind": "general",
    "title": "全市安全生产大检查工作部署",
    "body": "各区、各有关单位要对照检查清单，于本月底前完成自查自纠。",
}
PIXELS = """async ([src, colours]) => {
  const img = new Image(); img.src = src; await img.decode();
  const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  const rgb = colours.map((h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)));
  const counts = colours.map(() => 0);
  let dark = 0, white = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] < 90 && d[i + 1] < 90 && d[i + 2] < 90) dark++;
    if (d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250) white++;
    rgb.forEach(([r, gr, b], k) => {
      if (Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - gr) < 8 && Math.abs(d[i + 2] - b) < 8)
        counts[k]++;
    });
  }
  return {width: img.width, height: img.height, dark, white, counts, all: d.length / 4};
}"""
RECT = re.compile(
    r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="(#[0-9A-Fa-f]{6})"'
)


def areas(svg: str, scale: int) -> dict[str, tuple[float, float]]:
    """Per fill colour of the SVG's rectangles (bars and legend keys): the pixels they cover
    at ``scale``, and how many of those may be blended at their edges."""
    out: dict[str, tuple[float, float]] = {}
    for _, _, w, h, colour in RECT.findall(svg):
        width, height = float(w) * scale, float(h) * scale
        area, edge = out.get(colour.upper(), (0.0, 0.0))
        out[colour.upper()] = (area + width * height, edge + 2 * (width + height) + 4)
    return out


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_chart_as_png_for_a_report(site: Site, page_at: Callable[[int], Page]) -> None:
    site.submit("png-chart", NOTICE)
    ws = site.ws
    collected = ws.cli("reach", "collect")
    assert collected.returncode == 0, collected
    chart = ("report", "reach", "--chart", "kind")
    drawn = ws.cli(*chart, "--format", "png", "--output", "kind.png")
    assert drawn.returncode == 0, drawn
    assert "已写入" in drawn.stdout and "kind.png" in drawn.stdout
    svg = ws.cli(*chart, "--format", "svg")
    assert svg.returncode == 0, svg
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg.stdout)
    assert box is not None
    data = (ws.dir / "kind.png").read_bytes()
    assert png_size(data) == (int(box[1]) * 3, int(box[2]) * 3)  # three pixels a unit
    drawn_rects = areas(svg.stdout, 3)
    bars = [h for *_, h, _ in RECT.findall(svg.stdout) if float(h) not in (0.0, 12.0)]
    assert bars, "the chart should have a bar: reach was collected"  # so the check means it
    page = page_at(800)
    colours = sorted(drawn_rects)
    src = "data:image/png;base64," + base64.b64encode(data).decode()
    found = page.evaluate(PIXELS, [src, colours])
    assert (found["width"], found["height"]) == png_size(data)
    assert found["white"] > found["all"] * 0.6  # a white page, as it is pasted
    assert found["dark"] > 2000  # the title, axis and legend text are drawn
    for colour, count in zip(colours, found["counts"], strict=True):
        area, edge = drawn_rects[colour]  # each bar and key is where the SVG puts it
        assert area - edge <= count <= area + edge, (colour, count, area)


def test_png_refusals_are_one_line(site: Site, tmp_path: Path) -> None:
    ws = site.ws
    without = ws.cli("report", "reach", "--format", "png")
    assert without.returncode == 2
    assert without.stderr.strip() == "publisher: 错误: png 格式需要 --output 指定文件"
    missing = tmp_path / "no-chromium"
    nowhere = ws.cli(
        "report", "reach", "--format", "png", "--output", "x.png",
        env={"PUBLISHER_CHROMIUM": str(missing)},
    )  # fmt: skip
    assert nowhere.returncode == 2
    assert (
        nowhere.stderr.strip()
        == f"publisher: 错误: chromium: 找不到 {missing}；也可用 --format svg"
    )
    assert not (ws.dir / "x.png").exists() and not (ws.dir / "x.png.part").exists()
