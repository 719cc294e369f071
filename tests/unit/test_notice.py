"""Reading a notice from JSON, YAML or TOML: every bad input is one clear line naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from publisher.errors import NoticeFormatError
from publisher.notice import (
    MAX_FILE_BYTES,
    NoticeInput,
    load_notice_file,
    notice_fingerprint,
    parse_notice,
)

GOOD_JSON = """{
  "kind": "weather_warning",
  "title": "市气象台发布暴雨橙色预警信号",
  "body": "预计未来3小时有强降雨。",
  "publish_at": "2026-07-01T14:00:00+08:00",
  "table": {"columns": ["区域", "雨量"], "rows": [["东区", 52.5], ["西区", "60"]]},
  "fields": {"color": "橙色", "advice": ["停止户外作业"]},
  "channels": ["portal", "weibo"],
  "idempotency_key": "cap-2026-0701-001"
}
"""

GOOD_YAML = """\
kind: weather_warning
title: 市气象台发布暴雨橙色预警信号
body: 预计未来3小时有强降雨。
publish_at: "2026-07-01T14:00:00+08:00"
table:
  columns: [区域, 雨量]
  rows:
    - [东区, 52.5]
    - [西区, "60"]
fields:
  color: 橙色
  advice: [停止户外作业]
channels: [portal, weibo]
idempotency_key: cap-2026-0701-001
"""

GOOD_TOML = """\
kind = "weather_warning"
title = "市气象台发布暴雨橙色预警信号"
body = "预计未来3小时有强降雨。"
publish_at = 2026-07-01T14:00:00+08:00
channels = ["portal", "weibo"]
idempotency_key = "cap-2026-0701-001"

[table]
columns = ["区域", "雨量"]
rows = [["东区", 52.5], ["西区", "60"]]

[fields]
color = "橙色"
advice = ["停止户外作业"]
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content"),
    [("n.json", GOOD_JSON), ("n.yaml", GOOD_YAML), ("n.yml", GOOD_YAML), ("n.toml", GOOD_TOML)],
)
def test_json_yaml_and_toml_read_the_same(tmp_path: Path, name: str, content: str) -> None:
    notice = load_notice_file(write(tmp_path, name, content))
    assert notice.kind == "weather_warning" and notice.is_urgent
    assert notice.publish_at == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert notice.table is not None and notice.table.rows[0] == ["东区", 52.5]
    assert notice.channels == ["portal", "weibo"]
    assert notice.model_dump()["fields"] == {"color": "橙色", "advice": ["停止户外作业"]}
    assert notice_fingerprint(notice) == notice_fingerprint(
        load_notice_file(write(tmp_path, "ref.json", GOOD_JSON))
    )


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.json", "\ufeff" + GOOD_JSON)
    assert load_notice_file(path).title == "市气象台发布暴雨橙色预警信号"


def nested(depth: int) -> str:
    """A list inside a list ``depth`` times over."""
    return "[" * depth + "]" * depth


BAD: list[tuple[str, str | bytes, str]] = [
    # (file name, content, what the one line must say)
    ("a.json", '{"kind": "general", "title": }', "JSON 格式错误，第 1 行: "),
    ("a.json", "", "JSON 格式错误"),
    ("a.yaml", "kind: general\ntitle: [未闭合\nbody: x\n", "YAML 格式错误，第 3 行: "),
    ("a.toml", 'kind = "general"\ntitle = \n', "TOML 格式错误"),
    (
        "a.json",
        '{"kind": "earthquake", "title": "t", "body": "b"}',
        "kind: 未知的通知类型 'earthquake'，可选 weather_warning、approval_list、",
    ),
    ("a.json", '{"kind": "general", "body": "正文"}', "title: 缺少必填字段"),
    ("a.yaml", "kind: general\ntitle: 标题\n", "body: 缺少必填字段"),
    ("a.json", '{"kind": "general", "title": "   ", "body": "b"}', "title: 至少 1 个字符"),
    (
        "a.json",
        '{"kind": "general", "titel": "t", "title": "t", "body": "b"}',
        "titel: 未知字段",
    ),
    (
        "a.json",
        "暴雨预警".encode("gbk") + b"{}",
        "不是 UTF-8 文本（字节偏移 0，可能是 GBK 等编码，请另存为 UTF-8）",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "publish_at": "2026-12-01T09:00:00"}',
        "publish_at: 必须带时区偏移，例如 2026-12-01T09:00:00+08:00",
    ),
    (
        "a.yaml",
        "kind: general\ntitle: t\nbody: b\npublish_at: 2026-12-01 09:00:00\n",
        "publish_at: 必须带时区偏移",
    ),
    (
        "a.toml",
        'kind = "general"\ntitle = "t"\nbody = "b"\npublish_at = 2026-12-01T09:00:00\n',
        "publish_at: 必须带时区偏移",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "publish_at": "tomorrow"}',
        "publish_at: 应为带时区的日期时间，例如 2026-12-01T09:00:00+08:00",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "publish_at": "0001-01-01T00:00:00+14:00"}',
        "publish_at: 必须在 2000 年到 2100 年之间",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "publish_at": "9999-12-31T23:59:59-12:00"}',
        "publish_at: 必须在 2000 年到 2100 年之间",
    ),
    (
        "a.json",
        '{"kind": "penalty_disclosure", "title": "t", "body": "b", '
        '"table": {"columns": ["文号", "当事人"], "rows": [["1", "甲"], ["2", "乙", "多余"]]}}',
        "table: 第 2 行有 3 个单元格，表格有 2 列",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "table": {"columns": [], "rows": []}}',
        "table.columns: 至少 1 项，实际 0 项",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "channels": ["oa", "oa"]}',
        "channels: 同一个渠道账号出现了两次",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "channels": []}',
        "channels: 至少要指定一个渠道账号",
    ),
    (
        "a.json",
        '{"kind": "general", "title": "t", "body": "b", "urgent": "maybe"}',
        "urgent: 应为布尔值",
    ),
    ("a.yaml", "- kind: general\n", "通知应为字段的键值映射"),
    ("a.yaml", "", "通知应为字段的键值映射"),
    # NUL, which PostgreSQL cannot store, anywhere in the text; it is named where it is.
    (
        "a.json",
        '{"kind": "general", "title": "暴雨\\u0000预警", "body": "b"}',
        "title: 含有 NUL 字符 (U+0000)",
    ),
    (
        "a.json",
        '{"kind": "penalty_disclosure", "title": "t", "body": "第一段\\n第二段", '
        '"table": {"columns": ["文号"], "rows": [["1"], ["2\\u0000"]]}}',
        "table.rows.2.1: 含有 NUL 字符 (U+0000)",
    ),
    # Hostile shapes: refused at once, before anything walks them.
    (
        "a.json",
        '{"kind": "general", "fields": {"x": ' + nested(100_000) + "}}",
        "嵌套层数过多",
    ),
    ("a.toml", 'kind = "general"\n[fields]\nx = ' + nested(5000) + "\n", "嵌套层数过多"),
    ("a.yaml", "kind: general\nfields: {x: " + nested(5000) + "}\n", "嵌套层数过多"),
    ("a.json", '{"kind": "general", "fields": {"x": ' + nested(40) + "}}", "嵌套超过 32 层"),
]


def alias_bomb() -> str:
    """Nine levels of nine aliases: about 400 bytes that stand for 387 million strings."""
    lines = ['  l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "kind: general\ntitle: t\nbody: b\nfields:\n" + "\n".join(lines) + "\n"


BAD.append(("bomb.yaml", alias_bomb(), "超过 6,000,000 个值 (是否有 YAML 别名"))


@pytest.mark.parametrize(("name", "content", "says"), BAD)
def test_bad_input_is_one_clear_line(
    tmp_path: Path, name: str, content: str | bytes, says: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(NoticeFormatError) as refused:
        load_notice_file(path)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert says in message
    assert "Traceback" not in message and "pydantic" not in message.lower()
    assert "Input should" not in message  # pydantic's English, not ours


def test_a_table_of_100000_rows_is_a_notice() -> None:
    rows = [[f"许可{i}", "某某公司", "2026-11-01", "准予许可", i] * 2 for i in range(100_000)]
    notice = parse_notice(
        {
            "kind": "approval_list",
            "title": "十一月行政许可公示",
            "body": "见下表。",
            "table": {"columns": [f"列{n}" for n in range(10)], "rows": rows},
        }
    )
    assert notice.table is not None and len(notice.table.rows) == 100_000


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(NoticeFormatError, match="文件不存在"):
        load_notice_file(tmp_path / "missing.json")
    with pytest.raises(NoticeFormatError, match="是目录"):
        load_notice_file(tmp_path)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(NoticeFormatError, match="文件超过 10 MB"):
        load_notice_file(huge)


def test_unknown_suffix_is_read_as_json(tmp_path: Path) -> None:
    assert load_notice_file(write(tmp_path, "notice.txt", GOOD_JSON)).kind == "weather_warning"


# -- what the fields mean ------------------------------------------------------------------------


def test_warnings_are_urgent_unless_said_otherwise() -> None:
    base = {"title": "t", "body": "b"}
    assert parse_notice({"kind": "weather_warning", **base}).is_urgent
    assert not parse_notice({"kind": "weather_warning", "urgent": False, **base}).is_urgent
    assert not parse_notice({"kind": "general", **base}).is_urgent
    assert parse_notice({"kind": "accident_report", "urgent": True, **base}).is_urgent


def test_text_is_trimmed() -> None:
    notice = parse_notice({"kind": "general", "title": "  标题 \n", "body": "\n正文\n"})
    assert (notice.title, notice.body) == ("标题", "正文")


def test_publish_at_keeps_its_instant() -> None:
    notice = parse_notice(
        {"kind": "general", "title": "t", "body": "b", "publish_at": "2026-12-01T09:00:00+08:00"}
    )
    assert notice.publish_at is not None
    assert notice.publish_at.utcoffset() == timedelta(hours=8)
    assert notice.publish_at == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)  # noqa: UP017


def test_fingerprint_tells_a_replay_from_new_content() -> None:
    one = NoticeInput(kind="general", title="t", body="b", idempotency_key="k1")
    same = NoticeInput(kind="general", title="t", body="b", idempotency_key="k2")
    other = NoticeInput(kind="general", title="t", body="b2", idempotency_key="k1")
    assert notice_fingerprint(one) == notice_fingerprint(same)  # the key is not content
    assert notice_fingerprint(one) != notice_fingerprint(other)
