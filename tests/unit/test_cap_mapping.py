"""A CAP alert becomes a ``weather_warning``: the CMA colour and level by eventCode,
parameter, severity or headline; the Chinese info block; what is refused and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cap_samples import IDENTIFIER, OASIS_EXAMPLE, SENDER, alert, info

from publisher.cap.mapping import advice_items, to_notice
from publisher.cap.parse import parse_cap
from publisher.errors import CapRefused, NoticeFormatError
from publisher.notice import parse_notice

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
COLOURS = [("蓝色", "Ⅳ"), ("黄色", "Ⅲ"), ("橙色", "Ⅱ"), ("红色", "Ⅰ")]


def mapped(*infos: str, **kw: Any) -> dict[str, Any]:
    return to_notice(parse_cap(alert(*infos, **kw)), NOW).model_dump(mode="json")


@pytest.mark.parametrize(("code", "signal", "colour", "level"), [
    ("0201", "暴雨", "蓝色", "Ⅳ"),
    ("0902", "雷电", "黄色", "Ⅲ"),
    ("0103", "台风", "橙色", "Ⅱ"),
    ("0704", "高温", "红色", "Ⅰ"),
    ("1603", "雷雨大风", "橙色", "Ⅱ"),
])  # fmt: skip
def test_colour_and_type_from_the_cma_event_code(
    code: str, signal: str, colour: str, level: str
) -> None:
    # severity says otherwise on purpose: the event code wins
    doc = info(event_codes=[("CMA_SIGNAL", code)], severity="Minor", headline="气象台发布预警")
    fields = mapped(doc)["fields"]
    assert (fields["signal"], fields["color"], fields["level"]) == (signal, colour, level)


@pytest.mark.parametrize(("value", "colour", "level"), [
    ("红色", "红色", "Ⅰ"),
    ("Red", "红色", "Ⅰ"),
    ("ORANGE", "橙色", "Ⅱ"),
    ("黄", "黄色", "Ⅲ"),
    ("blue", "蓝色", "Ⅳ"),
    ("Ⅱ级/橙色/严重", "橙色", "Ⅱ"),  # what the portal's own CAP feed writes
    ("Ⅰ级", "红色", "Ⅰ"),
])  # fmt: skip
def test_colour_from_a_parameter(value: str, colour: str, level: str) -> None:
    doc = info(parameters=[("预警信号", value)], severity="Unknown", headline="气象台发布预警")
    fields = mapped(doc)["fields"]
    assert (fields["color"], fields["level"]) == (colour, level)


@pytest.mark.parametrize(
    ("severity", "colour", "level"),
    [("Extreme", "红色", "Ⅰ"), ("Severe", "橙色", "Ⅱ"), ("Moderate", "黄色", "Ⅲ"),
     ("Minor", "蓝色", "Ⅳ")],
)  # fmt: skip
def test_colour_from_severity_when_no_code_names_it(severity: str, colour: str, level: str) -> None:
    fields = mapped(info(severity=severity, headline="大庆市气象台发布暴雨预警"))["fields"]
    assert (fields["signal"], fields["color"], fields["level"]) == ("暴雨", colour, level)


@pytest.mark.parametrize(("colour", "level"), COLOURS)
def test_colour_from_the_chinese_headline_last(colour: str, level: str) -> None:
    doc = info(severity="Unknown", event="气象预警", headline=f"市气象台发布大风{colour}预警信号")
    fields = mapped(doc)["fields"]
    assert (fields["signal"], fields["color"], fields["level"]) == ("大风", colour, level)


def test_no_colour_anywhere_is_a_warning_without_one() -> None:
    fields = mapped(info(severity="Unknown", event="地质灾害预警", headline="地质灾害预警"))[
        "fields"
    ]
    assert "color" not in fields and "level" not in fields and "signal" not in fields


def test_every_cap_element_lands_where_the_brief_says() -> None:
    notice = mapped(
        info(language="en-US", headline="Rainstorm orange", description="Heavy rain"),
        info(event_codes=[("CMA_SIGNAL", "0203")]),
    )
    fields = notice["fields"]
    assert notice["kind"] == "weather_warning"
    assert notice["title"] == "大庆市气象台发布暴雨预警信号"  # the zh-CN block, though second
    assert notice["body"] == "预计未来3小时内大庆市区将出现50毫米以上降雨。"
    assert fields["issuer"] == "大庆市气象台"
    assert fields["area"] == ["萨尔图区", "让胡路区"]
    assert fields["issued_at"] == "2026-11-26T16:00:00+08:00"
    assert fields["valid_until"] == "2099-11-27T16:00:00+08:00"
    assert fields["advice"] == ["政府及相关部门按照职责做好防暴雨应急工作", "切断有危险的室外电源"]
    assert fields["contact"] == "0459-4612345"
    assert (fields["urgency"], fields["certainty"], fields["cap_status"]) == (
        "Immediate",
        "Likely",
        "Actual",
    )
    assert fields["cap"]["identifier"] == IDENTIFIER
    assert fields["cap"]["sender"] == SENDER
    assert (fields["cap"]["msgType"], fields["cap"]["language"]) == ("Alert", "zh-CN")
    assert notice["idempotency_key"] == f"cap:{SENDER}:{IDENTIFIER}"
    assert notice["urgent"] is None  # a warning's default: urgent


def test_chinese_text_without_a_language_is_taken() -> None:
    notice = mapped(info(language=None))  # CAP's default is en-US; the text is Chinese
    assert notice["title"] == "大庆市气象台发布暴雨预警信号"


def test_the_oasis_example_is_refused_as_not_chinese() -> None:
    with pytest.raises(CapRefused) as refused:
        to_notice(parse_cap(OASIS_EXAMPLE.read_bytes()), NOW)
    assert str(refused.value) == "CAP 消息没有中文内容 (language 为 en-US、es-US)，不发布"


def test_an_expired_warning_is_refused() -> None:
    with pytest.raises(CapRefused, match=r"已于 2026-11-26T08:00:00\+08:00 失效"):
        mapped(info(effective="2026-11-26T06:00:00+08:00", expires="2026-11-26T08:00:00+08:00"))


@pytest.mark.parametrize(
    ("status", "says"),
    [("Draft", "草稿不发布"), ("System", "系统消息不发布")],
)  # fmt: skip
def test_drafts_and_system_messages_are_refused(status: str, says: str) -> None:
    with pytest.raises(CapRefused, match=says):
        mapped(status=status)


@pytest.mark.parametrize("status", ["Exercise", "Test"])
def test_exercise_and_test_are_drills(status: str) -> None:
    notice = mapped(status=status)
    assert notice["drill"] is True
    assert notice["fields"]["cap_status"] == status
    assert mapped()["drill"] is False


def test_a_cancel_is_never_mapped_to_a_new_warning() -> None:
    # (intake hands a Cancel to the lifecycle, which lifts the warning it references)
    with pytest.raises(CapRefused, match="不是新预警: 它解除所引用的预警"):
        mapped(msg_type="Cancel", references=f"{SENDER},{IDENTIFIER},2026-11-26T16:00:00+08:00")


def test_an_update_is_a_new_warning_that_keeps_its_references() -> None:
    ref = f"{SENDER},{IDENTIFIER},2026-11-26T16:00:00+08:00"
    notice = mapped(
        info(event_codes=[("CMA_SIGNAL", "0203")]),
        identifier="23070041600000_20261126180000_2",
        msg_type="Update",
        references=ref,
    )
    assert notice["fields"]["cap"]["msgType"] == "Update"
    assert notice["fields"]["cap"]["references"] == [ref]
    assert notice["idempotency_key"].endswith("_20261126180000_2")


def test_expires_before_effective_is_refused_in_one_line() -> None:
    with pytest.raises(NoticeFormatError, match="valid_until: 应晚于发布时间"):
        mapped(info(effective="2099-11-28T16:00:00+08:00", expires="2099-11-27T16:00:00+08:00"))


def test_advice_is_split_by_line_and_semicolon_without_numbering() -> None:
    text = "1、停止户外作业；2. 关好门窗\n（三）注意防雷;\n\n四、远离河道"
    assert advice_items(text) == ["停止户外作业", "关好门窗", "注意防雷", "远离河道"]


def test_json_cannot_set_the_cap_record_or_a_level_against_the_colour() -> None:
    base = {"kind": "weather_warning", "title": "t", "body": "b"}
    with pytest.raises(NoticeFormatError, match=r"fields\.cap: 由 CAP 接收自动记录"):
        parse_notice({**base, "fields": {"cap": {"identifier": "x"}}})
    with pytest.raises(NoticeFormatError, match=r"fields\.level: 与颜色 红色 不符"):
        parse_notice({**base, "fields": {"color": "红色", "level": "Ⅳ"}})
    assert parse_notice({**base, "fields": {"color": "红色", "level": "Ⅰ"}}).fields
