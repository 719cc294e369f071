"""One notice of every kind to the four default channels, through the sandbox, over real HTTP.

``publisher serve`` runs with the embedded default settings — accounts ``portal``, ``weibo``,
``wechat`` and ``oa`` (WeCom app), all on the sandbox it mounts at ``/_sandbox/<type>`` — in
an empty directory on a free loopback port. Every notice is submitted with
``publisher notice submit FILE --wait 60 --json``; then we read what *arrived*: the portal
page, the statuses the Weibo sandbox accepted, the articles the WeChat sandbox drafted and
published, the WeCom app messages, and check them the way the person responsible for each
platform would (text, tables, lengths, links, the warning's signal, issuer and area).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from channels.weibo.length import WEIBO_MAX, topics, weibo_length
from publisher.cli import main as cli_main
from publisher.table_cells import stacks

from .channel_procs import Sandboxes, active_markup, html_tables, visible_text
from .procs import Result, Server, Workspace, free_port, http

pytestmark = pytest.mark.slow

BEIJING = timezone(timedelta(hours=8))
_HOUR = datetime.now(BEIJING).replace(minute=0, second=0, microsecond=0)

WARNING: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨橙色预警信号",
    "body": "受强对流云团影响，预计未来3小时内我市城区及东部山区将出现50毫米以上强降雨，"
    "局地可达80毫米，并伴有雷电、短时大风等强对流天气。",
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "市气象台",
        "area": ["城区", "东部山区"],
        "issued_at": _HOUR.isoformat(),
        "valid_until": (_HOUR + timedelta(hours=6)).isoformat(),
        "advice": [
            "政府及相关部门按照职责做好防暴雨应急工作",
            "切断有危险的室外电源，暂停户外作业",
            "处于危险地带的单位应当停课、停业，采取专门措施保护已到校学生、幼儿和其他上班人员的安全",
        ],
    },
}

APPROVALS: dict[str, Any] = {
    "kind": "approval_list",
    "title": "2026年10月行政许可决定公示",
    "body": "根据《中华人民共和国政府信息公开条例》和《中华人民共和国行政许可法》第四十条，"
    "现将本局2026年10月作出的准予行政许可决定公示如下。",
    "fields": {"period": "2026年10月"},
    "table": {
        "columns": [
            "序号",
            "企业名称",
            "许可事项",
            "法律依据",
            "许可决定",
            "决定日期",
            "许可证编号",
        ],
        "rows": [
            [
                1,
                "华东化工储运有限公司",
                "危险化学品经营许可（带储存）",
                "《危险化学品安全管理条例》第三十五条",
                "准予许可",
                "2026-10-09",
                "危化经〔2026〕0117",
            ],
            [
                2,
                "明达矿业有限公司",
                "非煤矿矿山企业安全生产许可（延续）",
                "《安全生产许可证条例》第九条",
                "准予延续",
                "2026-10-15",
                "FM安许证字〔2026〕0032",
            ],
            [
                3,
                "城东烟花爆竹批发部",
                "烟花爆竹经营（批发）许可",
                "《烟花爆竹安全管理条例》第十八条",
                "准予许可",
                "2026-10-27",
                "烟批〔2026〕0005",
            ],
        ],
    },
}

PENALTIES: dict[str, Any] = {
    "kind": "penalty_disclosure",
    "title": "2026年第三季度行政处罚决定信息公开",
    "body": "依据《中华人民共和国行政处罚法》第四十八条和《中华人民共和国政府信息公开条例》，"
    "现将本局2026年第三季度作出的行政处罚决定予以公开。",
    "fields": {"period": "2026年第三季度"},
    "table": {
        "columns": [
            "决定书文号",
            "企业名称",
            "违法事实",
            "处罚依据",
            "处罚决定",
            "决定日期",
            "执法证号",
        ],
        "rows": [
            [
                "应急罚〔2026〕31号",
                "宏远机械制造有限公司",
                "未按规定对从业人员进行安全生产教育和培训",
                "《中华人民共和国安全生产法》第九十七条第三项",
                "罚款人民币三万元",
                "2026-07-18",
                "31010023001、31010023017",
            ],
            [
                "应急罚〔2026〕38号",
                "顺通物流仓储有限公司",
                "未在有较大危险因素的场所设置明显的安全警示标志",
                "《中华人民共和国安全生产法》第九十九条第一项",
                "责令限期改正，罚款人民币二万元",
                "2026-08-05",
                "31010023005、31010023022",
            ],
            [
                "应急罚〔2026〕45号",
                "金桥涂装有限公司",
                "特种作业人员未按照规定经专门的安全作业培训并取得相应资格上岗作业",
                "《中华人民共和国安全生产法》第九十七条第七项",
                "罚款人民币四万五千元",
                "2026-09-22",
                "31010023009、31010023031",
            ],
        ],
    },
}

ACCIDENT: dict[str, Any] = {
    "kind": "accident_report",
    "title": "关于宏达建筑工地一起高处坠落事故的通报",
    "body": "各区应急管理局、各有关单位：\n"
    "2026年11月3日9时20分，位于城南新区的宏达建筑工地发生一起高处坠落事故，造成1人死亡。\n"
    "事故发生后，市应急管理局立即派员赶赴现场，会同住建、公安等部门开展事故调查。\n"
    "各单位要深刻吸取事故教训，立即开展高处作业安全专项检查，坚决防范类似事故发生。",
    "summary": "城南新区宏达建筑工地11月3日发生一起高处坠落事故，造成1人死亡，事故调查正在进行。",
    "fields": {
        "occurred_at": "2026-11-03T09:20:00+08:00",
        "location": "城南新区宏达建筑工地",
        "casualties": "1人死亡",
    },
}

BUDGET: dict[str, Any] = {
    "kind": "budget_disclosure",
    "title": "市应急管理局2026年部门预算公开",
    "body": "根据《中华人民共和国预算法》第十四条及市财政局统一部署，"
    "现将本局2026年部门预算予以公开。",
    "fields": {"year": 2026},
    "table": {
        "columns": ["项目", "2025年预算数（万元）", "2026年预算数（万元）", "增减（%）"],
        "rows": [
            ["一般公共预算拨款收入", 4210.5, 4388.2, 4.2],
            ["“三公”经费", 56.3, 51.0, -9.4],
            ["其中：公务接待费", 8.2, 7.0, -14.6],
        ],
    },
}

GENERAL: dict[str, Any] = {
    "kind": "general",
    "title": "关于开展2026年冬季安全生产大检查的通知",
    "body": "各区应急管理局、各有关单位：\n"
    "为做好冬季安全生产工作，市安委会决定自12月1日起在全市开展为期一个月的安全生产大检查。\n"
    "请各单位于12月31日前报送检查情况。",
}

HOSTILE: dict[str, Any] = {
    "kind": "general",
    "title": "<script>alert(1)</script>防煤气中毒",
    "body": '冬季取暖请注意通风<img src=x onerror="alert(2)">。\n'
    '详情<a href="javascript:alert(3)">点此</a>，或<a href=" JaVaScRiPt:alert(4)">这里</a>'
    '<svg onload=alert(5)></svg><iframe src="javascript:alert(6)"></iframe>。',
}

NOTICES: dict[str, dict[str, Any]] = {
    "weather_warning": WARNING,
    "approval_list": APPROVALS,
    "penalty_disclosure": PENALTIES,
    "accident_report": ACCIDENT,
    "budget_disclosure": BUDGET,
    "general": GENERAL,
    "hostile": HOSTILE,
}
TABLES = ("approval_list", "penalty_disclosure", "budget_disclosure")
WARNING_MARKS = ("橙色", "市气象台", "城区", "东部山区")


def cell(value: Any) -> str:
    return str(value)


def preview(ws: Workspace, file: str, channel: str) -> list[dict[str, Any]]:
    """`publisher preview FILE --channel C --json` in the workspace, run in this process (a
    subprocess per notice costs a second of CPU each on a busy 2-core machine)."""
    env = {k: None for k in os.environ if k.startswith("PUBLISHER_")}
    env.update({k: v for k, v in ws.env.items() if k.startswith("PUBLISHER_")})
    cwd = os.getcwd()
    os.chdir(ws.dir)  # settings read .env from the working directory, as the CLI does
    try:
        result = CliRunner().invoke(
            cli_main, ["preview", file, "--channel", channel, "--json"], env=env
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


@dataclass
class Site:
    ws: Workspace
    server: Server
    sandboxes: Sandboxes
    submitted: dict[str, Result]  # name -> `publisher notice submit --wait 60 --json`
    ids: dict[str, int]  # name -> notice id
    previews: dict[str, list[dict[str, Any]]]  # name -> `publisher preview --json`

    def link(self, name: str) -> str:
        return f"{self.server.url}/portal/notices/{self.ids[name]}"

    def leads(self, url: str) -> str:
        """Where a tracked link (``/r/<code>``, posted by Weibo, WeChat, OA) redirects."""
        with http() as client:
            response = client.get(url, follow_redirects=False)
        assert response.status_code == 302, (url, response.status_code)
        return str(response.headers["location"])

    def page(self, path: str) -> str:
        with http() as client:
            response = client.get(f"{self.server.url}{path}")
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.text

    def one(self, posts: list[tuple[int | None, dict[str, Any]]], name: str) -> dict[str, Any]:
        mine = [p for nid, p in posts if nid == self.ids[name]]
        assert len(mine) == 1, f"{name}: expected exactly one, got {len(mine)}: {mine}"
        return mine[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace(tmp_path_factory.mktemp("channels"))
    try:
        port = free_port()
        ws.env["PUBLISHER_PORT"] = str(port)  # the CLI, preview and links agree with the server
        server = ws.serve(port)
        for name, notice in NOTICES.items():
            ws.write(f"{name}.json", notice)

        def submit(name: str) -> Result:
            return ws.cli("notice", "submit", f"{name}.json", "--wait", "60", "--json")

        with ThreadPoolExecutor(len(NOTICES)) as pool:
            runs = dict(zip(NOTICES, pool.map(submit, NOTICES), strict=True))
        for result in runs.values():
            assert result.returncode == 0, result
        yield Site(
            ws=ws,
            server=server,
            sandboxes=Sandboxes(f"{server.url}/_sandbox"),
            submitted=runs,
            ids={name: int(r.json()["id"]) for name, r in runs.items()},
            previews={name: preview(ws, f"{name}.json", "weibo") for name in NOTICES},
        )
    except BaseException:
        print(ws.logs()[-20_000:])
        raise
    finally:
        ws.close()


# -- what we recorded ---------------------------------------------------------------------------


def test_notice_show_prints_what_submit_waited_for(site: Site) -> None:
    shown = site.ws.cli("notice", "show", str(site.ids["weather_warning"]), "--json")
    assert shown.returncode == 0, shown
    deliveries = shown.json()["deliveries"]
    for d in deliveries:
        d.pop("metrics")  # show adds the reach measured so far
    assert deliveries == site.submitted["weather_warning"].json()["deliveries"]
    assert [e["action"] for e in shown.json()["events"]].count("posted") == 4


@pytest.mark.parametrize("name", list(NOTICES))
def test_submit_waits_for_four_posted_deliveries_with_remote_ids(site: Site, name: str) -> None:
    """`notice submit --wait --json` prints the notice as `notice show --json` does, once
    every delivery is final."""
    data = site.submitted[name].json()
    assert data["status"] == "posted"
    deliveries = {d["channel"]: d for d in data["deliveries"]}
    assert set(deliveries) == {"portal", "weibo", "wechat", "oa"}
    for channel, d in deliveries.items():
        assert d["status"] == "posted", (channel, d)
        assert d["remote_id"], (channel, d)
        assert d["attempts"] == 1, (channel, d)
    assert deliveries["portal"]["url"] == site.link(name)
    weibo = deliveries["weibo"]
    assert weibo["url"].endswith("/" + weibo["remote_id"])
    with http() as client:  # the Weibo post's address shows that very status
        status = client.get(weibo["url"]).json()
    assert status["idstr"] == weibo["remote_id"]
    assert site.leads(status["text"].rsplit(" ", 1)[-1]) == site.link(name)
    wechat = deliveries["wechat"]
    articles = {a["url"]: a for _, a in site.sandboxes.wechat_articles()}
    # The orange warning is published, not pushed (by default only red reaches followers'
    # chats), so like every other notice it has the article's own address.
    assert wechat["url"] in articles, (wechat, list(articles))
    assert site.leads(articles[wechat["url"]]["content_source_url"]) == site.link(name)
    if name == "weather_warning":
        assert "群发" in (wechat["note"] or ""), wechat  # says why followers were not pushed
    wecom = {post["msgid"] for nid, post in site.sandboxes.wecom() if nid == site.ids[name]}
    assert wecom == {deliveries["oa"]["remote_id"]}


# -- portal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
def test_portal_page_has_the_table_with_every_column_and_row(site: Site, name: str) -> None:
    notice = NOTICES[name]
    html = site.page(f"/portal/notices/{site.ids[name]}")
    tables = html_tables(html)
    assert len(tables) == 1, html
    table = tables[0]
    assert table.headers == notice["table"]["columns"]
    assert table.rows == [[cell(v) for v in row] for row in notice["table"]["rows"]]
    headers = [attrs for tag, attrs in table.cells if tag == "th"]
    assert headers and all(a.get("scope") == "col" for a in headers)  # read out by screen readers
    assert notice["title"] in visible_text(html)


def test_portal_warning_page_carries_signal_colour_issuer_area_and_advice(site: Site) -> None:
    html = site.page(f"/portal/notices/{site.ids['weather_warning']}")
    text = visible_text(html)
    assert "暴雨橙色预警信号" in text
    for mark in WARNING_MARKS:
        assert mark in text
    for advice in WARNING["fields"]["advice"]:
        assert advice in text
    assert "已过期" not in text and "已解除" not in text  # valid for six more hours


@pytest.mark.parametrize("name", ["accident_report", "general"])
def test_portal_page_of_a_text_notice(site: Site, name: str) -> None:
    text = visible_text(site.page(f"/portal/notices/{site.ids[name]}"))
    assert NOTICES[name]["title"] in text
    for line in NOTICES[name]["body"].split("\n"):
        assert line in text


# -- WeChat --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NOTICES))
def test_wechat_article_fits_and_reaches_readers(site: Site, name: str) -> None:
    draft = site.one(site.sandboxes.wechat_drafts(), name)
    assert 0 < len(draft["title"]) <= 32
    assert len(draft.get("digest", "")) <= 128
    assert not draft.get("digest", "").endswith("：")  # not just the salutation line
    assert len(draft["content"]) < 20_000
    assert site.leads(draft["content_source_url"]) == site.link(name)  # 阅读原文
    assert "class=" not in draft["content"] and "<style" not in draft["content"]
    article = site.one(site.sandboxes.wechat_articles(), name)
    assert article["title"] == draft["title"]
    # Only red warnings are pushed to followers by default (the day's one mass send is not
    # spent on an orange one); this warning is orange, so nothing here is pushed.
    assert article["notified"] is False


@pytest.mark.parametrize("name", TABLES)
def test_wechat_content_has_the_table_with_inline_styles(site: Site, name: str) -> None:
    notice = NOTICES[name]
    content = site.one(site.sandboxes.wechat_drafts(), name)["content"]
    if stacks(notice["table"]):  # too wide for a phone: one "column：value" card per record
        assert html_tables(content) == [], content
        text = re.sub(r"\s", "", visible_text(content))
        for row in notice["table"]["rows"]:
            columns = notice["table"]["columns"]
            assert "".join(f"{c}：{v}" for c, v in zip(columns, row, strict=True)) in text
        return
    tables = html_tables(content)
    assert len(tables) == 1, content
    table = tables[0]
    assert table.headers == notice["table"]["columns"]
    assert table.rows == [[cell(v) for v in row] for row in notice["table"]["rows"]]
    for tag, attrs in table.cells:  # WeChat keeps inline styles only
        style = attrs.get("style", "")
        assert style, (tag, attrs)
        if tag in ("th", "td"):
            assert "border" in style, (tag, style)


def test_wechat_warning_carries_signal_colour_issuer_and_area(site: Site) -> None:
    draft = site.one(site.sandboxes.wechat_drafts(), "weather_warning")
    text = visible_text(draft["content"])
    assert "暴雨橙色预警信号" in text
    for mark in WARNING_MARKS:
        assert mark in text
    assert "#e8700a" in draft["content"]  # the signal's colour, as an inline style


# -- Weibo ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NOTICES))
def test_weibo_status_fits_links_the_portal_copy_and_has_no_topic(site: Site, name: str) -> None:
    assert site.sandboxes.get("weibo")["rejected"] == []
    status = site.one(site.sandboxes.weibo(), name)["text"]
    assert weibo_length(status) <= WEIBO_MAX, (weibo_length(status), status)
    assert site.leads(status.rsplit(" ", 1)[-1]) == site.link(name)
    assert topics(status) == [] and "#" not in status
    assert "\n" not in status
    # `publisher preview` showed exactly this text, before the link publish() appends
    (weibo,) = site.previews[name]
    assert weibo["channel"] == "weibo" and weibo["violations"] == []
    assert status.rsplit(" ", 1)[0] == weibo["parts"]["body"]
    assert weibo["lengths"] == [
        {
            "part": "body",
            "measured": weibo_length(weibo["parts"]["body"]),
            "limit": 128,
            "unit": "字",
        }
    ]


@pytest.mark.parametrize("name", TABLES)
def test_weibo_summarises_a_table_instead_of_posting_it(site: Site, name: str) -> None:
    table = NOTICES[name]["table"]
    status = site.one(site.sandboxes.weibo(), name)["text"]
    leaked = [v for row in table["rows"] for v in map(cell, row) if len(v) >= 4 and v in status]
    assert leaked == [], status
    assert "|" not in status and "\t" not in status


def test_weibo_warning_carries_signal_colour_issuer_and_area(site: Site) -> None:
    status = site.one(site.sandboxes.weibo(), "weather_warning")["text"]
    assert status.startswith("【暴雨橙色预警】市气象台")
    for mark in WARNING_MARKS:
        assert mark in status


# -- OA (WeCom app) ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(NOTICES))
def test_oa_card_links_the_portal_copy(site: Site, name: str) -> None:
    post = site.one(site.sandboxes.wecom(), name)
    payload = post["payload"]
    assert payload["msgtype"] == "textcard" and payload["touser"] == "@all"
    card = payload["textcard"]
    assert site.leads(card["url"]) == site.link(name)
    assert card["btntxt"] == "详情"
    assert len(card["title"].encode()) <= 128 and len(card["description"].encode()) <= 512
    assert active_markup(card["description"]) == []
    # fields appear as a reader wants them, not as data
    assert "['" not in card["description"] and "T09:" not in card["description"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("approval_list", ["本期公示行政许可决定 3 项", "1. 华东化工储运有限公司"]),
        ("penalty_disclosure", ["本期公示行政处罚决定 3 件", "3. 金桥涂装有限公司"]),
        ("accident_report", ["发生时间：2026年11月3日9时20分", "伤亡情况：1人死亡"]),
    ],
)
def test_oa_card_sums_up_the_notice(site: Site, name: str, expected: list[str]) -> None:
    description = visible_text(
        site.one(site.sandboxes.wecom(), name)["payload"]["textcard"]["description"]
    )
    for text in expected:
        assert text in description, description


def test_oa_warning_card_carries_signal_colour_issuer_and_area(site: Site) -> None:
    card = site.one(site.sandboxes.wecom(), "weather_warning")["payload"]["textcard"]
    text = visible_text(card["description"])
    assert "暴雨橙色预警信号" in text
    # the issuer heads the card with the issue time: "市气象台 2026年12月4日6时发布"
    assert text.startswith("市气象台 ") and "影响区域：城区、东部山区" in text
    assert "防御指南：" in text
    until = _HOUR + timedelta(hours=6)
    assert f"有效期至：{until.year}年{until.month}月{until.day}日{until.hour}时" in text


# -- hostile input -------------------------------------------------------------------------------


def test_hostile_markup_never_reaches_a_page_or_an_article_unescaped(site: Site) -> None:
    nid = site.ids["hostile"]
    pages = {
        "notice page": site.page(f"/portal/notices/{nid}"),
        "front page": site.page("/portal"),
        "category page": site.page("/portal/category/general"),
        "wechat content": site.one(site.sandboxes.wechat_drafts(), "hostile")["content"],
        "oa card": site.one(site.sandboxes.wecom(), "hostile")["payload"]["textcard"][
            "description"
        ],
    }
    # feed readers render an item's description / content as HTML
    for feed in ("rss.xml", "atom.xml"):
        root = ElementTree.fromstring(site.page(f"/portal/{feed}"))
        for n, element in enumerate(root.iter()):
            tag = element.tag.rsplit("}", 1)[-1]
            if tag in ("description", "content", "summary") and element.text:
                pages[f"{feed} {tag} {n}"] = element.text
    assert sum("冬季取暖" in text for where, text in pages.items() if "xml" in where) == 2
    for where, html in pages.items():
        assert active_markup(html) == [], (where, active_markup(html))
    assert "冬季取暖请注意通风" in visible_text(pages["wechat content"])
    # what the notice page shows is the text as typed, not a script
    assert "<script>alert(1)</script>防煤气中毒" in visible_text(pages["notice page"])


# -- rules broken at submit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "needle"),
    [
        pytest.param(
            {
                **GENERAL,
                "title": "关于进一步加强全市危险化学品企业冬季安全生产"
                "和节假日期间值班值守工作的紧急通知！",
            },
            "wechat: title: 40 字，超过上限 32 字",
            id="title-too-long-for-wechat",
        ),
    ],
)
def test_content_breaking_a_channel_rule_is_rejected_and_nothing_written(
    site: Site, notice: dict[str, Any], needle: str
) -> None:
    before = site.ws.counts()
    posts_before = {c: site.sandboxes.get(c)["count"] for c in ("weibo", "wechat", "wecom_app")}
    site.ws.write("bad.json", json.dumps(notice, ensure_ascii=False))

    result = site.ws.cli("notice", "submit", "bad.json", "--wait", "10", "--json")

    assert result.returncode == 2, result
    assert needle in result.stderr, result
    assert "超过上限" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert site.ws.counts() == before
    after = {c: site.sandboxes.get(c)["count"] for c in ("weibo", "wechat", "wecom_app")}
    assert after == posts_before
