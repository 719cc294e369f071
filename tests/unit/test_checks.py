"""The content checks over a notice: protected names, word lists, attachment types, PII.

Each check has a case it must catch and a case it must leave alone, and the findings read as a
person sees them: ``field 第N个字符起: what is wrong``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from publisher.checks import Report, lists, run_checks
from publisher.checks.lists import load
from publisher.checks.names import NearMissIndex
from publisher.errors import ContentCheckFailed
from publisher.notice import parse_notice
from publisher.settings import REPO_ROOT, load_settings

pytestmark = pytest.mark.usefixtures("clean_env")

GENERAL: dict[str, Any] = {
    "kind": "general",
    "title": "关于开展冬季安全生产大检查的通知",
    "body": "各区应急管理局：根据《中华人民共和国安全生产法》和应急管理部部署，开展大检查。",
}


def check(notice: dict[str, Any], **settings: Any) -> Report:
    return asyncio.run(run_checks(parse_notice(notice), load_settings(**settings)))


def lines(report: Report, severity: str = "error") -> list[str]:
    return [f.describe() for f in report.findings if f.severity == severity]


# -- protected names ----------------------------------------------------------------------------


def test_a_clean_notice_passes_with_the_shipped_lists() -> None:
    notice = {
        **GENERAL,
        "body": GENERAL["body"]
        + "市住房和城乡建设局、市人力资源和社会保障局、全市政协委员、省人大常委会参加。"
        + "中华人民共和国国务院、中国共产党、中华人民共和国法律法规。",
    }
    assert check(notice).findings == []


def test_a_misspelt_country_name_in_a_table_cell_names_the_cell_and_the_intended_form() -> None:
    notice = {
        **GENERAL,
        "table": {
            "columns": ["企业名称", "处罚依据"],
            "rows": [["甲公司", "安全生产法"], ["乙公司", "依据《中华人民共合国安全生产法》"]],
        },
    }
    report = check(notice)
    assert lines(report) == ["table.rows[2][2] 第4个字符起: 中华人民共合国 疑为 中华人民共和国"]
    with pytest.raises(ContentCheckFailed) as refused:
        report.raise_for_errors()
    assert "table.rows[2][2] 第4个字符起: 中华人民共合国 疑为 中华人民共和国" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("中华人民共合国", "中华人民共合国 疑为 中华人民共和国"),  # substituted
        ("中华人民和国", "中华人民和国 疑为 中华人民共和国"),  # one left out
        ("中华人民共共和国", "中华人民共共和国 疑为 中华人民共和国"),  # one doubled
        ("申华人民共和国", "申华人民共和国 疑为 中华人民共和国"),  # first character, long name
        ("应急管里部", "应急管里部 疑为 应急管理部"),
        (
            "全国人民代表大会长务委员会",
            "全国人民代表大会长务委员会 疑为 全国人民代表大会常务委员会",
        ),
    ],
)
def test_one_edit_away_from_a_protected_name_is_an_error(text: str, found: str) -> None:
    report = check({**GENERAL, "title": f"关于{text}的通知"})
    assert lines(report) == [f"title 第3个字符起: {found}"]


@pytest.mark.parametrize(
    "text",
    [
        "中国",  # the short name itself
        "中囯",  # short names are never matched loosely: one edit from 中国 is half the language
        "应急管理局",  # a city bureau, not a misspelt 应急管理部 (an end of a short name)
        "住房和城乡建设局",  # long, but a correct look-alike listed in allowed.txt
        "中华人民共和国法律",  # the name with other words after it
        "中华人民共和国刑法",  # one character from 中华人民共和国宪法, but another law
        "中华人民共和国国务院",  # not a misspelt 中华人民共和国国徽
        "中华人民共和国人",  # an extra character at the end is the next word
    ],
)
def test_correct_text_is_not_a_near_miss(text: str) -> None:
    assert check({**GENERAL, "title": f"关于{text}的通知"}).findings == []


def test_the_bureau_s_own_leaders_list_is_used_and_reread_when_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "checks"
    folder.mkdir()
    leaders = folder / "names-leaders.txt"
    leaders.write_text("# 本局领导\n王五 局长\n", encoding="utf-8")
    notice = {**GENERAL, "body": "王午局长出席会议，赵六副局长主持。"}

    assert lines(check(notice, checks_dir=folder)) == ["body 第1个字符起: 王午局长 疑为 王五局长"]
    first = load(folder)
    assert load(folder) is first  # read once, not on every notice

    leaders.write_text("王五 局长\n赵六 局长\n", encoding="utf-8")
    monkeypatch.setattr(lists, "RECHECK_SECONDS", 0.0)  # look at the files again at once
    stat = leaders.stat()
    os.utime(leaders, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    # 赵六副局长 is one character more than 赵六局长: a wrong title is caught too
    assert lines(check(notice, checks_dir=folder)) == [
        "body 第1个字符起: 王午局长 疑为 王五局长",
        "body 第10个字符起: 赵六副局长 疑为 赵六局长",
    ]


def test_the_shipped_leaders_file_holds_only_commented_examples() -> None:
    text = (REPO_ROOT / "config" / "checks" / "names-leaders.txt").read_text(encoding="utf-8")
    assert "张三" in text
    assert all(line.startswith("#") for line in text.splitlines() if line.strip())


def test_a_near_miss_deep_in_a_large_table_is_found() -> None:
    index = NearMissIndex(["中华人民共和国", "应急管理部"])
    rows = "\x00".join("依据《中华人民共和国安全生产法》，市应急管理局" for _ in range(20_000))
    text = rows + "\x00中华人民共合国"
    (miss,) = index.find(text)
    assert (miss.start, miss.text, miss.name) == (len(rows) + 1, "中华人民共合国", "中华人民共和国")


# -- words --------------------------------------------------------------------------------------


def test_a_forbidden_word_in_a_fields_value_is_an_error_with_the_suggestion() -> None:
    report = check({**GENERAL, "fields": {"issuer": "台湾政府新闻办"}})
    assert lines(report) == [
        "fields.issuer 第1个字符起: 禁用词「台湾政府」，建议改为「台湾地区当局」"
    ]


def test_discouraged_wording_is_a_warning_only() -> None:
    report = check({**GENERAL, "summary": "其它事项另行通知"})
    assert report.errors == []
    assert lines(report, "warning") == ["summary 第1个字符起: 不建议使用「其它」，建议改为「其他」"]


def test_word_lists_without_suggestions(tmp_path: Path) -> None:
    (tmp_path / "forbidden.txt").write_text("绝密\n", encoding="utf-8")
    report = check({**GENERAL, "body": "此件绝密"}, checks_dir=tmp_path)
    assert lines(report) == ["body 第3个字符起: 禁用词「绝密」"]
    assert check(GENERAL, checks_dir=tmp_path).findings == []


# -- attachments ----------------------------------------------------------------------------


def attached(name: str, url: str = "/files/a") -> dict[str, Any]:
    return {**GENERAL, "fields": {"attachments": [{"name": name, "url": url}]}}


def test_an_attachment_of_a_type_not_allowed_is_an_error() -> None:
    (line,) = lines(check(attached("工具.exe")))
    assert line.startswith("fields.attachments[1].name: 附件「工具.exe」的类型 .exe 不在允许之列")


def test_allowed_attachment_types_pass() -> None:
    for name in ("处罚决定书.pdf", "名单.XLSX", "公文.ofd", "图.png"):
        assert check(attached(name)).findings == [], name
    # no extension in the name: the URL's path tells the type
    assert check(attached("处罚决定书", "https://www.example.gov.cn/f/1.pdf")).findings == []


def test_an_attachment_without_any_type_and_the_setting() -> None:
    (line,) = lines(check(attached("处罚决定书", "/download?id=1")))
    assert "看不出文件类型" in line
    assert check(attached("报告.txt"), attachment_types=["txt"]).findings == []
    assert lines(check(attached("报告.pdf"), attachment_types=["txt"]))


# -- personal data and order ----------------------------------------------------------------

ID = "11010519491231002X"


def test_personal_data_is_an_error_and_a_warning_when_the_notice_asks_masking() -> None:
    notice = {**GENERAL, "body": f"当事人身份证号{ID}。"}
    (line,) = lines(check(notice))
    assert "身份证号" in line and ID not in line
    masked = check({**notice, "pii": "mask"})
    assert masked.errors == [] and len(masked.warnings) == 1


def test_findings_come_in_the_order_the_checks_run() -> None:
    notice = {
        **GENERAL,
        "body": f"其它：中华人民共合国，台湾政府，{ID}",
        "fields": {"attachments": [{"name": "a.exe", "url": "/a.exe"}]},
    }
    checks = [f.check for f in check(notice).findings]
    assert checks == ["names", "forbidden", "discouraged", "attachments", "pii"]
