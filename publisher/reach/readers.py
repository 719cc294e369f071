"""Who has read an OA warning, and who has not (issue 14): ``publisher reach readers``,
``GET /api/notices/{id}/readers``, and the one-time nudge of those who have not.

Each OA account whose adapter offers read receipts (``publisher.reach.receipts``) is asked
for the delivery's read state; what it says is stored (``oa_readers``: a read is kept from
the first time it is seen) and the listing is read back from the store, so acknowledgements
recorded by the WeCom 已知悉 link (``publisher/web/ack.py``) show the same way. A platform
that cannot answer now is named in the listing with what was known before — never silent.

Nudge: an account with ``nudge_after_minutes`` > 0 reminds, once, the recipients who have not
read an urgent notice (a warning) that long after it was posted, through its own platform
(``publisher.notify.tell``). A recipient is marked nudged *before* the message goes
(``claim_nudges``), so nobody is reminded twice, not across processes or restarts; a
reminder the platform refused is logged and not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from publisher.contract import Clock, PostRef
from publisher.errors import ChannelError
from publisher.notify import NobodyToTell, tell
from publisher.reach.receipts import ACKNOWLEDGED, READ, ReadReceipts
from publisher.registry import Account, Channels
from publisher.states import Status
from publisher.store.base import Store
from publisher.store.collection import Reader
from publisher.store.records import NoticeRecord

log = logging.getLogger("publisher.reach.readers")
NUDGE_EVERY_SECONDS = 300.0
NUDGE_WITHIN = timedelta(days=2)  # older warnings are not nudged any more
HOW = {READ: "已读", ACKNOWLEDGED: "已知悉"}


@dataclass(frozen=True)
class AccountReaders:
    account: str
    channel: str
    delivery_id: int
    how: str  # READ | ACKNOWLEDGED
    source: str
    read: list[Reader] = field(default_factory=list)
    unread: list[Reader] = field(default_factory=list)
    error: str | None = None  # the platform could not answer now (the lists are as before)


def receipts_of(account: Account) -> ReadReceipts | None:
    adapter = account.adapter
    if isinstance(adapter, ReadReceipts) and adapter.reads_known:
        return adapter
    return None


async def _refresh(store: Store, adapter: ReadReceipts, ref: PostRef) -> tuple[str, str]:
    """Ask the platform, store what it says; (how, source)."""
    state = await adapter.read_state(ref)
    await store.add_recipients(ref.delivery_id, state.recipients)
    await store.record_reads(ref.delivery_id, state.read, state.how)
    return state.how, state.source


async def readers_of(
    store: Store, channels: Channels, notice_id: int
) -> tuple[NoticeRecord, list[AccountReaders]]:
    """The notice and, per OA account with read receipts that posted it, who read and who
    has not. Raises NotFoundError for an unknown notice."""
    record = await store.get_notice(notice_id)
    out = []
    for d in record.deliveries:
        if d.account not in channels or d.status != Status.POSTED:
            continue
        account = channels.get(d.account)
        adapter = receipts_of(account)
        if adapter is None:
            continue
        error = None
        how, source = ACKNOWLEDGED if account.type_name == "wecom_app" else READ, ""
        try:
            how, source = await _refresh(store, adapter, d.as_ref())
        except ChannelError as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("readers of delivery %s: %s", d.id, error)
        rows = (await store.readers([d.id])).get(d.id, [])
        out.append(
            AccountReaders(
                d.account,
                d.channel,
                d.id,
                how,
                source,
                read=sorted((r for r in rows if r.read_at), key=lambda r: (r.read_at, r.user_id)),
                unread=[r for r in rows if not r.read_at],
                error=error,
            )
        )
    return record, out


def as_json(record: NoticeRecord, accounts: list[AccountReaders]) -> dict[str, Any]:
    def when(at: datetime | None) -> str | None:
        return at.isoformat() if at else None

    return {
        "notice_id": record.id,
        "title": record.title,
        "accounts": [
            {
                "account": a.account,
                "channel": a.channel,
                "delivery_id": a.delivery_id,
                "how": a.how,
                "source": a.source,
                "error": a.error,
                "read": [{"user": r.user_id, "at": when(r.read_at), "how": r.how} for r in a.read],
                "unread": [{"user": r.user_id, "nudged_at": when(r.nudged_at)} for r in a.unread],
            }
            for a in accounts
        ],
    }


def as_text(record: NoticeRecord, accounts: list[AccountReaders], zone: Any) -> str:
    def when(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%m-%d %H:%M") if at else ""

    lines = [f"通知 {record.id}《{record.title}》的阅读情况"]
    if not accounts:
        lines.append("没有可查询阅读情况的 OA 账号发布过这条通知")
    for a in accounts:
        word = HOW.get(a.how, "已读")
        head = (
            f"{a.account} ({a.channel}): {word} {len(a.read)} 人，未{word[1:]} {len(a.unread)} 人"
        )
        if a.how == ACKNOWLEDGED and not a.unread:
            head += "（接收人未逐一列名时，只列出已知悉的人）"
        lines.append(head)
        if a.error:
            lines.append(f"  暂时无法查询: {a.error}（以下为此前已知的情况）")
        if a.read:
            lines.append(
                f"  {word}: " + "、".join(f"{r.user_id} ({when(r.read_at)})" for r in a.read)
            )
        if a.unread:
            parts = [
                r.user_id + (f" (已提醒 {when(r.nudged_at)})" if r.nudged_at else "")
                for r in a.unread
            ]
            lines.append(f"  未{word[1:]}: " + "、".join(parts))
    return "\n".join(lines) + "\n"


# -- nudges ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nudged:
    account: str
    delivery_id: int
    users: list[str]
    error: str | None = None


async def nudge_once(store: Store, channels: Channels, clock: Clock) -> list[Nudged]:
    """Remind, once, the recipients who have not read an urgent notice after their account's
    ``nudge_after_minutes``. Returns what was sent (or refused) this time."""
    now = clock.now()
    done: list[Nudged] = []
    for account in channels:
        adapter = receipts_of(account)
        if adapter is None or not adapter.nudge_after_minutes:
            continue
        after = timedelta(minutes=adapter.nudge_after_minutes)
        refs = await store.posted_refs(account.name, now - NUDGE_WITHIN, now - after)
        known = await store.readers([r.delivery_id for r in refs])
        for ref in refs:
            rows = known.get(ref.delivery_id)
            if rows and all(r.read_at or r.nudged_at for r in rows):
                continue  # everyone read or was reminded: nothing to ask the platform
            nudged = await _nudge(store, channels, account, adapter, ref, now)
            if nudged is not None:
                done.append(nudged)
    return done


async def _nudge(
    store: Store,
    channels: Channels,
    account: Account,
    adapter: ReadReceipts,
    ref: PostRef,
    now: datetime,
) -> Nudged | None:
    delivery = await store.get_delivery(ref.delivery_id)
    notice = await store.get_notice(delivery.notice_id)
    if not notice.urgent:
        return None
    try:
        await _refresh(store, adapter, ref)
    except ChannelError as exc:
        log.warning("nudge: readers of delivery %s: %s", ref.delivery_id, exc)
        return Nudged(account.name, ref.delivery_id, [], f"{type(exc).__name__}: {exc}")
    rows = (await store.readers([ref.delivery_id])).get(ref.delivery_id, [])
    users = await store.claim_nudges(
        ref.delivery_id, [r.user_id for r in rows if not r.read_at and not r.nudged_at], now
    )
    if not users:
        return None
    url = ref.detail.get("ack") or ref.detail.get("link")
    word = "确认知悉" if account.type_name == "wecom_app" else "阅读"
    try:
        await tell(
            [account],
            users,
            f"提醒：请{word}《{notice.title}》",
            f"您尚未{word}这条预警信息，请及时查看。",
            url=str(url) if url else None,
            key=f"nudge-{ref.delivery_id}",
            account=account.name,
        )
    except (ChannelError, NobodyToTell) as exc:
        log.warning("nudge of %s for delivery %s failed: %s", users, ref.delivery_id, exc)
        return Nudged(account.name, ref.delivery_id, users, f"{type(exc).__name__}: {exc}")
    log.info("nudged %s for delivery %s", users, ref.delivery_id)
    return Nudged(account.name, ref.delivery_id, users)


def schedule(scheduler: Any, store: Store, channels: Channels, clock: Clock) -> None:
    """Add the nudge job to ``publisher serve``'s scheduler when some account nudges."""
    if not any((r := receipts_of(a)) is not None and r.nudge_after_minutes for a in channels):
        return

    async def job() -> None:
        await nudge_once(store, channels, clock)

    scheduler.every("nudge_readers", NUDGE_EVERY_SECONDS, job)
