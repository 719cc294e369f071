"""Shared by the obligations tests: a small obligations file, settings around it, and notices
posted straight into the store at a chosen time (the clock is the test's)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from helpers import notice_row

from publisher.queue.admission import AdmissionPolicy
from publisher.settings import Settings, load_settings
from publisher.states import Status
from publisher.store import SqlStore
from publisher.store.records import AccountLimits, ClaimRequest, NewDelivery, Outcome
from publisher.store.sql import new_key

ZONE = ZoneInfo("Asia/Shanghai")
OBLIGATIONS = """
[obligations.approvals]
title = "行政许可结果月度公开"
kind = "approval_list"
channels = ["portal", "wechat"]
department = "行政审批科"
responsible = ["zhangsan"]
head = ["lisi"]
leader = ["wangwu"]
every = "month"
working_days = 12

[obligations.penalty-decisions]
title = "行政处罚决定公示"
kind = "penalty_disclosure"
channels = ["portal"]
department = "执法监督科"
responsible = ["zhaoliu"]
head = ["sunqi"]
leader = ["wangwu"]
every = "notice"
date_field = "decided_on"
working_days = 7

[obligations.accidents]
title = "事故信息季度公开"
kind = "accident_report"
channels = ["portal"]
department = "调查统计科"
responsible = ["zhouba"]
head = ["wujiu"]
leader = ["wangwu"]
every = "quarter"
working_days = 10
"""

ACCOUNTS: dict[str, dict[str, Any]] = {
    "portal": {"type": "portal", "display_name": "门户网站", "sandbox": True},
    "wechat": {
        "type": "wechat",
        "display_name": "公众号",
        "appid": "wxsandbox0000000001",
        "secret": "sandbox-wechat-secret",
        "api_base": "http://127.0.0.1:9/_sandbox/wechat",
        "sandbox": True,
    },
}
CHANNEL_OF = {"portal": "portal", "wechat": "wechat", "oa": "wecom_app", "weibo": "weibo"}


def oa_account(sandbox_base: str) -> dict[str, Any]:
    return {
        "type": "wecom_app",
        "display_name": "局内OA",
        "corpid": "wwsandbox0000000001",
        "corpsecret": "sandbox-wecom-secret",
        "agentid": 1000002,
        "api_base": f"{sandbox_base}/_sandbox/wecom_app",
        "sandbox": True,
    }


def settings_for(
    tmp: Path, database_url: str, accounts: Mapping[str, Any] = ACCOUNTS, **extra: Any
) -> Settings:
    path = tmp / "obligations.toml"
    if not path.exists():
        path.write_text(OBLIGATIONS, encoding="utf-8")
    return load_settings(
        database_url=database_url,
        accounts=dict(accounts),
        obligations_file=path,
        metrics_interval=0,
        obligations_interval=0,
        **extra,
    )


def local(day: date, hour: int = 10) -> datetime:
    """``day`` at ``hour`` o'clock in Shanghai, as the store's aware UTC time."""
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


async def post(
    store: SqlStore,
    clock: Any,
    kind: str,
    title: str,
    accounts: list[str],
    at: datetime,
    fields: Mapping[str, Any] | None = None,
    posted: bool = True,
) -> int:
    """Submit a notice at ``at`` and, with ``posted``, post it on every account at once."""
    clock.current = at
    deliveries = [
        NewDelivery(
            account=a,
            channel=CHANNEL_OF.get(a, a),
            priority=0,
            not_before=at,
            max_attempts=3,
            idempotency_key=new_key(),
            rendered={"format": "text", "parts": {"title": title, "body": "正文"}},
        )
        for a in accounts
    ]
    row = notice_row(title, kind=kind, fields=dict(fields or {}), fingerprint=new_key())
    done = await store.submit(notice=row, new_deliveries=deliveries, source="test", actor="t")
    if posted:
        limits = {a: AccountLimits(max_concurrency=10) for a in accounts}
        request = ClaimRequest("w1", limits, 30.0, AdmissionPolicy(3, 60.0))
        claimed, _ = await store.claim(request, 50)
        for c in claimed:
            assert c.delivery.notice_id == done.notice_id
            assert await store.mark_sending(c.delivery, "w1")
            outcome = Outcome(
                to_status=Status.POSTED, action="posted", remote_id=new_key(), success=True
            )
            assert await store.finish(c.delivery, "w1", outcome, request.admission)
    clock.current = at + timedelta(seconds=1)
    return int(done.notice_id)
