"""The store's portal reads (``publisher/store/portal.py``), over SQLite and PostgreSQL.

Lists are newest first by (posted_at, notice id), read a page at a time from indexes: cursor
pages never skip or repeat a notice (equal times included), counts stop at their bound, and
no read scans the notices or deliveries tables (checked on each backend's own query plans).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from helpers import notice_row
from sqlalchemy import event, insert, text

from publisher.store import SqlStore
from publisher.store.portal import PortalCursor, PortalNotice
from publisher.store.records import NewDelivery
from publisher.store.schema import deliveries, notices
from publisher.store.sql import new_key

RENDERED = {"format": "html", "parts": {"title": "门户标题", "body": "<p>正文</p>"}}


async def _notice(
    store: SqlStore,
    kind: str = "general",
    *,
    ago: float | None = 0.0,
    status: str = "posted",
    portals: int = 1,
    **fields: Any,
) -> int:
    """A notice with ``portals`` portal deliveries and one OA delivery; the portal ones posted
    ``ago`` minutes before now (the later ones a minute after the first), or never (None)."""
    now = store.clock.now()
    new = [
        NewDelivery(f"portal{i}", "portal", 0, now, 3, new_key(), RENDERED) for i in range(portals)
    ]
    new.append(NewDelivery("oa", "oa_webhook", 0, now, 3, new_key(), RENDERED))
    row = notice_row(f"通知{new_key()}", kind=kind, fields=fields)
    done = await store.submit(notice=row, new_deliveries=new, source="test", actor="tester")
    nid = int(done.notice_id)
    if ago is not None:
        for i in range(portals):
            at = now - timedelta(minutes=ago) + timedelta(minutes=i)
            await _set(store, nid, f"portal{i}", status=status, posted_at=at)
    return nid


async def _set(store: SqlStore, notice_id: int, account: str, **values: Any) -> None:
    d = deliveries.c
    await store._tx(
        lambda conn: conn.execute(
            deliveries.update()
            .where(d.notice_id == notice_id, d.account == account)
            .values(**values)
        )
    )


async def _walk_older(store: SqlStore, kind: str | None, size: int) -> list[list[int]]:
    kinds = None if kind is None else [kind]
    pages: list[list[int]] = []
    page = await store.portal_page(kinds=kinds, limit=size)
    assert not page.newer
    while True:
        pages.append([n.id for n in page.items])
        if not page.older:
            return pages
        cursor = PortalCursor.of(page.items[-1])
        page = await store.portal_page(kinds=kinds, before=cursor, limit=size)
        assert page.newer


def _order(items: list[PortalNotice]) -> list[int]:
    return [n.id for n in sorted(items, key=lambda n: (n.posted_at, n.id), reverse=True)]


async def test_cursor_pages_cover_a_category_once_newest_first(store: SqlStore) -> None:
    # 11 notices in 4 distinct times (three share each), one of another kind between them.
    ids = [await _notice(store, ago=float(i // 3)) for i in range(11)]
    other = await _notice(store, "approval_list", ago=1.5)
    await _notice(store, ago=None)  # its portal page is not up yet
    everything = await store.portal_notices(kinds=["general"], limit=100)
    assert sorted(n.id for n in everything) == sorted(ids)
    expected = _order(everything)
    assert [n.id for n in everything] == expected  # newest first; equal times by id
    assert expected[:3] == sorted(ids[:3], reverse=True)

    pages = await _walk_older(store, "general", 4)
    assert [len(p) for p in pages] == [4, 4, 3]
    assert [i for p in pages for i in p] == expected  # no gap, no repeat, across equal times

    # Back from the last page with ``after``: the same pages, newest first within each.
    last = await store.portal_page(
        kinds=["general"], before=PortalCursor.of(everything[7]), limit=4
    )
    assert [n.id for n in last.items] == pages[2] and last.newer and not last.older
    back = await store.portal_page(kinds=["general"], after=PortalCursor.of(last.items[0]), limit=4)
    assert [n.id for n in back.items] == pages[1] and back.newer and back.older
    top = await store.portal_page(kinds=["general"], after=PortalCursor.of(back.items[0]), limit=4)
    assert [n.id for n in top.items] == pages[0] and not top.newer and top.older

    # The first pages by offset agree with the cursor pages.
    second = await store.portal_page(kinds=["general"], offset=4, limit=4)
    assert [n.id for n in second.items] == pages[1] and second.newer and second.older

    # All kinds: the feeds' list, the other kind in its place by time.
    feed = [i for p in await _walk_older(store, None, 5) for i in p]
    assert feed == _order(await store.portal_notices(limit=100)) and other in feed
    assert len(feed) == 12
    both = await store.portal_notices(kinds=["general", "approval_list"], offset=2, limit=5)
    assert [n.id for n in both] == feed[2:7]


async def test_counts_stop_at_their_bound(store: SqlStore) -> None:
    for i in range(7):
        await _notice(store, ago=float(i))
    await _notice(store, "approval_list")
    await _notice(store, ago=None)
    assert await store.portal_count(kinds=["general"]) == 7
    assert await store.portal_count(kinds=["general"], at_most=5) == 5
    assert await store.portal_count(kinds=["general"], at_most=50) == 7
    assert await store.portal_count() == 8
    assert await store.portal_count(kinds=["general", "approval_list"], at_most=7) == 7
    assert await store.portal_count(kinds=["accident_report"]) == 0


async def test_a_notice_is_listed_once_while_its_page_is_up(store: SqlStore) -> None:
    kept = await _notice(store, ago=3)
    twice = await _notice(store, ago=2, portals=2)  # two portal accounts: listed once
    withdrawn = await _notice(store, ago=1)
    expired = await _notice(store, ago=0.5, valid_until="2000-01-01T00:00:00+08:00")
    gone = await _notice(store, ago=0)
    never = await _notice(store, ago=None)

    await _set(store, withdrawn, "portal0", status="cancelled")
    await _set(store, withdrawn, "oa", status="cancelled")
    await _set(store, gone, "portal0", status="pending")  # sent back to the queue: no page
    await _set(store, never, "portal0", status="cancelled")  # cancelled before it was posted

    listed = await store.portal_notices(kinds=["general"])
    assert [n.id for n in listed] == [expired, withdrawn, twice, kept]
    assert await store.portal_count(kinds=["general"]) == 4
    by_id = {n.id: n for n in listed}
    now, zone = store.clock.now(), store.clock.now().tzinfo
    assert by_id[withdrawn].withdrawn and by_id[withdrawn].withdrawn_at is not None
    assert by_id[expired].state(now, zone) == "expired"  # type: ignore[arg-type]
    assert by_id[twice].posted_at == store.clock.now() - timedelta(minutes=2)  # the first post
    assert await store.portal_notice(gone) is None and await store.portal_notice(never) is None
    front = await store.portal_front_page(["general", "approval_list"], 2)
    assert [n.id for n in front["general"]] == [expired, withdrawn] and not front["approval_list"]
    shown = await store.portal_notice(withdrawn)
    assert shown is not None and shown.withdrawn


@contextmanager
def _statements(store: SqlStore) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


async def _fill(store: SqlStore, count: int) -> None:
    """``count`` notices of two kinds, each with a posted portal delivery and an OA one,
    written in bulk; then the planner's statistics."""
    now = store.clock.now()

    def run(conn: Any) -> None:
        kinds = ["general" if i % 3 else "weather_warning" for i in range(count)]
        rows = [
            {
                **notice_row(f"批量{i}", kind=k),
                "source": "test",
                "created_by": "t",
                "created_at": now,
            }
            for i, k in enumerate(kinds)
        ]
        ids = [r.id for r in conn.execute(insert(notices).returning(notices.c.id), rows)]
        conn.execute(
            insert(deliveries),
            [
                {
                    "notice_id": nid,
                    "account": account,
                    "channel": channel,
                    "kind": kind,
                    "status": "posted" if channel == "portal" else "pending",
                    "priority": 0,
                    "not_before": now,
                    "attempts": 0,
                    "max_attempts": 3,
                    "idempotency_key": new_key(),
                    "rendered": RENDERED,
                    "created_at": now,
                    "updated_at": now,
                    "posted_at": now - timedelta(seconds=i) if channel == "portal" else None,
                }
                for i, (nid, kind) in enumerate(zip(ids, kinds, strict=True))
                for account, channel in (("portal0", "portal"), ("oa", "oa_webhook"))
            ],
        )

    await store._tx(run)
    await store._tx(lambda conn: conn.execute(text("ANALYZE")))


async def test_every_portal_read_uses_the_indexes(store: SqlStore) -> None:
    await _fill(store, 3000)
    first = (await store.portal_notices(limit=1))[0]
    middle = (await store.portal_notices(offset=1500, limit=1))[0]
    cursor = PortalCursor.of(middle)  # long ranges on both sides: no plan may sort one
    with _statements(store) as seen:
        await store.portal_notice(first.id)
        await store.portal_notices(limit=20)
        await store.portal_notices(kinds=["general"], offset=20, limit=20)
        await store.portal_page(kinds=["general"], before=cursor, limit=5)
        await store.portal_page(kinds=["general"], after=cursor, limit=5)
        await store.portal_page(before=cursor, limit=5)
        await store.portal_count(kinds=["general"], at_most=1001)
        await store.portal_count()
        await store.portal_front_page(["general", "weather_warning"], 6)
    assert len(seen) >= 10
    postgres = store.dialect_name == "postgresql"

    def plans(conn: Any) -> list[str]:
        prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        out = []
        for statement, params in seen:
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            out.append("\n".join(str(r[-1]) for r in rows))
        return out

    for plan, (statement, _) in zip(await store._read(plans), seen, strict=True):
        if postgres:
            assert not re.search(r"Seq Scan on (deliveries|notices)", plan), (statement, plan)
            assert not re.search(r"(^|->  )Sort\b", plan, re.M), (statement, plan)
        else:
            # the drills' partial index holds drills only: reading it whole is cheap
            whole = r"\bSCAN (deliveries|notices|first|shown|other)\b"
            whole += r"(?! USING INDEX ix_notices_drill)"
            assert not re.search(whole, plan), (
                statement,
                plan,
            )
            assert "TEMP B-TREE" not in plan, (statement, plan)
