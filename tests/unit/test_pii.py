"""The PII guard: what a bureau must never publish by accident, and what it may."""

from __future__ import annotations

import pytest

from publisher import pii


def make_id(prefix17: str) -> str:
    total = sum(int(d) * w for d, w in zip(prefix17, pii.ID_WEIGHTS, strict=True))
    return prefix17 + pii.ID_CHECK[total % 11]


VALID_ID = make_id("11010519491231002")  # the GB 11643 example number


def test_valid_resident_id_is_found_and_located() -> None:
    found = pii.scan_text(f"当事人身份证号{VALID_ID}，已处罚。", "body")
    assert [(f.kind, f.start) for f in found] == [("resident_id", 7)]
    assert "body 第8个字符起: 身份证号 1101**********" in found[0].describe()


@pytest.mark.parametrize(
    "text",
    [
        "统一社会信用代码 91110105MA01234567",  # a company code, not a person
        "11010519491231002Y",  # bad check character
        "110105194913310021",  # no 13th month
        "执法证号 11010019001",  # short officer certificate number
        "编号 123456789012345678901",  # a longer number is not an ID
    ],
)
def test_things_that_look_like_ids_but_are_not(text: str) -> None:
    assert [f for f in pii.scan_text(text, "body") if f.kind == "resident_id"] == []


def test_mobile_numbers_but_not_landlines_or_longer_numbers() -> None:
    found = pii.scan_text("值班电话 0571-87654321，联系人 13812345678；单号 2138123456789", "body")
    assert [(f.kind, f.text) for f in found] == [("mobile", "13812345678")]
    assert pii.mask("13812345678") == "138****5678"


def test_bank_cards_need_a_valid_luhn_digit() -> None:
    good = "4111 1111 1111 1111"  # the well-known Luhn-valid test card number, grouped
    assert [f.kind for f in pii.scan_text(f"账号 {good}", "body")] == ["bank_card"]
    assert pii.mask(good) == "4111********1111"
    assert pii.scan_text("账号 4111111111111112", "body") == []  # wrong check digit


def test_guard_masks_every_text_of_a_notice() -> None:
    notice = {
        "title": "处罚决定",
        "body": f"身份证 {VALID_ID}",
        "summary": None,
        "table": {"columns": ["当事人", "电话"], "rows": [["张某", "13812345678"]]},
        "fields": {"contacts": [{"phone": "13912345678"}]},
    }
    masked, findings = pii.guard(notice)
    assert [f.where for f in findings] == ["body", "表格第1行「电话」", "fields.contacts[0].phone"]
    assert masked["body"] == "身份证 1101**********" + VALID_ID[-4:]
    assert masked["table"]["rows"][0][1] == "138****5678"
    assert masked["fields"]["contacts"][0]["phone"] == "139****5678"


def test_allowed_numbers_stay() -> None:
    assert pii.scan_text("值班手机 13812345678", "body", frozenset({"13812345678"})) == []


async def test_submit_refuses_personal_data_and_writes_nothing(tmp_path: object) -> None:
    from publisher.errors import PersonalDataFound
    from publisher.notice import parse_notice
    from publisher.runtime import Runtime
    from publisher.settings import load_settings

    settings = load_settings(database_url=f"sqlite:///{tmp_path}/p.db")
    rt = await Runtime.open(settings)
    try:
        notice = {"kind": "penalty_disclosure", "title": "处罚结果", "body": f"当事人 {VALID_ID}"}
        with pytest.raises(PersonalDataFound, match="body 第5个字符起: 身份证号"):
            await rt.intake.submit(parse_notice(notice), source="test", actor="t")
        assert await rt.store.list_deliveries() == []

        done = await rt.intake.submit(
            parse_notice({**notice, "pii": "mask"}), source="test", actor="t"
        )
        stored = await rt.store.get_notice(done.notice_id)
        assert VALID_ID not in stored.body and stored.body.endswith(VALID_ID[-4:])
        sent = stored.deliveries[0].rendered["parts"]["body"]
        assert VALID_ID not in sent and "1101**********" in sent
    finally:
        await rt.close()


def test_a_megabyte_full_of_numbers_is_guarded_whole() -> None:
    """Many finds and long chains of digit groups: every number is found and masked (how fast
    is bench/'s business; a quadratic guard would make this test crawl, not fail)."""
    notice = {
        "title": "名单",
        "body": "13812345678 " * 80_000 + "１２３ " * 50_000,
        "fields": {"list": ["1 " * 50_000]},
    }
    masked, findings = pii.guard(notice)
    assert len(findings) == 80_000
    assert masked["body"].startswith("138****5678 138****5678 ")
