"""How reach collection is going, said plainly: per run (``publisher reach collect``) and
per account over time (``doctor``, the console). A failure is never silent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from publisher.metrics.collector import Collected
from publisher.store.collection import CollectionHealth, CollectionStore

# A collection that has not succeeded for this long is a problem even without an error
# (the scheduler stopped?); with the hourly default that is a whole day of runs.
STALE = timedelta(hours=26)


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else "从未"


def describe(r: Collected, zone: ZoneInfo) -> str:
    """One line about one account's run."""
    if r.waiting_until is not None and not r.posts:
        return (
            f"{r.account}: 渠道限额，{_when(r.waiting_until, zone)} 前不再查询"
            f"（连续失败 {r.failures} 次；上次错误: {r.error}）"
        )
    line = f"{r.account}: 查询 {r.posts} 条发布，保存 {r.samples} 个采样"
    if r.silent:
        line += f"，{r.silent} 条渠道未返回数据（可能已删除）"
    if r.deferred:
        line += f"，{r.deferred} 条留待下次"
    if r.error:
        line += f"；失败: {r.error}（连续失败 {r.failures} 次，下次运行重试）"
    return line


def as_json(r: Collected) -> dict[str, Any]:
    return {
        "account": r.account,
        "posts": r.posts,
        "samples": r.samples,
        "error": r.error,
        "silent": r.silent,
        "deferred": r.deferred,
        "failures": r.failures,
        "waiting_until": r.waiting_until.isoformat() if r.waiting_until else None,
    }


def health_json(h: CollectionHealth) -> dict[str, Any]:
    return {
        "account": h.account,
        "last_run_at": h.last_run_at.isoformat(),
        "last_success_at": h.last_success_at.isoformat() if h.last_success_at else None,
        "last_error": h.last_error,
        "last_error_at": h.last_error_at.isoformat() if h.last_error_at else None,
        "failures": h.failures,
        "retry_after": h.retry_after.isoformat() if h.retry_after else None,
    }


async def doctor_lines(
    store: CollectionStore, accounts: Iterable[str], now: datetime, zone: ZoneInfo
) -> list[tuple[bool, str]]:
    """For ``doctor``: (fine?, line) per account that collects reach. An account never
    collected yet is fine (say so); failing or stale is not."""
    known = {h.account: h for h in await store.collection_health()}
    lines = []
    for name in accounts:
        h = known.get(name)
        label = f"触达采集 {name}"
        if h is None:
            lines.append((True, f"{label}: 尚未采集（publisher serve 每小时采集一次）"))
        elif h.failures:
            lines.append(
                (
                    False,
                    f"{label}: 连续失败 {h.failures} 次，最近 {_when(h.last_error_at, zone)}: "
                    f"{h.last_error}；上次成功 {_when(h.last_success_at, zone)}",
                )
            )
        elif h.last_success_at is not None and now - h.last_success_at > STALE:
            lines.append(
                (False, f"{label}: 上次成功 {_when(h.last_success_at, zone)}，已超过一天未采集")
            )
        else:
            lines.append((True, f"{label}: 正常，上次成功 {_when(h.last_success_at, zone)}"))
    return lines


async def doctor(
    store: CollectionStore, channels: Any, now: datetime, zone: ZoneInfo, problems: list[str]
) -> None:
    """``doctor``'s reach section: fine lines printed, problems appended to ``problems``."""
    import click

    names = [a.name for a in channels if a.capabilities.metrics]
    if not names:
        return
    try:
        lines = await doctor_lines(store, names, now, zone)
    except Exception as exc:  # e.g. the database is not migrated yet: said, not raised
        problems.append(f"触达采集: 无法读取采集状态: {type(exc).__name__}")
        return
    for fine, line in lines:
        if fine:
            click.echo(f"✓ {line}")
        else:
            problems.append(line)
