"""Every format of a personal number, in every place of a notice, refused or masked.

The formats are the ones a probe slipped past the guard (spaced, hyphenated, full-width,
glued to letters, zero-width characters inside, country codes, dots, the old 15-digit ID);
the places are every part of a notice that reaches a channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from publisher import pii
from publisher.errors import NoticeFormatError, PersonalDataFound
from publisher.notice import NoticeInput, parse_notice
from publisher.pii.normalize import normalise
from publisher.pii.numbers import id_check_char

ID = "11010119900307123" + id_check_char("11010119900307123")  # 110101199003071233
ID_X = "11010519491231002X"  # the GB 11643 example number
ID15 = "110101900307123"
MOBILE = "13812345678"
CARD = "6222021234567890128"  # UnionPay, Luhn-valid
FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

# name: (as typed, the number it is, how it reads masked)
FORMATS: dict[str, tuple[str, str, str]] = {
    "id": (ID, ID, "1101**********1233"),
    "id spaced": ("110101 19900307 1233", ID, "1101**********1233"),
    "id hyphenated": ("110101-19900307-1233", ID, "1101**********1233"),
    "id full-width": (ID.translate(FULL), ID, "1101**********1233"),
    "id glued to letters": ("ID" + ID, ID, "ID1101**********1233"),
    "id zero-width space": (ID[:6] + "\u200b" + ID[6:], ID, "1101**********1233"),
    "id check X full-width": (ID_X.translate(FULL), ID_X, "1101**********002X"),
    "id 15 digits": (ID15, ID15, "1101*******7123"),
    "id 15 spaced": ("110101 900307 123", ID15, "1101*******7123"),
    "mobile": (MOBILE, MOBILE, "138****5678"),
    "mobile spaced": ("138 1234 5678", MOBILE, "138****5678"),
    "mobile +86 spaced": ("+86 138 1234 5678", MOBILE, "138****5678"),
    "mobile hyphenated": ("138-1234-5678", MOBILE, "138****5678"),
    "mobile 0086": ("0086" + MOBILE, MOBILE, "138****5678"),
    "mobile full-width": (MOBILE.translate(FULL), MOBILE, "138****5678"),
    "mobile dots": ("138.1234.5678", MOBILE, "138****5678"),
    "mobile word joiner": ("138\u20601234\ufeff5678", MOBILE, "138****5678"),
    "card": (CARD, CARD, "6222***********0128"),
    "card grouped": ("6222 0212 3456 7890 128", CARD, "6222***********0128"),
}


def _notice(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "penalty_disclosure",
        "title": "行政处罚决定公开",
        "body": "现予公开。",
        **extra,
    }


def _attachment(name: str, url: str) -> dict[str, Any]:
    return {"fields": {"attachments": [{"name": name, "url": url}]}}


# place: (build a notice around a value, where a refusal points, characters before the value)
PLACES: dict[str, tuple[Callable[[str], dict[str, Any]], str, int]] = {
    "title": (lambda v: _notice(title=f"关于{v}的处罚决定"), "title", 2),
    "body": (lambda v: _notice(body=f"当事人：张某，{v}。"), "body", 7),
    "summary": (lambda v: _notice(summary=f"联系人 {v}"), "summary", 4),
    "table header": (
        lambda v: _notice(table={"columns": ["当事人", f"电话{v}"], "rows": [["张某", "无"]]}),
        "表格第2列列名",
        2,
    ),
    "table cell": (
        lambda v: _notice(table={"columns": ["当事人", "证件"], "rows": [["张某", v]]}),
        "表格第1行「证件」",
        0,
    ),
    "fields value": (
        lambda v: _notice(fields={"issuer": f"电话：{v}"}),
        "fields.issuer",
        3,
    ),
    "attachment name": (
        lambda v: _notice(**_attachment(f"{v}.pdf", "https://www.example.gov.cn/a.pdf")),
        "fields.attachments[0].name",
        0,
    ),
    "attachment url": (
        lambda v: _notice(
            **_attachment("决定书.pdf", f"https://www.example.gov.cn/f/{quote(v)}.pdf")
        ),
        "fields.attachments[0].url",
        len("https://www.example.gov.cn/f/"),
    ),
}


def guard(data: dict[str, Any], allow: frozenset[str] = frozenset()) -> NoticeInput:
    """What intake does: refuse the notice, or hand back the masked one."""
    notice = parse_notice(data)
    masked, findings = pii.guard(notice.model_dump(mode="python"), allow)
    if not findings:
        return notice
    if notice.pii != "mask":
        raise PersonalDataFound([f.describe() for f in findings])
    return NoticeInput.model_validate(masked)


def digits_everywhere(notice: NoticeInput) -> str:
    """All digits of a notice as one string, after folding full-width and percent-escapes."""
    return re.sub(r"[^0-9X]", "", normalise(json.dumps(notice.model_dump(mode="json"))).text)


def cases() -> list[Any]:
    return [pytest.param(fmt, place, id=f"{place}: {fmt}") for place in PLACES for fmt in FORMATS]


@pytest.mark.parametrize(("fmt", "place"), cases())
def test_refused_with_its_place(fmt: str, place: str) -> None:
    typed, number, _ = FORMATS[fmt]
    build, where, before = PLACES[place]
    before += len(typed) - len(typed.lstrip("ID"))  # letters glued in front are not the number
    with pytest.raises(PersonalDataFound) as caught:
        guard(build(typed))
    message = str(caught.value)
    assert f"{where} 第{before + 1}个字符起" in message
    assert number not in message  # the refusal itself never repeats the number


@pytest.mark.parametrize(("fmt", "place"), cases())
def test_masked_leaves_no_full_number(fmt: str, place: str) -> None:
    typed, number, shown = FORMATS[fmt]
    build, _, _ = PLACES[place]
    masked = guard({**build(typed), "pii": "mask"})
    assert number not in digits_everywhere(masked)
    assert shown.removeprefix("ID") in json.dumps(
        masked.model_dump(mode="json"), ensure_ascii=False
    )


# -- numbers sent as JSON numbers -------------------------------------------------------

NUMBERS = {
    "id": (int(ID), "1101**********1233"),
    "id 15": (int(ID15), "1101*******7123"),
    "mobile": (int(MOBILE), "138****5678"),
    "card": (int(CARD), "6222***********0128"),
    "mobile with 86": (int("86" + MOBILE), "138****5678"),
}


def raw_guard(data: dict[str, Any]) -> dict[str, Any]:
    """The guard alone, on a dump: strict input (values.py) already refuses most of these
    shapes, but the guard must hold for any JSON it is given, numbers at any depth included."""
    masked, findings = pii.guard(data)
    if findings and data.get("pii") != "mask":
        raise PersonalDataFound([f.describe() for f in findings])
    return masked


@pytest.mark.parametrize("name", NUMBERS)
def test_numbers_in_table_cells_are_refused_and_masked_as_text(name: str) -> None:
    number, shown = NUMBERS[name]
    data = _notice(table={"columns": ["当事人", "号码"], "rows": [["张某", number]]})
    with pytest.raises(PersonalDataFound, match="表格第1行「号码」 第1个字符起"):
        raw_guard(data)
    masked = raw_guard({**data, "pii": "mask"})
    assert masked["table"]["rows"][0][1] == shown


@pytest.mark.parametrize("name", NUMBERS)
def test_numbers_in_fields_at_any_depth_are_refused_and_masked_as_text(name: str) -> None:
    number, shown = NUMBERS[name]
    data = _notice(fields={"contact": number, "more": [{"phone": number}]})
    with pytest.raises(PersonalDataFound) as caught:
        raw_guard(data)
    assert "fields.contact 第1个字符起" in str(caught.value)
    assert "fields.more[0].phone 第1个字符起" in str(caught.value)
    masked = raw_guard({**data, "pii": "mask"})
    assert masked["fields"] == {"contact": shown, "more": [{"phone": shown}]}


def test_a_mobile_sent_as_a_number_in_a_table_cell_is_caught_through_strict_input() -> None:
    data = _notice(table={"columns": ["当事人", "号码"], "rows": [["张某", int(MOBILE)]]})
    with pytest.raises(PersonalDataFound, match="表格第1行「号码」 第1个字符起"):
        guard(data)
    masked = guard({**data, "pii": "mask"})
    assert masked.table is not None and masked.table.rows[0][1] == "138****5678"


def test_an_id_or_card_sent_as_a_number_is_refused_without_being_repeated() -> None:
    for number in (int(ID), int(CARD)):
        data = _notice(table={"columns": ["当事人", "号码"], "rows": [["张某", number]]})
        with pytest.raises(NoticeFormatError) as caught:
            guard(data)
        assert str(number) not in str(caught.value)


def test_a_float_that_is_a_whole_mobile_is_caught() -> None:
    masked = raw_guard(_notice(fields={"contact": 13812345678.0}, pii="mask"))
    assert masked["fields"] == {"contact": "138****5678"}


def test_ordinary_numbers_stay_numbers() -> None:
    data = _notice(
        table={
            "columns": ["项目", "金额"],
            "rows": [["罚款", 20000], ["比例", 0.5], ["件数", 3]],
        },
    )
    notice = guard(data)
    assert notice.table is not None and notice.table.rows == [
        ["罚款", 20000],
        ["比例", 0.5],
        ["件数", 3],
    ]


# -- what must still publish ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "咨询电话：0451-12345678，监督电话 0451-8765 4321，传真（0451）82345678转8001",
        "服务热线 400-810-8888，政务服务便民热线12345",
        "统一社会信用代码：91230100MA1B2C3D4E",
        "黑市监罚〔2026〕30号，罚款人民币138,000.00元，没收违法所得13812.34元",
        "设备序列号 21381234567890123456（20位），出厂编号 2138123456789",
        "发布时间 2026-03-07 13:30，有效期至 2026.12.31",
        "依据 GB 11643-1999 及 GB/T 2260-2007",
        "对公账号 2300 1234 5678 9012 3456 78，开户行：中国建设银行",
        "工商注册号：230103000123456",
        "执法证号 11010019001，邮编 150001",
    ],
)
def test_public_numbers_are_not_personal_data(text: str) -> None:
    assert pii.scan_text(text, "body") == []
    assert guard(_notice(body=text, fields={"issuer": text})).body == text


def test_the_allow_list_takes_any_spelling_of_an_office_number() -> None:
    allow = frozenset({"138-1234-5678"})
    for typed in ("13812345678", "138 1234 5678", "+86 138 1234 5678", MOBILE.translate(FULL)):
        assert pii.scan_text(f"值班手机 {typed}", "body", allow) == []
        duty = {"columns": ["值班"], "rows": [[int(MOBILE)]]}
        assert guard(_notice(body=f"值班手机 {typed}", table=duty), allow)
    with pytest.raises(PersonalDataFound):
        guard(_notice(body="值班手机 13912345678"), allow)


def test_two_numbers_side_by_side_are_both_found() -> None:
    text = f"{ID} {MOBILE}，序号1 13912345678"
    found = pii.scan_text(text, "body")
    assert [(f.kind, f.digits) for f in found] == [
        ("resident_id", ID),
        ("mobile", MOBILE),
        ("mobile", "13912345678"),
    ]
    assert pii.mask_text(text, found) == "1101**********1233 138****5678，序号1 139****5678"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_number_as_a_fields_key_is_refused_without_being_repeated(fmt: str) -> None:
    """Strict input knows every key, so a number there is an unknown field; the refusal
    names the place with the number masked."""
    typed, number, _ = FORMATS[fmt]
    with pytest.raises(NoticeFormatError) as caught:
        guard(_notice(fields={typed: "联系人"}))
    assert "未知字段" in str(caught.value)
    assert number not in re.sub(r"[\s.\-]", "", normalise(str(caught.value)).text)
