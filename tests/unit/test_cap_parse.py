"""A CAP document is read safely and checked against the OASIS CAP 1.2 schema: every hostile
or invalid document is refused in one Chinese line naming the problem."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from cap_samples import OASIS_EXAMPLE, alert, info

from publisher.cap.parse import MAX_CAP_BYTES, SCHEMA_PATH, cap_schema, parse_cap
from publisher.errors import CapFormatError

GOOD = alert()

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol3;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&secret;</identifier></alert>"""

EXTERNAL_DTD = GOOD.replace(
    b"<alert ", b'<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/cap.dtd">\n<alert ', 1
)


def test_the_packaged_schema_is_the_oasis_one_and_compiled_once() -> None:
    reference = Path("/work/shared/reference/CAP-v1.2.xsd")
    if reference.is_file():
        assert filecmp.cmp(SCHEMA_PATH, reference, shallow=False)
    assert cap_schema() is cap_schema()


def test_a_valid_chinese_warning_is_read_whole() -> None:
    doc = alert(info(), info(language="en-US", headline="Rainstorm", description="Rain"))
    read = parse_cap(doc)
    assert read.identifier == "23070041600000_20261126160000_1"
    assert (read.status, read.msg_type, read.scope) == ("Actual", "Alert", "Public")
    assert [i.language for i in read.infos] == ["zh-CN", "en-US"]
    assert read.infos[0].areas == ("萨尔图区", "让胡路区")
    assert read.infos[0].expires is not None and read.infos[0].expires.utcoffset() is not None


def test_the_oasis_example_is_valid_cap() -> None:
    read = parse_cap(OASIS_EXAMPLE.read_bytes())
    assert read.identifier == "KAR0-0306112239-SW"
    assert [i.language for i in read.infos] == ["en-US", "es-US"]


def _missing(tag: bytes) -> bytes:
    start = GOOD.index(b"<" + tag + b">")
    end = GOOD.index(b"</" + tag + b">") + len(tag) + 3
    return GOOD[:start] + GOOD[end:]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (BILLION_LAUGHS, "含有 DTD"),
        (EXTERNAL_ENTITY, "含有 DTD"),
        (EXTERNAL_DTD, "含有 DTD"),
        (GOOD.replace(b"cap:1.2", b"cap:1.1"), "命名空间 urn:oasis:names:tc:emergency:cap:1.1"),
        (GOOD.replace(b' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', b""), "命名空间 无"),
        (_missing(b"event"), "缺少必需元素 info/event"),
        (_missing(b"identifier"), "缺少必需元素 identifier"),
        (_missing(b"msgType"), "缺少必需元素 msgType"),
        (GOOD.replace(b"<status>Actual", b"<status>Real"), "status: 值 'Real' 不是 CAP 1.2"),
        (
            GOOD.replace(b"<sent>2026-11-26T16:00:00+08:00", b"<sent>2026-11-26T08:00:00Z"),
            "sent: 时间 '2026-11-26T08:00:00Z' 格式应为",
        ),
        (GOOD.replace(b"</info>", b"<colour>red</colour></info>"), "不应出现的元素 colour"),
        (GOOD + b" " * (2 * 1024 * 1024), "超过 1 MB"),
        (GOOD.replace("萨尔图区".encode(), "萨尔图区".encode("gbk")), "不是 UTF-8 编码"),
        (
            GOOD.replace(b'encoding="UTF-8"', b'encoding="GB2312"'),
            "声明的编码是 GB2312，CAP 应为 UTF-8",
        ),
        (GOOD[:200], "不是有效的 XML"),
        (b'{"kind": "weather_warning"}', "不是有效的 XML"),
        (b"", "内容为空"),
        (alert(identifier="a b"), "identifier 不能含有空格"),
    ],
    ids=[
        "billion-laughs",
        "external-entity",
        "external-dtd",
        "cap-1.1",
        "no-namespace",
        "no-event",
        "no-identifier",
        "no-msgType",
        "bad-status",
        "z-time",
        "unknown-element",
        "2-MB",
        "gbk-bytes",
        "gbk-declared",
        "cut-short",
        "json",
        "empty",
        "space-in-identifier",
    ],
)
def test_hostile_or_invalid_documents_are_refused_in_one_line(raw: bytes, says: str) -> None:
    with pytest.raises(CapFormatError) as refused:
        parse_cap(raw)
    message = str(refused.value)
    assert message.startswith("CAP 格式错误: ") and says in message, message
    assert "\n" not in message


def test_the_size_limit_is_one_megabyte_exactly() -> None:
    padding = MAX_CAP_BYTES - len(GOOD)
    assert parse_cap(GOOD + b" " * padding).identifier  # 1 MB is fine
    with pytest.raises(CapFormatError, match="超过 1 MB"):
        parse_cap(GOOD + b" " * (padding + 1))
