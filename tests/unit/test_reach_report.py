"""The reach report: each post's latest sample per metric, summed per group and channel account,
checked against figures worked out by hand; "—" (null) where a channel has no figure; the same
through the CLI (table, CSV, JSON, XLSX) and the API; ``reach collect`` names every failure."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner, Result
from console_helpers import console
from openpyxl import load_workbook

from channels.webhook import WebhookAdapter
from publisher import registry
from publisher.auth.roles import Role
from publisher.contract import Capabilities, MetricSample, PostRef
from publisher.notice import parse_notice
from publisher.reach import annual_files, formats
from publisher.reach.report import reach_report
from publisher.runtime import Runtime
from publisher.settings import load_settings
from publisher.store.schema import deliveries
from publisher.web.app import create_app
from tests.conftest import FakeClock

ZONE = ZoneInfo("Asia/Shanghai")
ACCOUNTS = {
    "portal": {"type": "portal", "display_name": "门户网站", "sandbox": True},
    "weibo": {"type": "weibo", "access_token": "t", "sandbox": True},
}
T1 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
T15 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
# When each notice's deliveries went out (UTC); local time is 8 hours ahead.
POSTED = {
    "n1": datetime(2026, 10, 31, 15, 30, tzinfo=UTC),  # 23:30 on 31 October, local
    "n2": datetime(2026, 10, 31, 16, 30, tzinfo=UTC),  # 00:30 on 1 November, local
    "n3": datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
    "n4": datetime(2026, 12, 5, 1, 0, tzinfo=UTC),  # after the period
}
KINDS = {"n1": "general", "n2": "weather_warning", "n3": "general", "n4": "general"}


def _notice(kind: str, n: str) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "title": f"通知{n}", "body": "正文"}
    if kind == "weather_warning":
        body["fields"] = {"signal": "暴雨", "color": "橙色", "issuer": "市气象台"}
    return body


@pytest.fixture
async def seeded(tmp_path: Path, clock: FakeClock) -> tuple[Any, dict[str, dict[str, int]]]:
    """Four notices to the portal and Weibo, posted at POSTED, with the samples below."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}", accounts=ACCOUNTS, metrics_interval=0
    )
    rt = await Runtime.open(settings, clock=clock)
    ids: dict[str, dict[str, int]] = {}
    try:
        for n, kind in KINDS.items():
            done = await rt.intake.submit(parse_notice(_notice(kind, n)), source="t", actor="t")
            record = await rt.store.get_notice(done.notice_id)
            ids[n] = {d.account: d.id for d in record.deliveries}
            ids[n]["notice"] = done.notice_id
            for d in record.deliveries:
                await rt.store._tx(
                    lambda c, i=d.id, at=POSTED[n], rid=str(done.notice_id): c.execute(
                        deliveries.update()
                        .where(deliveries.c.id == i)
                        .values(status="posted", posted_at=at, remote_id=rid)
                    )
                )

        def s(n: str, account: str, metric: str, value: int, at: datetime) -> MetricSample:
            return MetricSample(ids[n][account], metric, value, at, "test")

        await rt.store.add_metric_samples(
            [
                s("n1", "portal", "reads", 5, T1),
                s("n1", "portal", "reads", 9, T2),
                s("n1", "weibo", "likes", 2, T1),
                s("n1", "weibo", "likes", 3, T3),
                s("n1", "weibo", "reposts", 1, T3),
                s("n2", "portal", "reads", 4, T2),
                s("n2", "weibo", "likes", 10, T2),
                s("n2", "weibo", "comments", 0, T2),
                s("n4", "portal", "reads", 100, T3),
            ]
        )
        # stored later, observed earlier: not the latest
        await rt.store.add_metric_samples([s("n1", "portal", "reads", 7, T15)])
    finally:
        await rt.close()
    return settings, ids


def figures(row: Any) -> dict[str, int | None]:
    return {f.metric: f.value for f in row.figures if f.value is not None or f.metric == "reads"}


async def report(settings: Any, by: str, clock: FakeClock) -> Any:
    rt = await Runtime.open(settings, clock=clock)
    try:
        return await reach_report(
            rt.store, date(2026, 10, 1), date(2026, 11, 30), by, ZONE, clock.now()
        )
    finally:
        await rt.close()


async def test_by_channel_sums_each_posts_latest_sample(seeded: Any, clock: FakeClock) -> None:
    settings, _ = seeded
    result = await report(settings, "channel", clock)
    rows = {r.account: r for r in result.rows}
    assert set(rows) == {"portal", "weibo"}
    portal, weibo = rows["portal"], rows["weibo"]
    assert portal.posts == 3 and weibo.posts == 3  # n1, n2, n3 (n4 is in December)
    # portal reads: n1's latest is 9 (not 5+9+7, not the later-stored 7), n2's 4, n3 none
    assert figures(portal) == {"reads": 13}
    assert portal.as_of == T2
    # weibo: likes 3 + 10, reposts 1, comments 0 (a real zero), reads: no figure at all
    assert figures(weibo) == {"reads": None, "likes": 13, "reposts": 1, "comments": 0}
    assert {f.metric: f.as_of for f in weibo.figures if f.value is not None} == {
        "likes": T2,  # the oldest of the latest samples summed (n2's, T2; n1's is T3)
        "reposts": T3,
        "comments": T2,
    }
    assert weibo.as_of == T2


async def test_by_month_uses_local_time(seeded: Any, clock: FakeClock) -> None:
    settings, _ = seeded
    result = await report(settings, "month", clock)
    got = {(r.key, r.account): (r.posts, figures(r)) for r in result.rows}
    assert got == {
        ("2026-10", "portal"): (1, {"reads": 9}),
        ("2026-10", "weibo"): (1, {"reads": None, "likes": 3, "reposts": 1}),
        ("2026-11", "portal"): (2, {"reads": 4}),
        ("2026-11", "weibo"): (2, {"reads": None, "likes": 10, "comments": 0}),
    }


async def test_by_kind_and_by_notice(seeded: Any, clock: FakeClock) -> None:
    settings, ids = seeded
    by_kind = await report(settings, "kind", clock)
    got = {(r.key, r.account): (r.posts, figures(r)) for r in by_kind.rows}
    assert got[("general", "portal")] == (2, {"reads": 9})
    assert got[("weather_warning", "weibo")] == (1, {"reads": None, "likes": 10, "comments": 0})
    by_notice = await report(settings, "notice", clock)
    rows = {(int(r.key), r.account): r for r in by_notice.rows}
    assert len(rows) == 6
    n1 = rows[(ids["n1"]["notice"], "portal")]
    assert (n1.title, n1.kind, figures(n1)) == ("通知n1", "general", {"reads": 9})
    assert figures(rows[(ids["n3"]["notice"], "weibo")]) == {"reads": None}


async def test_formats_say_no_figure_and_keep_numbers(
    seeded: Any, clock: FakeClock, tmp_path: Path
) -> None:
    settings, _ = seeded
    result = await report(settings, "channel", clock)
    data = formats.as_json(result)
    weibo = next(r for r in data["rows"] if r["account"] == "weibo")
    assert weibo["figures"]["reads"] == {"label": "阅读", "value": None, "as_of": None}
    assert weibo["figures"]["likes"]["value"] == 13
    assert weibo["figures"]["likes"]["label"] == "点赞"
    assert weibo["as_of"] == T2.isoformat()

    raw = formats.as_csv(result)
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    head = table[0]
    assert head[:3] == ["渠道账号", "渠道类型", "发布条数"]
    assert head[3:10] == ["阅读", "浏览", "点击", "点赞", "转发", "评论", "分享"]
    row = dict(zip(head, next(r for r in table if r[0] == "weibo"), strict=True))
    assert (row["阅读"], row["点赞"], row["评论"], row["渠道类型"]) == ("—", "13", "0", "微博")
    assert row["数据截至"] == "2026-11-21 10:00:00"

    text = formats.as_table(result)
    assert "—" in text and "13" in text and "阅读" in text

    path = tmp_path / "r.xlsx"
    path.write_bytes(formats.as_xlsx(result))
    sheet = load_workbook(path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]][:4] == ["渠道账号", "渠道类型", "发布条数", "阅读"]
    assert sheet.freeze_panes == "A2"
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=2, max_row=3)}
    assert rows["portal"][2:4] == [3, 13]  # numbers, stored as numbers
    assert isinstance(rows["portal"][3], int)
    assert rows["weibo"][3] == "—"
    assert (sheet.column_dimensions["A"].width or 0) >= len("渠道账号") * 2


def cli(*args: str) -> Result:
    from publisher.cli import main

    return CliRunner().invoke(main, list(args))


@pytest.fixture
def configured(seeded: Any, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings, _ = seeded
    config = clean_env / "publisher.json"
    body = {"database_url": settings.database_url, "accounts": ACCOUNTS, "metrics_interval": 0}
    config.write_text(json.dumps(body))
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    return clean_env


PERIOD = ("--from", "2026-10-01", "--to", "2026-11-30")


def test_the_cli_report_in_each_format(configured: Path) -> None:
    table = cli("report", "reach", *PERIOD, "--by", "month")
    assert table.exit_code == 0, table.output
    assert "2026-10" in table.output and "按月份" in table.output

    as_json = cli("report", "reach", *PERIOD, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    rows = {r["account"]: r for r in json.loads(as_json.output)["rows"]}
    assert rows["portal"]["figures"]["reads"]["value"] == 13
    assert rows["weibo"]["figures"]["reads"]["value"] is None

    out = configured / "out.xlsx"
    written = cli("report", "reach", *PERIOD, "--format", "xlsx", "--output", str(out))
    assert written.exit_code == 0, written.output
    assert load_workbook(out).active is not None

    as_csv = cli("report", "reach", *PERIOD, "--format", "csv")
    assert as_csv.output.startswith("渠道账号,")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--format", "xlsx"), "--output"),
        (("--from", "2026-12-01", "--to", "2026-11-01"), "早于"),
        (("--from", "11/01/2026"), "YYYY-MM-DD"),
        (("--by", "week"), "week"),
        (("--chart", "top"), "--format svg"),
    ],
)
def test_bad_report_requests_exit_2_in_one_line(
    configured: Path, args: tuple[str, ...], says: str
) -> None:
    result = cli("report", "reach", *args)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output


@asynccontextmanager
async def api_client(settings: Any, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the API of a server on ``settings`` (in process, no worker)."""
    rt = await Runtime.open(settings, clock=clock)
    app = create_app(settings, runtime=rt, run_worker_in_process=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def test_the_api_report(seeded: Any, clock: FakeClock) -> None:
    settings, _ = seeded
    async with api_client(settings, clock) as http:
        query = "/api/reports/reach?from=2026-10-01&to=2026-11-30"
        body = (await http.get(query + "&by=channel")).json()
        rows = {r["account"]: r for r in body["rows"]}
        assert rows["portal"]["figures"]["reads"]["value"] == 13
        assert rows["weibo"]["figures"]["reads"]["value"] is None
        xlsx = await http.get(query + "&format=xlsx")
        assert xlsx.status_code == 200
        assert xlsx.headers["content-type"].startswith("application/vnd.openxml")
        assert load_workbook(io.BytesIO(xlsx.content)).active is not None
        as_csv = await http.get(query + "&format=csv&by=month")
        assert as_csv.status_code == 200 and "2026-11" in as_csv.text
        for bad in ("&by=week", "&format=svg", "&from=yesterday"):
            refused = await http.get(query.replace("from=2026-10-01", "") + bad)
            assert refused.status_code == 422, bad
            assert "error" in refused.json()


def _spy(threads: dict[str, int], name: str, write: Any) -> Any:
    def spied(*args: Any) -> Any:
        threads[name] = threading.get_ident()
        return write(*args)

    return spied


def _spy_parts(threads: dict[str, int], name: str, parts: Any) -> Any:
    """As :func:`_spy` for a writer whose parts are made as they are asked for: where each
    part is made is where the work is done."""

    def spied(*args: Any) -> Any:
        for part in parts(*args):
            threads[name] = threading.get_ident()
            yield part

    return spied


async def test_reports_are_written_off_the_event_loop(
    seeded: Any, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A year by notice takes seconds to write: the API and the console write reports in a
    worker thread, so the portal and the warnings API go on answering meanwhile."""
    threads: dict[str, int] = {}
    monkeypatch.setattr(formats, "as_xlsx", _spy(threads, "xlsx", formats.as_xlsx))
    for name in ("compact_json_parts", "csv_parts"):  # streamed: made part by part
        monkeypatch.setattr(formats, name, _spy_parts(threads, name, getattr(formats, name)))
    monkeypatch.setattr(annual_files, "render", _spy(threads, "annual", annual_files.render))
    settings, _ = seeded
    async with api_client(settings, clock) as http:
        query = "/api/reports/reach?from=2026-10-01&to=2026-11-30&by=notice"
        as_json = await http.get(query)
        assert as_json.headers["content-type"] == "application/json"
        found = await report(settings, "notice", clock)
        expected = formats.as_json(found)
        assert as_json.json() == expected and len(expected["rows"]) == 6
        assert as_json.content == formats.compact_json(found)  # the same bytes, streamed
        for fmt in ("csv", "xlsx"):
            assert (await http.get(f"{query}&format={fmt}")).status_code == 200
        as_csv = await http.get(f"{query}&format=csv")
        assert as_csv.content == formats.as_csv(found)  # the same bytes, streamed
        assert as_csv.headers["content-disposition"] == (
            'attachment; filename="reach-2026-10-01-2026-11-30-notice.csv"'
        )
        assert (await http.get("/api/reports/annual?year=2026")).status_code == 200
        api = set(threads)
    threads.clear()
    async with console(tmp_path) as c:  # (its own database, publisher.db)
        await c.add_user("comms", Role.COMMS_OFFICER)
        await c.login("comms")
        for fmt in ("csv", "xlsx"):
            exported = await c.http.get(f"/reach/export?format={fmt}&by=notice")
            assert exported.status_code == 200, exported.text[:300]
        assert (await c.http.get("/reach/annual?year=2026&format=docx")).status_code == 200
    assert api == {"compact_json_parts", "csv_parts", "xlsx", "annual"}
    assert set(threads) == {"csv_parts", "xlsx", "annual"}  # the console's
    assert threading.get_ident() not in threads.values()


class CountingHook(WebhookAdapter):
    """A webhook that reports reads (the plain webhook declares none)."""

    type_name = "counting_hook"
    asked: ClassVar[list[int]] = []

    @property
    def capabilities(self) -> Capabilities:
        return dataclasses.replace(super().capabilities, metrics=("reads",))

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        self.asked.append(len(refs))
        now = self.ctx.clock.now()
        return [MetricSample(r.delivery_id, "reads", 3, now, "hook") for r in refs]


def test_reach_collect_counts_and_names_failures(
    seeded: Any, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = seeded
    installed = dict(registry.adapter_types())
    monkeypatch.setattr(
        registry, "adapter_types", lambda: {**installed, "counting_hook": CountingHook}
    )
    accounts = {
        "hook": {"type": "counting_hook", "url": "http://127.0.0.1:9/x"},
        # its counts come over HTTP from a server that is not there
        "portal": {**ACCOUNTS["portal"], "stats_url": "http://127.0.0.1:9/stats.json"},
    }
    config = clean_env / "publisher.json"
    config.write_text(json.dumps({"database_url": settings.database_url, "accounts": accounts}))
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    monkeypatch.setenv("PUBLISHER_METRICS_WINDOW_DAYS", "100000")
    result = cli("reach", "collect")
    assert result.exit_code == 1, result.output
    assert "hook: 查询 0 条发布，保存 0 个采样" in result.output
    assert "portal: 查询" in result.output and "失败" in result.output
    assert "以下渠道账号采集失败: portal" in result.output
