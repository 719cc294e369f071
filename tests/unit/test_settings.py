"""Settings: defaults that work, every source, one clear line naming a bad setting, and
secrets that never print (not in settings, options, logs, or templates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FakeTokens, StaticChannels, context

from channels.webhook import WebhookAdapter, WebhookOptions
from publisher.clock import SystemClock
from publisher.errors import ConfigError
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.registry import Account, Channels
from publisher.render import Renderer
from publisher.settings import Settings, load_settings

SECRET = "Bearer tOpSeCrEt-8d1f"


pytestmark = pytest.mark.usefixtures("clean_env")  # every test in an empty directory


def test_defaults_just_work() -> None:
    s = load_settings()
    assert s.database_url == "sqlite:///publisher.db" and s.is_sqlite
    assert (s.host, s.port, s.public_base_url) == ("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert s.accounts, "a fresh install has a channel to post to"
    assert str(s.zone) == "Asia/Shanghai"
    assert s.effective_poll_interval == 0.5
    assert load_settings(database_url="postgresql://u@h/db").effective_poll_interval == 5.0


@pytest.mark.parametrize(
    ("env", "value", "says"),
    [
        ("PUBLISHER_PORT", "eighty", "设置 PUBLISHER_PORT 无效: 应为整数"),
        ("PUBLISHER_PORT", "70000", "设置 PUBLISHER_PORT 无效: 应不大于 65535"),
        ("PUBLISHER_TIMEZONE", "Mars/Olympus", "设置 PUBLISHER_TIMEZONE 无效: 未知的时区"),
        ("PUBLISHER_DATABASE_URL", "mysql://root@db/pub", "设置 PUBLISHER_DATABASE_URL 无效: "),
        ("PUBLISHER_CONCURRENCY", "0", "设置 PUBLISHER_CONCURRENCY 无效: 应不小于 1"),
        ("PUBLISHER_LEASE_SECONDS", "0.1", "设置 PUBLISHER_LEASE_SECONDS 无效: 应大于 0.5"),
        (
            "PUBLISHER_LOG_LEVEL",
            "LOUD",
            "设置 PUBLISHER_LOG_LEVEL 无效: 应为 'DEBUG'、'INFO'、'WARNING'、'ERROR' 之一",
        ),
        (
            "PUBLISHER_ROUTES",
            '{"earthquake": ["webhook"]}',
            "设置 PUBLISHER_ROUTES 无效: 未知的通知类型",
        ),
        ("PUBLISHER_DEBUG", "perhaps", "设置 PUBLISHER_DEBUG 无效: 应为布尔值"),
        ("PUBLISHER_API_TOKEN", "short-secret", "设置 PUBLISHER_API_TOKEN 无效: "),
    ],
)
def test_a_bad_environment_value_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, says: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(says) and "\n" not in message


def test_a_too_short_api_token_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PUBLISHER_API_TOKEN", "hunter2-secret")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "至少 16 个字符" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    monkeypatch.setenv("PUBLISHER_API_TOKEN", "hunter2-secret-long-enough")
    settings = load_settings()
    assert "hunter2" not in repr(settings) + str(settings.model_dump())


def test_the_bad_value_named_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="未知的时区 'Mars/Olympus'"):
        load_settings()
    with pytest.raises(ConfigError, match=r"应为 sqlite:///path/file\.db 或 postgresql://"):
        load_settings(database_url="mysql://x")


def test_sources_environment_over_dotenv_over_config_file(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    config = clean_env / "publisher.toml"
    config.write_text('port = 8100\ntimezone = "UTC"\nconcurrency = 7\n', encoding="utf-8")
    (clean_env / ".env").write_text("PUBLISHER_PORT=8200\nPUBLISHER_CONCURRENCY=9\n")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    monkeypatch.setenv("PUBLISHER_PORT", "8300")
    s = load_settings()
    assert (s.port, s.concurrency, s.timezone) == (8300, 9, "UTC")


def test_yaml_config_file(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    config = clean_env / "publisher.yaml"
    config.write_text("port: 8400\nroutes:\n  weather_warning: [webhook]\n", encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    s = load_settings()
    assert s.port == 8400 and s.accounts_for("weather_warning") == ["webhook"]


def test_a_secret_from_the_environment_joins_its_account_from_the_file(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    config = clean_env / "publisher.toml"
    config.write_text(
        '[accounts.oa]\ntype = "webhook"\nurl = "http://127.0.0.1:9/oa"\n', encoding="utf-8"
    )
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    monkeypatch.setenv("PUBLISHER_ACCOUNTS__OA__AUTH_HEADER", SECRET)
    s = load_settings()
    assert s.accounts["oa"]["url"] == "http://127.0.0.1:9/oa"
    assert s.accounts["oa"]["auth_header"] == SECRET


def test_a_dotenv_that_is_not_utf8_is_named(clean_env: Path) -> None:
    (clean_env / ".env").write_bytes("PUBLISHER_TIMEZONE=Asia/Shanghai # 上海\n".encode("gbk"))
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith("无法读取设置: .env: 不是 UTF-8 文本（字节偏移 ")


def test_a_json_config_file(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    config = clean_env / "publisher.json"
    config.write_text('{"port": 8500, "timezone": "UTC"}', encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    assert (load_settings().port, load_settings().timezone) == (8500, "UTC")


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("missing.toml", None, "PUBLISHER_CONFIG: 文件不存在: "),
        ("broken.toml", b"port = 8000\nhost = \n", "broken.toml: 不是有效的 TOML: "),
        ("broken.yaml", b"port: 8000\naccounts: [\n", "broken.yaml: 不是有效的 YAML: "),
        ("broken.json", b'{"port": 8000,\n}', "broken.json: 不是有效的 JSON: "),
        ("latin1.toml", 'timezone = "Asia/Shanghai" # 上海'.encode("gb18030"), "不是 UTF-8 文本"),
        ("list.yaml", b"- port: 8000\n", "顶层应为设置项 (名称 = 值)"),
        ("publisher.ini", b"[x]\n", "未知的文件类型 '.ini' (应为 .toml、.yaml 或 .json)"),
        ("deep.json", b'{"routes": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "嵌套层数过多"),
        ("deep.yaml", b"routes: " + b"[" * 40 + b"]" * 40 + b"\n", "嵌套超过 32 层"),
    ],
)
def test_config_file_problems_are_one_line_naming_the_file(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path, name: str, content: bytes | None, says: str
) -> None:
    path = clean_env / name
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setenv("PUBLISHER_CONFIG", str(path))
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert says in message and "\n" not in message
    assert str(path) in message


def test_a_config_file_parse_error_names_its_line(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    for name, text, line in [
        ("a.toml", 'port = 8000\ntimezone = "UTC"\nhost = \n', "第 3 行"),
        ("a.yaml", "port: 8000\n\naccounts: [\n", "第 4 行"),
        ("a.json", '{"port": 8000,\n\n "x": }', "第 3 行"),
    ]:
        path = clean_env / name
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("PUBLISHER_CONFIG", str(path))
        with pytest.raises(ConfigError, match=line):
            load_settings()


@pytest.mark.parametrize("name", ["办公 OA", "oa/../x", "", "a" * 65])
def test_account_names_are_plain_and_short(name: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(accounts={name: {"type": "webhook", "url": "http://x"}})
    message = str(refused.value)
    assert message.startswith("设置 PUBLISHER_ACCOUNTS 无效: ") and "\n" not in message
    assert "应为 1 到 64 个字母、数字、'_' 或 '-'" in message


@pytest.mark.parametrize(
    ("accounts", "routes", "says"),
    [
        ({"oa": {"type": "fax"}}, {}, "渠道账号 'oa': 未知的类型 'fax' (可用: "),
        ({"oa": {"type": "webhook"}}, {}, "渠道账号 'oa': url: 缺少必填字段"),
        (
            {"oa": {"type": "webhook", "url": "http://x", "max_attempts": 0}},
            {},
            "渠道账号 'oa': max_attempts: 应不小于 1",
        ),
        (
            {"oa": {"type": "webhook", "url": "ftp://oa.example/in"}},
            {},
            "渠道账号 'oa': url: 应为带主机名的 http:// 或 https:// 网址",
        ),
        (
            {"oa": {"type": "webhook", "url": "http://x", "lookup_url": "oa.example/{key}"}},
            {},
            "渠道账号 'oa': lookup_url: 应为带主机名的 http:// 或 https:// 网址",
        ),
        (
            {"oa": {"type": "webhook", "url": "http://x", "colour": "red"}},
            {},
            "渠道账号 'oa': colour: 未知字段",
        ),
        (
            {"oa": {"type": "webhook", "url": "http://x"}},
            {"general": ["weibo"]},
            "routes.general: 没有名为 'weibo' 的渠道账号",
        ),
    ],
)
async def test_bad_channel_accounts_stop_start_up_with_one_line(
    accounts: dict[str, dict[str, object]], routes: dict[str, list[str]], says: str
) -> None:
    settings = load_settings(accounts=accounts, routes=routes)
    with pytest.raises(ConfigError) as refused:
        Channels(settings, SystemClock(), FakeTokens())
    assert str(refused.value).startswith(says) and "\n" not in str(refused.value)


# -- secrets ----------------------------------------------------------------------------------


def test_account_secrets_never_print() -> None:
    options = WebhookOptions(url="http://127.0.0.1:9/oa", auth_header=SECRET)
    assert "tOpSeCrEt" not in repr(options)
    assert "tOpSeCrEt" not in str(options)
    assert "tOpSeCrEt" not in json.dumps(options.model_dump(mode="json"))


async def test_settings_do_not_print_the_secrets_they_hold() -> None:
    settings = load_settings(
        accounts={"oa": {"type": "webhook", "url": "http://127.0.0.1:9/oa", "auth_header": SECRET}}
    )
    assert "tOpSeCrEt" not in repr(settings) and "tOpSeCrEt" not in str(settings)
    channels = Channels(settings, SystemClock(), FakeTokens())
    try:
        options = channels.get("oa").adapter.ctx.options
        assert "tOpSeCrEt" not in repr(options)
        assert isinstance(options, WebhookOptions) and options.auth_header is not None
        assert options.auth_header.get_secret_value() == SECRET  # still usable by the adapter
    finally:
        await channels.aclose()


async def test_templates_see_accounts_with_secrets_masked(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "webhook" / "_default").mkdir(parents=True)
    (templates / "webhook" / "_default" / "title.txt").write_text("{{ notice.title }}")
    (templates / "webhook" / "_default" / "body.md").write_text(
        "发送方：{{ account.name }} {{ account.display_name }}\n鉴权：{{ account.auth_header }}\n"
        "{{ account }}"
    )
    options = WebhookOptions(url="http://127.0.0.1:9/oa", auth_header=SECRET, display_name="OA")
    account = Account("oa", WebhookAdapter(context("oa", options, SystemClock())))
    settings = Settings(accounts={})
    intake = Intake(
        settings,
        None,
        StaticChannels([account]),  # type: ignore[arg-type]
        Renderer(templates, settings.zone),
        SystemClock(),
    )
    notice = parse_notice({"kind": "general", "title": "通知", "body": "正文"})
    body = intake.preview(notice, account).rendered.body
    assert body.startswith("发送方：oa OA\n鉴权：**********")
    assert "tOpSeCrEt" not in body
    await account.adapter.ctx.http.aclose()


# -- one organisation identity ------------------------------------------------------------


def test_the_organization_has_chinese_defaults_and_one_name_everywhere(clean_env: Path) -> None:
    org = load_settings().organization
    assert (org.name, org.short_name) == ("市安全生产监督管理局", "市安监局")
    assert org.portal_title == org.signature == org.name
    settings = load_settings()
    # the portal's title and the WeChat author come from it: no 市应急管理局 anywhere
    assert settings.accounts["portal"]["site_name"] == "市安全生产监督管理局"
    assert settings.accounts["wechat"]["author"] == "市安全生产监督管理局"


def test_the_organization_from_the_environment_reaches_the_accounts(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    monkeypatch.setenv("PUBLISHER_ORGANIZATION__NAME", "伊春市安全生产监督管理局")
    monkeypatch.setenv("PUBLISHER_ORGANIZATION__SHORT_NAME", "伊春市安监局")
    settings = load_settings()
    assert settings.organization.signature == "伊春市安全生产监督管理局"
    assert settings.accounts["portal"]["site_name"] == "伊春市安全生产监督管理局"
    assert settings.accounts["wechat"]["author"] == "伊春市安全生产监督管理局"
    long = load_settings(organization={"name": "伊春市应急管理局安全生产监督管理处办公室"})
    assert long.accounts["wechat"]["author"] == "伊春市安监局"  # WeChat allows 16 字


def test_an_accounts_own_author_or_site_name_wins(clean_env: Path) -> None:
    accounts = {
        "portal": {"type": "portal", "site_name": "伊春市政府信息公开"},
        "wechat": {"type": "wechat", "appid": "wx1", "secret": "s", "author": "伊春安监"},
    }
    settings = load_settings(accounts=accounts)
    assert settings.accounts["portal"]["site_name"] == "伊春市政府信息公开"
    assert settings.accounts["wechat"]["author"] == "伊春安监"


def test_an_unknown_organization_field_is_named(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    monkeypatch.setenv("PUBLISHER_ORGANIZATION__TITLE", "x")
    with pytest.raises(ConfigError, match="PUBLISHER_ORGANIZATION__TITLE"):
        load_settings()


def test_doctor_shows_the_organization_on_one_line(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    from click.testing import CliRunner

    from publisher.cli import main

    monkeypatch.setenv("PUBLISHER_ORGANIZATION__NAME", "伊春市安全生产监督管理局")
    result = CliRunner().invoke(main, ["doctor"])
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("✓ 机构:")]
    assert line == (
        "✓ 机构: 伊春市安全生产监督管理局（简称 市安监局；门户网站名称 伊春市安全生产监督管理局；"
        "落款 伊春市安全生产监督管理局）"
    )
