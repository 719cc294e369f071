"""People and the audit log (``UserStore``, ``AuditStore`` in publisher/store/base.py), over
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from publisher.auth.secrets import hash_password, new_token, token_digest, verify_password
from publisher.errors import InputError, NotFoundError, StateError
from publisher.store import SqlStore
from publisher.store.people import AuditEntry, Source


async def test_a_user_holds_roles_a_department_and_a_password_hash(store: SqlStore) -> None:
    assert await store.has_users() is False
    made = await store.add_user(
        "zhang.san", ["editor", "duty_officer", "editor"], "应急科", hash_password("s3cret!")
    )
    assert made.roles == {"editor", "duty_officer"}
    got = await store.get_user("zhang.san")
    assert (got.name, got.department, got.disabled, got.has_token) == (
        "zhang.san",
        "应急科",
        False,
        False,
    )
    assert got.password_hash is not None and got.password_hash.startswith("$argon2")
    assert verify_password("s3cret!", got.password_hash)
    assert not verify_password("wrong", got.password_hash)
    assert await store.has_users() is True
    await store.add_user("李四", ["reviewer"])
    assert [u.name for u in await store.list_users()] == sorted(["zhang.san", "李四"])


async def test_a_name_is_taken_once_even_when_two_adds_race(store: SqlStore) -> None:
    results = await asyncio.gather(
        store.add_user("wang", ["editor"]),
        store.add_user("wang", ["signer"]),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, InputError)]
    assert len(refused) == 1 and str(refused[0]) == "用户 wang 已存在"
    assert len(await store.list_users()) == 1
    with pytest.raises(InputError):
        await store.add_user("nobody", [])
    with pytest.raises(NotFoundError, match="没有用户 ghost"):
        await store.get_user("ghost")


async def test_a_new_token_replaces_the_old_one_and_only_its_hash_is_kept(
    store: SqlStore,
) -> None:
    await store.add_user("zhao", ["editor"])
    first, second = new_token(), new_token()
    await store.replace_token("zhao", token_digest(first))
    found = await store.user_by_token(token_digest(first))
    assert found is not None and found.name == "zhao" and found.has_token
    await store.replace_token("zhao", token_digest(second))
    assert await store.user_by_token(token_digest(first)) is None
    assert (await store.user_by_token(token_digest(second))) is not None
    stored = await store._read(
        lambda conn: conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    )
    assert stored == [token_digest(second)] and second not in stored


async def test_a_disabled_user_is_kept_flagged_and_gets_no_new_token(store: SqlStore) -> None:
    await store.add_user("qian", ["signer"])
    token = new_token()
    await store.replace_token("qian", token_digest(token))
    assert (await store.disable_user("qian")).disabled
    assert (await store.disable_user("qian")).disabled  # idempotent
    found = await store.user_by_token(token_digest(token))
    assert found is not None and found.disabled  # the caller refuses it
    with pytest.raises(StateError, match="已停用"):
        await store.replace_token("qian", token_digest(new_token()))
    with pytest.raises(NotFoundError):
        await store.disable_user("ghost")
    assert await store.has_users() is True


async def test_the_audit_log_filters_by_notice_actor_and_time(store: SqlStore, clock: Any) -> None:
    await store.append_audit(AuditEntry("operator", "user.add", Source.CLI, client="root"))
    clock.advance(60)
    later = clock.now()
    await store.append_audit(
        AuditEntry(
            "zhang",
            "notice.submit",
            Source.API,
            notice_id=7,
            client="10.0.0.5",
            detail={"kind": "general"},
        )
    )
    clock.advance(60)
    await store.append_audit(
        AuditEntry("li", "delivery.retry", Source.API, notice_id=7, delivery_id=3)
    )
    everything = await store.audit_entries()
    assert [e.action for e in everything] == ["user.add", "notice.submit", "delivery.retry"]
    assert everything[1].client == "10.0.0.5" and everything[1].detail == {"kind": "general"}
    assert everything[1].at == later and everything[1].source == "api"
    assert [e.actor for e in await store.audit_entries(notice_id=7)] == ["zhang", "li"]
    assert [e.action for e in await store.audit_entries(actor="li")] == ["delivery.retry"]
    assert [e.actor for e in await store.audit_entries(since=later)] == ["zhang", "li"]
    assert [e.actor for e in await store.audit_entries(limit=1)] == ["li"]


async def test_the_audit_log_has_no_way_to_change_or_remove_an_entry(store: SqlStore) -> None:
    names = [n for n in dir(store) if "audit" in n]
    assert sorted(names) == ["append_audit", "audit_entries"]
    await store.append_audit(AuditEntry("operator", "user.add", Source.CLI))
    if store.dialect_name != "postgresql":
        return
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            await store._tx(lambda conn, sql=sql: conn.execute(text(sql)))
    assert [e.actor for e in await store.audit_entries()] == ["operator"]
