"""``publisher user ...`` and ``publisher audit``: people, their tokens, and the record of
what each did, on the command line (a real SQLite file in an empty folder)."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from publisher.auth.secrets import token_digest, verify_password
from publisher.cli import main
from publisher.cli.users import ensure_admin, first_admin_message
from publisher.clock import SystemClock
from publisher.store import open_store, upgrade

NOTICE = {"kind": "general", "title": "关于开展安全检查的通知", "body": "正文"}


@pytest.fixture(autouse=True)
def _workspace(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PUBLISHER_ACCOUNTS",
        json.dumps({"portal": {"type": "portal", "display_name": "门户", "sandbox": True}}),
    )


def cli(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def users() -> list[dict[str, Any]]:
    result = cli("user", "list", "--json")
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def audit(*args: str) -> list[dict[str, Any]]:
    result = cli("audit", "--json", *args)
    assert result.exit_code == 0, result.output
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def in_store(fn: Any) -> Any:
    async def go() -> Any:
        store = open_store("sqlite:///publisher.db", SystemClock())
        try:
            await upgrade(store)
            return await fn(store)
        finally:
            await store.close()

    return asyncio.run(go())


def test_add_a_user_with_roles_a_department_and_a_password() -> None:
    added = cli(
        "user", "add", "zhang.san", "--role", "editor", "--role", "duty_officer",
        "--department", "应急科", "--password-stdin", stdin="correct horse\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.stdout == "已创建用户 zhang.san (值班员、编辑)\n"
    (user,) = users()
    assert (user["name"], user["roles"], user["department"]) == (
        "zhang.san", ["duty_officer", "editor"], "应急科"
    )  # fmt: skip
    assert user["has_password"] and not user["has_token"] and not user["disabled"]
    stored = in_store(lambda s: s.get_user("zhang.san"))
    assert verify_password("correct horse", stored.password_hash)
    (entry,) = audit()
    assert (entry["actor"], entry["action"], entry["source"]) == ("operator", "user.add", "cli")
    assert entry["client"] == getpass.getuser()
    assert entry["detail"] == {"user": "zhang.san", "roles": ["duty_officer", "editor"]}
    assert "zhang.san" in cli("user", "list").stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("boss", "--role", "boss"), "未知角色 'boss'"),
        (("bad name", "--role", "editor"), "用户名 'bad name' 无效"),
        (("operator", "--role", "admin"), "用户名 'operator' 是保留名称"),
        (("x", "--role", "editor", "--password-stdin"), "密码至少 8 个字符"),
    ],
)
def test_a_bad_role_or_name_exits_2_in_one_line_and_adds_nobody(
    args: tuple[str, ...], says: str
) -> None:
    result = cli("user", "add", *args, stdin="short\n")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("publisher: 错误: ") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert users() == []


def test_a_name_is_added_once() -> None:
    assert cli("user", "add", "li", "--role", "reviewer").exit_code == 0
    again = cli("user", "add", "li", "--role", "signer")
    assert (again.exit_code, again.stderr) == (2, "publisher: 错误: 用户 li 已存在\n")


def test_a_token_is_shown_once_stored_hashed_and_replaced_by_the_next() -> None:
    cli("user", "add", "zhao", "--role", "editor")
    first = cli("user", "token", "zhao")
    assert first.exit_code == 0, first.output
    token = first.stdout.strip()
    assert first.stdout == token + "\n" and token.startswith("pub_") and len(token) > 40
    assert "只显示这一次" in first.stderr
    found = in_store(lambda s: s.user_by_token(token_digest(token)))
    assert found is not None and found.name == "zhao"
    second = cli("user", "token", "zhao").stdout.strip()
    assert second != token
    assert in_store(lambda s: s.user_by_token(token_digest(token))) is None
    assert [e["action"] for e in audit("--user", "operator")] == [
        "user.add", "user.token", "user.token"
    ]  # fmt: skip
    assert token not in json.dumps(audit())


def test_a_disabled_user_is_listed_as_such_and_gets_no_token() -> None:
    cli("user", "add", "qian", "--role", "signer")
    done = cli("user", "disable", "qian")
    assert (done.exit_code, done.stdout) == (0, "用户 qian 已停用\n")
    assert users()[0]["disabled"] is True
    refused = cli("user", "token", "qian")
    assert refused.exit_code == 2 and "已停用" in refused.stderr
    assert cli("user", "disable", "ghost").exit_code == 2


def test_the_cli_acts_as_the_named_user_within_their_roles() -> None:
    cli("user", "add", "boss", "--role", "admin")
    cli("user", "add", "ed", "--role", "editor")
    cli("user", "add", "rev", "--role", "reviewer")
    refused = cli("--user", "ed", "user", "add", "x", "--role", "editor")
    assert refused.exit_code == 2
    assert refused.stderr == "publisher: 错误: 用户 ed 无权执行 user add：需要角色 管理员\n"
    assert cli("--user", "ghost", "user", "list").stderr == "publisher: 错误: 没有用户 ghost\n"
    assert cli("--user", "boss", "user", "add", "y", "--role", "editor").exit_code == 0

    Path("n.json").write_text(json.dumps(NOTICE, ensure_ascii=False), encoding="utf-8")
    submitted = cli("--user", "ed", "notice", "submit", "n.json", "--json")
    assert submitted.exit_code == 0, submitted.output
    notice = json.loads(submitted.stdout)
    assert notice["created_by"] == "ed"
    delivery_id = str(notice["deliveries"][0]["id"])
    not_yours = cli("--user", "rev", "deliveries", "cancel", delivery_id)
    assert not_yours.exit_code == 2 and "无权执行 deliveries cancel" in not_yours.stderr
    assert cli("--user", "ed", "deliveries", "cancel", delivery_id).exit_code == 0
    assert cli("deliveries", "retry", delivery_id).exit_code == 0

    on_notice = audit("--notice", str(notice["id"]))
    assert [(e["actor"], e["action"]) for e in on_notice] == [
        ("ed", "notice.submit"), ("ed", "delivery.cancel"), ("operator", "delivery.retry")
    ]  # fmt: skip
    assert [e["action"] for e in audit("--user", "boss")] == ["user.add"]
    text = cli("audit", "--notice", str(notice["id"])).stdout.splitlines()
    assert len(text) == 3 and "ed" in text[0] and "提交通知" in text[0] and "命令行" in text[0]
    assert cli("--user", "ed", "audit").exit_code == 2  # the log is for admins


def test_audit_since_takes_a_date_or_a_time() -> None:
    cli("user", "add", "li", "--role", "reviewer")
    assert len(audit("--since", "2000-01-01")) == 1
    assert audit("--since", "2999-01-01T00:00:00+08:00") == []
    bad = cli("audit", "--since", "yesterday")
    assert bad.exit_code == 2 and "--since 应为日期" in bad.stderr
    assert cli("audit").stdout == cli("audit").stdout  # reading changes nothing
    assert len(audit()) == 1


def test_the_first_run_creates_one_admin_with_a_password_to_change() -> None:
    password = in_store(ensure_admin)
    assert password is not None and len(password) >= 16
    admin = in_store(lambda s: s.get_user("admin"))
    assert admin.roles == {"admin"} and verify_password(password, admin.password_hash)
    assert in_store(ensure_admin) is None  # only the first run
    message = first_admin_message(password, "http://127.0.0.1:8000")
    assert message.startswith(f"已创建管理员 admin，初始密码 {password} (只显示这一次)")
    assert "http://127.0.0.1:8000/ 登录控制台" in message and "修改密码" in message
    (entry,) = audit()
    assert entry["detail"]["first_run"] is True and password not in json.dumps(entry)
