"""Through intake into SQLite: a masked notice is stored and rendered with no full number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import open_intake

from publisher.clock import SystemClock
from publisher.errors import PersonalDataFound
from publisher.notice import parse_notice
from publisher.pii.normalize import normalise
from publisher.settings import default_accounts, load_settings

ID = "110101199003071233"
ID15 = "110101900307123"
MOBILE = "13812345678"
OTHER_MOBILE = "13912345678"

# Strict input refuses unknown keys and numbers where text is due, so the numbers a person can
# still send as numbers are table cells; the rest arrive as text in their many spellings.
NOTICE = {
    "kind": "weather_warning",
    "title": "行政处罚决定公开（联系人 139 1234 5678）",
    "body": "当事人张某，身份证号 110101 19900307 1233，手机 +86 138 1234 5678。",
    "summary": "当事人张某（110101900307123）",
    "table": {
        "columns": ["当事人", f"联系电话{OTHER_MOBILE}", "证件号"],
        "rows": [["张某", int(MOBILE), "110101-19900307-1233"], ["李某", "138-1234-5678", ID15]],
    },
    "fields": {
        "contact": "+86 138 1234 5678",
        "area": [f"值班 {OTHER_MOBILE}"],
        "attachments": [{"name": f"{ID}.pdf", "url": f"https://www.example.gov.cn/{MOBILE}.pdf"}],
    },
}


def leaked(content: object) -> list[str]:
    """The full numbers still readable anywhere in ``content`` (JSON-able)."""
    text = normalise(json.dumps(content, ensure_ascii=False, default=str)).text
    digits = re.sub(r"[\s.\-]", "", text)
    return [n for n in (ID, ID15, MOBILE, OTHER_MOBILE) if n in digits]


async def test_a_masked_notice_is_stored_and_sent_with_no_full_number(tmp_path: Path) -> None:
    accounts = {
        **default_accounts(),
        "oa_webhook": {"type": "oa_webhook", "url": "https://oa.example.gov.cn/api/notices"},
    }
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/p.db", accounts=accounts)
    async with open_intake(settings, SystemClock()) as intake:
        assert intake.store is not None
        with pytest.raises(PersonalDataFound, match="表格第1行「联系电话139\\*\\*\\*\\*5678」"):
            await intake.submit(parse_notice(NOTICE), source="test", actor="t")
        assert await intake.store.list_deliveries() == []

        done = await intake.submit(
            parse_notice({**NOTICE, "pii": "mask"}), source="test", actor="t"
        )
        stored = await intake.store.get_notice(done.notice_id)
        deliveries = await intake.store.list_deliveries()

    assert {d.account for d in deliveries} == set(accounts)
    stored_content = [stored.title, stored.body, stored.summary, stored.table, stored.fields]
    assert leaked(stored_content) == []
    assert leaked([d.rendered for d in deliveries]) == []
    assert stored.table is not None
    assert stored.table["columns"][1] == "联系电话139****5678"
    assert stored.table["rows"][0] == ["张某", "138****5678", "1101**********1233"]
    assert stored.fields["contact"] == "138****5678"
    assert "身份证号 1101**********1233，手机 138****5678" in stored.body
