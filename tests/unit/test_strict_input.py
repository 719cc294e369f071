"""Strict notice input: every field against its kind's schema, one type per field, no
character a feed cannot carry, no number that is not one, no link that leaves the site by
surprise. Each input below is one a probe of the released version got through, or crashed on.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from publisher import kinds
from publisher.errors import NoticeFormatError
from publisher.notice import check_timing, load_notice_file, parse_notice

WARNING: dict[str, Any] = {
    "kind": "weather_warning",
    "title": "市气象台发布暴雨橙色预警信号",
    "body": "预计未来3小时有强降雨。",
    "fields": {
        "signal": "暴雨",
        "color": "橙色",
        "issuer": "市气象台",
        "area": ["城区", "北部山区"],
        "issued_at": "2026-07-01T14:00:00+08:00",
        "valid_until": "2026-07-02T14:00:00+08:00",
        "advice": ["停止户外作业", "危险地带人员撤离"],
    },
}
GENERAL: dict[str, Any] = {"kind": "general", "title": "关于开展安全检查的通知", "body": "正文"}


def warning(**fields: Any) -> dict[str, Any]:
    return {**WARNING, "fields": {**WARNING["fields"], **fields}}


def refused(data: Any) -> str:
    with pytest.raises(NoticeFormatError) as caught:
        parse_notice(data)
    message = str(caught.value)
    assert "\n" not in message and "Input should" not in message, message
    return message


def test_a_full_warning_is_read_with_every_field() -> None:
    notice = parse_notice(WARNING)
    assert notice.model_dump(mode="json")["fields"] == WARNING["fields"]


# -- unknown fields: refused by name, with the nearest known one --------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (warning(colour="橙色"), "fields.colour: 未知字段，是否应为 color？"),
        (warning(isuer="市气象台"), "fields.isuer: 未知字段，是否应为 issuer？"),
        (warning(valid_untill="2026-07-02T14:00:00+08:00"), "是否应为 valid_until？"),
        ({**GENERAL, "titel": "t"}, "titel: 未知字段，是否应为 title？"),
        ({**GENERAL, "fields": {"periode": "10月"}}, "fields.periode: 未知字段"),
        (
            {**GENERAL, "fields": {"attachments": [{"nmae": "a.pdf", "url": "/a.pdf"}]}},
            "fields.attachments.1.nmae: 未知字段，是否应为 name？",
        ),
        ({**GENERAL, "table": {"columns": ["a"], "rows": [], "row": []}}, "table.row: 未知字段"),
    ],
)
def test_an_unknown_field_is_named_with_a_suggestion(data: dict[str, Any], says: str) -> None:
    assert says in refused(data)


def test_a_field_of_another_kind_is_unknown_here() -> None:
    """``period`` belongs to lists: a warning carrying it has misplaced something."""
    assert "fields.period: 未知字段" in refused(warning(period="2026年10月"))
    assert parse_notice({**GENERAL, "kind": "penalty_disclosure", "fields": {"period": "10月"}})


@pytest.mark.parametrize(
    "key", ["withdrawn", "withdrawn_reason", "portal_url", "lifted", "lifted_at", "colour"]
)
def test_internal_fields_cannot_be_set_from_outside(key: str) -> None:
    assert f"fields.{key}: 未知字段" in refused(warning(**{key: True}))
    assert f"fields.{key}: 未知字段" in refused({**GENERAL, "fields": {key: "x"}})


# -- one type per field ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({**GENERAL, "urgent": "yes"}, "urgent: 应为布尔值"),
        ({**GENERAL, "urgent": 1}, "urgent: 应为布尔值"),
        ({**GENERAL, "title": 5}, "title: 应为文本"),
        ({**GENERAL, "channels": [1]}, "channels.1: 应为文本"),
        ({**GENERAL, "allow_past": "true"}, "allow_past: 应为布尔值"),
        ({**GENERAL, "publish_at": 5}, "publish_at: 应为带时区的日期时间"),
        (warning(color=5), "fields.color: 应为 '蓝色'、'黄色'、'橙色'、'红色' 之一"),
        (warning(color="orange"), "fields.color: 应为 '蓝色'"),
        (warning(signal={"a": 1}), "fields.signal: 应为文本"),
        (warning(advice=5), "fields.advice: 应为列表"),
        (warning(advice=[5]), "fields.advice.1: 应为文本"),
        (warning(area=5), "fields.area: 应为列表"),
        (warning(issued_at=5), "fields.issued_at: 应为带时区的日期时间"),
        (warning(valid_until=5), "fields.valid_until: 应为带时区的日期时间"),
        (warning(issued_at="2026年7月1日14时"), "fields.issued_at: 应为带时区的日期时间"),
        (warning(issuer=["a"]), "fields.issuer: 应为文本"),
        (
            {**GENERAL, "kind": "budget_disclosure", "fields": {"year": "2026"}},
            "fields.year: 应为整数",
        ),
        ({**GENERAL, "fields": {"attachments": "a.pdf"}}, "fields.attachments: 应为列表"),
        ({**GENERAL, "fields": []}, "fields: 应为键值映射"),
    ],
)
def test_every_field_has_one_type(data: dict[str, Any], says: str) -> None:
    assert says in refused(data)


def test_a_warning_that_ends_before_it_starts_is_refused() -> None:
    message = refused(warning(valid_until="2026-07-01T13:00:00+08:00"))
    assert message.startswith("fields.valid_until: 应晚于发布时间 issued_at")


# -- numbers that are not numbers ------------------------------------------------------------


def table_json(cell: str) -> bytes:
    return (
        '{"kind": "penalty_disclosure", "title": "t", "body": "b", '
        '"table": {"columns": ["文号", "金额"], "rows": [["1", 2], ["2", ' + cell + "]]}}"
    ).encode()


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("NaN", "table.rows.2.2: 应为有限的数字"),
        ("Infinity", "table.rows.2.2: 应为有限的数字"),
        ("-Infinity", "table.rows.2.2: 应为有限的数字"),
        ("1e999", "table.rows.2.2: 应为有限的数字"),
        ("9" * 5000, "table.rows.2.2: 数字超出范围"),
        ("110101199003074514", "table.rows.2.2: 数字超出范围"),
        ("true", "table.rows.2.2: 应为文本或数字"),
        ("null", "table.rows.2.2: 应为文本或数字"),
        ('{"a": 1}', "table.rows.2.2: 应为文本或数字"),
    ],
)
def test_garbage_numbers_in_a_table_are_refused(tmp_path: Path, cell: str, says: str) -> None:
    path = tmp_path / "n.json"
    path.write_bytes(table_json(cell))
    with pytest.raises(NoticeFormatError) as caught:
        load_notice_file(path)
    assert str(caught.value) == f"{path}: {says}" or says in str(caught.value)
    assert "Exceeds the limit" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        (
            "n.yaml",
            "kind: general\ntitle: t\nbody: b\ntable: {columns: [a], rows: [[" + "9" * 5000 + "]]}",
            "table.rows.1.1: 数字超出范围",
        ),
        (
            "n.yaml",
            "kind: general\ntitle: t\nbody: b\ntable: {columns: [a], rows: [[.nan]]}",
            "有限",
        ),
        (
            "n.yaml",
            "kind: general\ntitle: t\nbody: b\ntable: {columns: [a], rows: [[.inf]]}",
            "有限",
        ),
        ("n.toml", 'kind = "general"\ntitle = "t"\nbody = "b"\nx = ' + "9" * 5000, "4300 位"),
        (
            "n.toml",
            'kind = "general"\ntitle = "t"\nbody = "b"\n[table]\ncolumns = ["a"]\nrows = [[nan]]',
            "table.rows.1.1: 应为有限的数字",
        ),
    ],
)
def test_garbage_numbers_from_yaml_and_toml(
    tmp_path: Path, name: str, content: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NoticeFormatError) as caught:
        load_notice_file(path)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_ordinary_numbers_in_cells_are_fine() -> None:
    notice = parse_notice(
        {**GENERAL, "table": {"columns": ["a", "b", "c"], "rows": [[-3, 2.5, 9007199254740991]]}}
    )
    assert notice.table is not None and notice.table.rows == [[-3, 2.5, 9007199254740991]]


# -- characters that break feeds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "what"),
    [
        ("\x0b", "U+000B (控制字符)"),
        ("\x01", "U+0001 (控制字符)"),
        ("\x1f", "U+001F (控制字符)"),
        ("\ufffe", "U+FFFE (非字符"),
        ("\uffff", "U+FFFF (非字符"),
        ("\ufdd0", "U+FDD0 (非字符"),
        ("\U0001fffe", "U+1FFFE (非字符"),
        ("\u202e", "U+202E (双向文本控制符)"),
        ("\u202a", "U+202A (双向文本控制符)"),
        ("\u2066", "U+2066 (双向文本控制符)"),
        ("\u2069", "U+2069 (双向文本控制符)"),
        ("\udfff", "U+DFFF (不成对的代理字符)"),
    ],
)
def test_characters_no_feed_can_carry_are_refused_everywhere(char: str, what: str) -> None:
    places: list[tuple[dict[str, Any], str]] = [
        ({**GENERAL, "title": f"暴雨{char}预警"}, "title"),
        ({**GENERAL, "body": f"正文{char}"}, "body"),
        ({**GENERAL, "summary": f"摘要{char}"}, "summary"),
        (warning(issuer=f"市气象台{char}"), "fields.issuer"),
        (warning(advice=["撤离", f"停止{char}作业"]), "fields.advice.2"),
        ({**GENERAL, "table": {"columns": [f"列{char}"], "rows": []}}, "table.columns.1"),
        ({**GENERAL, "table": {"columns": ["a"], "rows": [["x"], [f"y{char}"]]}}, "table.rows.2.1"),
    ]
    for data, where in places:
        assert refused(data) == f"{where}: 含有不允许的字符 {what}" or what in refused(data)
        assert refused(data).startswith(f"{where}: ")


@pytest.mark.parametrize("char", ["\x00", "\x0b", "\u202e", "\ufffe"])
def test_keys_are_checked_too(char: str) -> None:
    message = refused({**GENERAL, "fields": {f"a{char}b": "x"}})
    assert message.startswith(f"fields.a\\u{ord(char):04x}b: 字段名含有不允许的字符 ")
    assert char not in message


def test_tab_and_newlines_are_text() -> None:
    notice = parse_notice({**GENERAL, "body": "第一段\n\t第二段\r\n第三段"})
    assert "\t第二段" in notice.body


def test_a_lone_surrogate_from_yaml_and_json_is_one_line(tmp_path: Path) -> None:
    yaml_file = tmp_path / "n.yaml"
    yaml_file.write_text(
        'kind: weather_warning\ntitle: t\nbody: b\nfields: {issuer: "\\udfff"}\n', encoding="utf-8"
    )
    json_file = tmp_path / "n.json"
    json_file.write_text(
        '{"kind": "weather_warning", "title": "t", "body": "b", "fields": {"issuer": "\\udfff"}}',
        encoding="utf-8",
    )
    for path in (yaml_file, json_file):
        with pytest.raises(NoticeFormatError) as caught:
            load_notice_file(path)
        assert (
            str(caught.value)
            == f"{path}: fields.issuer: 含有不允许的字符 U+DFFF (不成对的代理字符)"
        )


# -- attachment links ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.gov.cn/files/决定书.pdf",
        "http://10.0.0.8/a.pdf",
        "/files/2026/a.pdf",
        "/a.pdf?v=1#p2",
    ],
)
def test_clean_links_are_attachments(url: str) -> None:
    notice = parse_notice({**GENERAL, "fields": {"attachments": [{"name": "附件", "url": url}]}})
    assert notice.model_dump()["fields"]["attachments"] == [{"name": "附件", "url": url}]


@pytest.mark.parametrize(
    "url",
    [
        "/\\evil.example/x",
        "//evil.example/x",
        "\\\\evil.example\\x",
        "/files\\a.pdf",
        "javascript:alert(1)",
        "data:text/html,<script>",
        "ftp://example.com/a",
        "https://",
        "https:///path",
        "files/a.pdf",
        "https://example.com/a b",
        "/a\tb",
        "",
    ],
)
def test_other_links_are_refused_by_name(url: str) -> None:
    message = refused(
        {
            **GENERAL,
            "fields": {"attachments": [{"name": "a", "url": "/ok"}, {"name": "b", "url": url}]},
        }
    )
    assert message.startswith("fields.attachments.2.url: "), message


# -- streams and bombs -----------------------------------------------------------------------


def test_a_device_without_end_is_read_only_to_the_limit() -> None:
    started = time.monotonic()
    with pytest.raises(NoticeFormatError, match="文件超过 10 MB"):
        load_notice_file(Path("/dev/zero"))
    assert time.monotonic() - started < 5


def test_standard_input_is_read_only_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    class Endless:
        def read(self, size: int = -1) -> bytes:
            assert size > 0, "read without a limit"
            asked.append(size)
            return b"0" * size

    class Stdin:
        buffer = Endless()

    monkeypatch.setattr("sys.stdin", Stdin())
    with pytest.raises(NoticeFormatError, match="标准输入: 超过 10 MB"):
        load_notice_file(Path("-"))
    assert asked == [10 * 1024 * 1024 + 1]


def test_a_yaml_alias_bomb_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    lines = ['  l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("kind: general\ntitle: t\nbody: b\nfields:\n" + "\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(NoticeFormatError, match="超过 6,000,000 个值"):
        load_notice_file(path)
    assert time.perf_counter() - started < 0.5


def test_a_yaml_alias_that_refers_to_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("kind: general\ntitle: t\nbody: b\nfields: &a {x: *a}\n")
    with pytest.raises(NoticeFormatError, match="循环引用"):
        load_notice_file(path)


def test_ordinary_yaml_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_text(
        "kind: penalty_disclosure\ntitle: t\nbody: b\n"
        "table:\n  columns: [a, b]\n  rows:\n    - &r [甲, 1]\n    - *r\n",
        encoding="utf-8",
    )
    notice = load_notice_file(path)
    assert notice.table is not None and notice.table.rows == [["甲", 1], ["甲", 1]]


# -- what only the clock shows ---------------------------------------------------------------

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 16:00 in Beijing


def test_an_expired_warning_is_refused_at_submit() -> None:
    notice = parse_notice(warning(valid_until="2026-07-01T15:00:00+08:00"))
    with pytest.raises(NoticeFormatError, match=r"^fields\.valid_until: 已经过去"):
        check_timing(notice, NOW)
    check_timing(parse_notice(warning(valid_until="2026-07-01T17:00:00+08:00")), NOW)


@pytest.mark.parametrize(
    "when", ["2025-07-01T09:00:00+08:00", "2001-01-01T00:00:00+08:00", "2026-07-01T15:54:00+08:00"]
)
def test_a_past_publish_at_is_refused_unless_asked_for(when: str) -> None:
    notice = parse_notice({**GENERAL, "publish_at": when})
    with pytest.raises(NoticeFormatError, match=r"^publish_at: 早于当前时间 5 分钟以上.*--now"):
        check_timing(notice, NOW)
    check_timing(notice.model_copy(update={"allow_past": True}), NOW)
    check_timing(parse_notice({**GENERAL, "publish_at": when, "allow_past": True}), NOW)


def test_a_publish_at_just_gone_or_ahead_is_fine() -> None:
    for when in ("2026-07-01T15:56:00+08:00", "2026-07-01T16:00:00+08:00", "2030-01-01T09:00:00Z"):
        check_timing(parse_notice({**GENERAL, "publish_at": when}), NOW)


def test_allow_past_is_not_content() -> None:
    from publisher.notice import notice_fingerprint

    one = parse_notice({**GENERAL, "publish_at": "2025-01-01T00:00:00Z"})
    two = parse_notice({**GENERAL, "publish_at": "2025-01-01T00:00:00Z", "allow_past": True})
    assert notice_fingerprint(one) == notice_fingerprint(two)


# -- the registry ----------------------------------------------------------------------------


def test_every_kind_is_in_the_registry_with_a_schema() -> None:
    assert set(kinds.NAMES) == {k.value for k in kinds.Kind}
    for kind in kinds.Kind:
        spec = kinds.spec(kind)
        assert spec.label and spec.category and issubclass(spec.fields, kinds.Fields)
        # every kind may carry attachments, and nothing it does not declare
        assert "attachments" in spec.fields.model_fields
        assert spec.fields.model_config.get("extra") == "forbid"
    assert kinds.spec("weather_warning").urgent
    assert not any(kinds.spec(k).urgent for k in kinds.NAMES if k != "weather_warning")


def test_the_labels_channels_show_come_from_the_registry() -> None:
    from publisher.render import KIND_LABELS
    from publisher.settings import NOTICE_KINDS

    assert {k: kinds.spec(k).label for k in kinds.NAMES} == KIND_LABELS
    assert tuple(NOTICE_KINDS) == kinds.NAMES


def test_the_notice_schema_has_one_shape_per_kind() -> None:
    from publisher.notice import notice_schema

    schema = notice_schema()
    assert schema["discriminator"]["propertyName"] == "kind"
    assert len(schema["oneOf"]) == len(kinds.NAMES)
    warning_fields = schema["$defs"]["WarningFields"]
    assert warning_fields["additionalProperties"] is False
    assert warning_fields["properties"]["color"]["anyOf"][0]["enum"] == [
        "蓝色",
        "黄色",
        "橙色",
        "红色",
    ]
    assert json.dumps(schema, ensure_ascii=False).count("withdrawn") == 0


def test_a_far_future_publish_at_still_has_a_limit() -> None:
    later = (NOW + timedelta(days=365 * 200)).isoformat()
    assert "publish_at: 必须在 2000 年到 2100 年之间" in refused({**GENERAL, "publish_at": later})
