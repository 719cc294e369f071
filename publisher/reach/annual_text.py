"""The annual report as a document: headings, Chinese sentences built from the data, and the
tables of 国办公开办函〔2021〕30号, each cell a number from the data or visibly blank.

The sentences follow the register of a bureau's own report ("通过政务微博发布各类安全生产信息
34条，累计阅读次数达1800余次"): counts of items are exact, counts of reads are rounded down the
way such reports round them (:func:`about`). The tables keep exact numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from publisher import labels
from publisher.kinds import LABELS as KIND_LABELS
from publisher.reach.annual import COLOURS, AnnualReport, ChannelFigure

BLANK = "（待填写）"
PENDING = "（待日程与义务功能提供）"
CHANNEL_NOUNS = {
    "portal": "门户网站",
    "weibo": "政务微博",
    "wechat": "政务微信公众号",
    "wecom_app": "企业微信",
    "wecom_robot": "企业微信工作群",
    "dingtalk": "钉钉工作通知",
    "feishu": "飞书",
    "oa_webhook": "办公平台",
    "webhook": "数据接口",
}
KIND_PHRASES = {
    "weather_warning": "气象灾害预警信息",
    "approval_list": "行政许可信息",
    "penalty_disclosure": "行政处罚信息",
    "accident_report": "生产安全事故信息",
    "budget_disclosure": "财政预决算信息",
    "general": "工作动态",
}
INTERACTIONS = ("likes", "reposts", "comments", "shares")
APPLICANTS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
OUTCOMES = (
    "一、本年新收政府信息公开申请数量",
    "二、上年结转政府信息公开申请数量",
    "三、本年度办理结果",
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "（三）不予公开",
    "1．属于国家秘密",
    "2．其他法律行政法规禁止公开",
    "3．危及“三安全一稳定”",
    "4．保护第三方合法权益",
    "5．属于三类内部事务信息",
    "6．属于四类过程性信息",
    "7．属于行政执法案卷",
    "8．属于行政查询事项",
    "（四）无法提供",
    "1．本机关不掌握相关政府信息",
    "2．没有现成信息需要另行制作",
    "3．补正后申请内容仍不明确",
    "（五）不予处理",
    "1．信访举报投诉类申请",
    "2．重复申请",
    "3．要求提供公开出版物",
    "4．无正当理由大量反复申请",
    "5．要求行政机关确认或重新出具已获取信息",
    "（六）其他处理",
    "1．申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2．申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3．其他",
    "（七）总计",
    "四、结转下年度继续办理",
)
# Rows of table 三 that only head the rows below them (no cells of their own).
OUTCOME_HEADS = {
    "三、本年度办理结果",
    "（三）不予公开",
    "（四）无法提供",
    "（五）不予处理",
    "（六）其他处理",
}
REVIEW_COLUMNS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")

Cell = str | int


@dataclass(frozen=True)
class Table:
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    heads: frozenset[int] = frozenset()  # indexes of rows that head a block (shown bold)


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = field(default=())  # after the tables


def about(n: int) -> str:
    """A count of reads as a report states it: 34 -> "34", 1,834 -> "1800余", 1,800 -> "1800",
    12,345 -> "1.2万余", 123,456 -> "12万余"."""
    if n < 100:
        return str(n)
    if n < 10_000:
        step = 10 ** (len(str(n)) - 2)
        kept = n - n % step
        return f"{kept}{'余' if kept != n else ''}"
    unit = 1_000 if n < 100_000 else 10_000  # 1.2万 (to a thousand), else whole 万
    kept = n - n % unit
    text = f"{kept / 10_000:.1f}".removesuffix(".0") if unit == 1_000 else str(kept // 10_000)
    return f"{text}万{'余' if kept != n else ''}"


def title(report: AnnualReport) -> str:
    if report.period.half:
        return f"{report.organisation}{report.period.label}政府信息公开工作情况统计"
    return f"{report.organisation}{report.period.label}政府信息公开工作年度报告"


def _kinds(report: AnnualReport) -> str:
    parts = [
        f"{KIND_PHRASES.get(kind, KIND_LABELS.get(kind, kind))}{count}条"
        for kind, count in sorted(report.by_kind.items(), key=lambda kv: -kv[1])
    ]
    return "，其中" + "、".join(parts) if parts else ""


def channel_sentence(channel: ChannelFigure) -> str:
    noun = CHANNEL_NOUNS.get(channel.channel, channel.channel)
    text = f"通过{noun}发布各类安全生产信息{channel.posts}条"
    found = channel.reach
    if found is not None:
        metric, value = found
        return text + f"，累计{labels.metric(metric)}次数达{about(value)}次"
    shown = [
        f"{labels.metric(m)}{about(channel.figures[m])}次"
        for m in INTERACTIONS
        if m in channel.figures
    ]
    return text + ("，获" + "、".join(shown) if shown else "（该渠道暂无阅读数据）")


def overview(report: AnnualReport) -> tuple[str, ...]:
    p = report.period
    lead = (
        f"{p.label}，{report.organisation}认真贯彻落实《中华人民共和国政府信息公开条例》，"
        f"依托门户网站、政务新媒体和办公平台主动公开政府信息。{p.short}共主动公开各类安全生产"
        f"信息{report.total}条{_kinds(report)}。"
    )
    media = [channel_sentence(c) for c in report.channels]
    out = [lead]
    if media:
        when = report.as_of
        tail = f"（阅读等数据截至{when.astimezone(report.zone):%Y年%m月%d日}）" if when else ""
        out.append("；".join(media) + "。" + tail)
    out.append(warnings_sentence(report))
    out.append(batches_sentence(report))
    out.append(obligations_sentence(report))
    return tuple(out)


def warnings_sentence(report: AnnualReport) -> str:
    colours = report.warnings_by_colour
    total = sum(colours.values())
    if not total:
        return f"{report.period.short}未发布气象灾害预警信息。"
    parts = [f"{c}预警{colours[c]}条" for c in COLOURS if colours.get(c)]
    if colours.get(""):
        parts.append(f"未注明级别{colours['']}条")
    return f"{report.period.short}发布气象灾害预警信息{total}条，其中" + "、".join(parts) + "。"


def batches_sentence(report: AnnualReport) -> str:
    parts = []
    for kind, word in (("approval_list", "行政许可"), ("penalty_disclosure", "行政处罚")):
        batches = report.batches_of(kind)
        if batches:
            parts.append(f"分{len(batches)}批公开{word}决定信息{report.decisions(kind)}条")
        else:
            parts.append(f"未公开{word}决定信息")
    unlisted = [b for b in report.batches if b.rows is None]
    tail = f"（另有{len(unlisted)}批未附明细表，未计入条数）" if unlisted else ""
    return f"{report.period.short}" + "，".join(parts) + tail + "。"


def obligations_sentence(report: AnnualReport) -> str:
    o = report.obligations
    if o is None:
        return f"信息公开义务按时完成、逾期和未完成情况：{PENDING}。"
    return (
        f"{report.period.short}按时完成信息公开义务{o.on_time}项，"
        f"逾期完成{o.late}项，未完成{o.missed}项。"
    )


def proactive_table(report: AnnualReport) -> Table:
    b = BLANK
    rows: tuple[tuple[Cell, ...], ...] = (
        ("第二十条第（一）项", "", "", ""),
        ("信息内容", "本年制发件数", "本年废止件数", "现行有效件数"),
        ("规章", b, b, b),
        ("行政规范性文件", b, b, b),
        ("第二十条第（五）项", "", "", ""),
        ("信息内容", "本年处理决定数量", "", ""),
        ("行政许可", report.decisions("approval_list"), "", ""),
        ("第二十条第（六）项", "", "", ""),
        ("信息内容", "本年处理决定数量", "", ""),
        ("行政处罚", report.decisions("penalty_disclosure"), "", ""),
        ("行政强制", b, "", ""),
        ("第二十条第（八）项", "", "", ""),
        ("信息内容", "本年收费金额（单位：万元）", "", ""),
        ("行政事业性收费", b, "", ""),
    )
    heads = frozenset(
        i for i, r in enumerate(rows) if str(r[0]).startswith(("第二十条", "信息内容"))
    )
    return Table("主动公开政府信息情况", ("", "", "", ""), rows, heads)


def applications_table() -> Table:
    rows = tuple(
        (name, *(("",) * len(APPLICANTS) if name in OUTCOME_HEADS else (BLANK,) * len(APPLICANTS)))
        for name in OUTCOMES
    )
    heads = frozenset(i for i, r in enumerate(rows) if r[0] in OUTCOME_HEADS)
    return Table("收到和处理政府信息公开申请情况", ("申请情况 \\ 申请人", *APPLICANTS), rows, heads)


def reviews_table() -> Table:
    rows = tuple(
        (name, *(BLANK,) * len(REVIEW_COLUMNS))
        for name in ("行政复议", "行政诉讼（未经复议直接起诉）", "行政诉讼（复议后起诉）")
    )
    return Table("政府信息公开行政复议、行政诉讼情况", ("类别", *REVIEW_COLUMNS), rows)


def media_tables(report: AnnualReport) -> tuple[Table, ...]:
    channels = tuple(
        (
            CHANNEL_NOUNS.get(c.channel, c.channel),
            "、".join(c.accounts),
            c.posts,
            labels.metric(c.reach[0]) if c.reach else "—",
            c.reach[1] if c.reach else "—",
            labels.when(c.as_of, report.zone) if c.as_of else "—",
        )
        for c in report.channels
    )
    colours = tuple(
        (c or "未注明级别", report.warnings_by_colour.get(c, 0))
        for c in (*COLOURS, "")
        if c or report.warnings_by_colour.get("")
    )
    batches = tuple(
        (str(b.day), KIND_LABELS.get(b.kind, b.kind), b.title, "—" if b.rows is None else b.rows)
        for b in report.batches
    )
    kinds = tuple(
        (KIND_LABELS.get(k, k), n) for k, n in sorted(report.by_kind.items(), key=lambda kv: -kv[1])
    )
    o = report.obligations
    duties: tuple[tuple[Cell, ...], ...] = (
        (("按时完成", o.on_time), ("逾期完成", o.late), ("未完成", o.missed))
        if o
        else (("全部", PENDING),)
    )
    return (
        Table("各类信息发布情况", ("类别", "条数"), kinds),
        Table(
            "政务新媒体及各渠道发布情况",
            ("渠道", "账号", "发布条数", "指标", "数值", "数据截至"),
            channels,
        ),
        Table("气象灾害预警信息发布情况", ("预警级别", "条数"), colours),
        Table(
            "行政许可、行政处罚信息分批公开情况", ("首次发布日期", "类别", "标题", "条数"), batches
        ),
        Table("信息公开义务完成情况", ("情况", "项数"), duties),
    )


def document(report: AnnualReport) -> tuple[str, tuple[Section, ...]]:
    """The report's title and its six sections, in the national order."""
    o = report.obligations
    problems = [BLANK]
    if o is not None and (o.late or o.missed):
        problems.insert(
            0,
            f"{report.period.short}有{o.late}项信息公开义务逾期完成、{o.missed}项未完成，信息公开的及时性仍需提高。",
        )
    sections = (
        Section("一、总体情况", overview(report)),
        Section(
            "二、主动公开政府信息情况",
            ("行政许可、行政处罚的处理决定数量，按本机关在本期间公开的许可、处罚信息条目统计。",),
            (proactive_table(report),),
        ),
        Section("三、收到和处理政府信息公开申请情况", (), (applications_table(),)),
        Section("四、政府信息公开行政复议、行政诉讼情况", (), (reviews_table(),)),
        Section("五、存在的主要问题及改进情况", tuple(problems)),
        Section(
            "六、其他需要报告的事项",
            (
                f"依据《政府信息公开信息处理费管理办法》收取信息处理费的情况：{BLANK}",
                "政务新媒体及各渠道发布情况见下表。",
            ),
            media_tables(report),
            (
                f"本报告由系统根据发布记录生成于{labels.when(report.generated_at, report.zone)}；"
                f"标注“{BLANK}”处须人工填写。",
            ),
        ),
    )
    return title(report), sections
