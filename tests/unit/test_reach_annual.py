"""The annual open-government report built for a seeded year: its sentences, its table cells
(from the data or visibly blank), the half-yearly statistics, and the MD/HTML/XLSX/DOCX files
opened and read back, through the CLI and the API."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner, Result
from defusedxml import ElementTree
from docx import Document
from openpyxl import load_workbook

from publisher.reach import annual_files
from publisher.reach.annual import annual_period, annual_report
from publisher.reach.annual_text import BLANK, PENDING, about, document
from publisher.runtime import Runtime
from publisher.settings import load_settings
from publisher.web.app import create_app
from tests.conftest import FakeClock
from tests.unit.reach_seed import ACCOUNTS, Posted, general, listing, seed, warning

ZONE = ZoneInfo("Asia/Shanghai")
SEEN = datetime(2025, 12, 30, 2, 0, tzinfo=UTC)  # when the latest samples were taken
EARLY = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


NOTICES = [
    # weibo reads 900 (its latest, not 500 + 900) and portal reads 20
    Posted(
        warning("暴雨红色预警", "红色"),
        utc(2025, 3, 10, 2),
        {"weibo": [("reads", 500, EARLY), ("reads", 900, SEEN)], "portal": [("reads", 20, SEEN)]},
    ),
    Posted(
        warning("暴雨橙色预警", "橙色"),
        utc(2025, 5, 1, 2),
        {"weibo": [("reads", 100, EARLY), ("reads", 934, SEEN)], "portal": [("reads", 30, SEEN)]},
    ),
    # H2; Weibo has no reads for it, only likes
    Posted(
        warning("高温橙色预警", "橙色"),
        utc(2025, 8, 1, 2),
        {"weibo": [("likes", 5, SEEN)], "portal": [("reads", 6, SEEN)]},
    ),
    # 00:30 on 1 January 2026, local: next year's
    Posted(warning("寒潮蓝色预警", "蓝色"), utc(2025, 12, 31, 16, 30)),
    Posted(listing("approval_list", "2025年2月行政许可公示", 3), utc(2025, 2, 1, 2)),
    Posted(listing("approval_list", "2025年9月行政许可公示", 2), utc(2025, 9, 1, 2)),
    Posted(listing("penalty_disclosure", "2025年10月行政处罚公示", 4), utc(2025, 10, 1, 2)),
    Posted(general("安全生产月活动启动"), utc(2025, 11, 1, 2)),
    # 23:00 on 31 December 2024, local: last year's
    Posted(general("年终安全检查"), utc(2024, 12, 31, 15)),
]


@pytest.fixture
async def settings(tmp_path: Path) -> Any:
    clock = FakeClock(utc(2026, 1, 10, 2))
    found = load_settings(
        database_url=f"sqlite:///{tmp_path / 'a.db'}", accounts=ACCOUNTS, metrics_interval=0
    )
    rt = await Runtime.open(found, clock=clock)
    try:
        await seed(rt, NOTICES)
    finally:
        await rt.close()
    return found


async def build(settings: Any, half: str | None = None) -> Any:
    clock = FakeClock(utc(2026, 1, 10, 2))
    rt = await Runtime.open(settings, clock=clock)
    try:
        period = annual_period(2025, half)
        return await annual_report(rt.store, "市安全生产监督管理局", period, ZONE, clock.now())
    finally:
        await rt.close()


def test_reads_are_rounded_as_a_report_states_them() -> None:
    assert [about(n) for n in (0, 34, 99, 100, 256, 1800, 1834, 9999)] == [
        "0", "34", "99", "100", "250余", "1800", "1800余", "9900余",
    ]  # fmt: skip
    assert [about(n) for n in (10_000, 12_345, 99_999, 100_000, 123_456)] == [
        "1万", "1.2万余", "9.9万余", "10万", "12万余",
    ]  # fmt: skip


async def test_the_year_in_sentences(settings: Any) -> None:
    report = await build(settings)
    assert report.total == 7  # not the one of 2024 nor the one of 1 January 2026
    title, sections = document(report)
    assert title == "市安全生产监督管理局2025年政府信息公开工作年度报告"
    assert [s.heading for s in sections] == [
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    ]
    text = "".join(sections[0].paragraphs)
    assert "全年共主动公开各类安全生产信息7条，其中气象灾害预警信息3条、行政许可信息2条" in text
    assert "通过政务微博发布各类安全生产信息7条，累计阅读次数达1800余次" in text  # 900 + 934
    assert "通过门户网站发布各类安全生产信息7条，累计阅读次数达56次" in text
    assert "（阅读等数据截至2025年12月30日）" in text
    assert "全年发布气象灾害预警信息3条，其中红色预警1条、橙色预警2条。" in text
    assert "全年分2批公开行政许可决定信息5条，分1批公开行政处罚决定信息4条。" in text
    assert PENDING in text  # built without settings: obligations not counted, and said so


async def test_the_national_tables(settings: Any) -> None:
    _, sections = document(await build(settings))
    proactive = {r[0]: r[1:] for r in sections[1].tables[0].rows}
    assert proactive["行政许可"][0] == 5
    assert proactive["行政处罚"][0] == 4
    assert proactive["规章"] == (BLANK, BLANK, BLANK)
    assert proactive["行政强制"][0] == BLANK
    assert proactive["行政事业性收费"][0] == BLANK
    applications = {r[0]: r[1:] for r in sections[2].tables[0].rows}
    assert applications["一、本年新收政府信息公开申请数量"] == (BLANK,) * 7
    assert len(applications) == 30
    media = {t.caption: t for t in sections[5].tables}
    channels = {r[0]: r for r in media["政务新媒体及各渠道发布情况"].rows}
    assert channels["政务微博"][2:5] == (7, "阅读", 1834)  # exact in the table
    batches = media["行政许可、行政处罚信息分批公开情况"].rows
    assert [(b[0], b[3]) for b in batches] == [
        ("2025-02-01", 3),
        ("2025-09-01", 2),
        ("2025-10-01", 4),
    ]
    assert dict(media["气象灾害预警信息发布情况"].rows) == {
        "红色": 1,
        "橙色": 2,
        "黄色": 0,
        "蓝色": 0,
    }


async def test_the_half_years(settings: Any) -> None:
    first, second = await build(settings, "H1"), await build(settings, "H2")
    assert (first.total, second.total) == (3, 4)
    title, sections = document(first)
    assert title == "市安全生产监督管理局2025年上半年政府信息公开工作情况统计"
    text = "".join(sections[0].paragraphs)
    assert "上半年共主动公开各类安全生产信息3条" in text
    assert "通过政务微博发布各类安全生产信息3条，累计阅读次数达1800余次" in text
    assert "上半年分1批公开行政许可决定信息3条，未公开行政处罚决定信息。" in text
    text = "".join(document(second)[1][0].paragraphs)
    assert "通过政务微博发布各类安全生产信息4条，获点赞5次" in text  # no reads: none claimed
    assert "下半年发布气象灾害预警信息1条，其中橙色预警1条。" in text


async def test_the_files(settings: Any) -> None:
    report = await build(settings)
    md = annual_files.render(report, "md").decode()
    assert md.startswith("# 市安全生产监督管理局2025年政府信息公开工作年度报告")
    assert "## 四、政府信息公开行政复议、行政诉讼情况" in md
    assert "| 行政许可 | 5 |" in md

    html = annual_files.render(report, "html").decode()
    assert 'lang="zh-CN"' in html and "<caption>主动公开政府信息情况</caption>" in html
    assert "http" not in html.replace('lang="zh-CN"', "")  # no external resource at all
    assert "<script" not in html

    book = load_workbook(io.BytesIO(annual_files.render(report, "xlsx")))
    assert book.sheetnames[0] == "报告正文"
    sheet = book["主动公开政府信息情况"]
    assert sheet.freeze_panes == "B2"
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=2)}
    assert rows["行政许可"][1] == 5 and isinstance(rows["行政许可"][1], int)
    assert rows["规章"][1] == BLANK
    assert (sheet.column_dimensions["A"].width or 0) >= len("行政事业性收费") * 2
    media = book["政务新媒体及各渠道发布情况"]
    assert [c.value for c in media[1]] == ["渠道", "账号", "发布条数", "指标", "数值", "数据截至"]

    doc = Document(io.BytesIO(annual_files.render(report, "docx")))
    headings = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name.startswith("Heading")
    ]
    assert headings[:3] == ["一、总体情况", "二、主动公开政府信息情况", "主动公开政府信息情况"]
    assert doc.paragraphs[0].text.endswith("年度报告")  # the title
    proactive = doc.tables[0]
    cells = {r.cells[0].text: r.cells[1].text for r in proactive.rows}
    assert (cells["行政许可"], cells["行政处罚"], cells["规章"]) == ("5", "4", BLANK)
    assert any("1800余次" in p.text for p in doc.paragraphs)


def cli(*args: str) -> Result:
    from publisher.cli import main

    return CliRunner().invoke(main, list(args))


@pytest.fixture
def configured(settings: Any, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = clean_env / "publisher.json"
    body = {"database_url": settings.database_url, "accounts": ACCOUNTS, "metrics_interval": 0}
    config.write_text(json.dumps(body))
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    return clean_env


def test_the_cli(configured: Path) -> None:
    shown = cli("report", "annual", "--year", "2025")
    assert shown.exit_code == 0, shown.output
    assert "累计阅读次数达1800余次" in shown.output and BLANK in shown.output
    half = cli("report", "annual", "--year", "2025", "--half", "H1", "--format", "html")
    assert half.exit_code == 0 and "上半年" in half.output
    out = configured / "annual.docx"
    written = cli("report", "annual", "--year", "2025", "--format", "docx", "--output", str(out))
    assert written.exit_code == 0, written.output
    assert Document(str(out)).tables
    for args, says in (
        (("--format", "xlsx"), "--output"),
        (("--half", "H3"), "H3"),
        (("--year", "20x5"), "20x5"),
    ):
        refused = cli("report", "annual", "--year", "2025", *args)
        assert refused.exit_code == 2, refused.output
        assert says in refused.output and "Traceback" not in refused.output


async def test_the_api(settings: Any) -> None:
    clock = FakeClock(utc(2026, 1, 10, 2))
    rt = await Runtime.open(settings, clock=clock)
    app = create_app(settings, runtime=rt, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            page = await http.get("/api/reports/annual?year=2025")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "累计阅读次数达1800余次" in page.text
            docx = await http.get("/api/reports/annual?year=2025&half=H2&format=docx")
            assert docx.status_code == 200
            assert "attachment" in docx.headers["content-disposition"]
            assert "下半年" in Document(io.BytesIO(docx.content)).paragraphs[0].text
            chart = await http.get("/api/reports/chart?chart=kind&from=2025-01-01&to=2025-12-31")
            assert chart.status_code == 200
            assert chart.headers["content-type"].startswith("image/svg+xml")
            svg = ElementTree.fromstring(chart.content)
            texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
            assert {"预警信息", "行政许可"} <= texts
            for bad in ("year=abc", "year=2025&half=H3", "year=2025&format=pdf", "year=1800"):
                refused = await http.get(f"/api/reports/annual?{bad}")
                assert refused.status_code == 422, bad
                assert "error" in refused.json()
            for bad in ("chart=pie", "metric=hearts", "from=2025-13-01", "limit=0"):
                refused = await http.get(f"/api/reports/chart?{bad}")
                assert refused.status_code == 422, bad
