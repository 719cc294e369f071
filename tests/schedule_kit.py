"""What the schedule tests share: a runtime on a hand-moved clock, templates and data files."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from publisher.runtime import Runtime
from publisher.schedules import views
from publisher.schedules.runner import ScheduleRunner
from publisher.settings import load_settings


class FakeClock:
    """A clock tests set by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


PORTAL = {"portal": {"type": "portal", "display_name": "门户网站", "sandbox": True}}
COLUMNS = ["许可证号", "企业名称", "许可事项", "决定日期"]
TEMPLATE: dict[str, Any] = {
    "kind": "approval_list",
    "title": "{period}行政许可公示",
    "body": "现将{period}本局办理的行政许可事项公示如下。",
    "fields": {"period": "{period}", "issuer": "市安全生产监督管理局"},
    "table": {"columns": COLUMNS, "rows": []},
}
GOOD_ROWS = [
    ["(滨)危化经字〔2026〕001号", "滨江化工贸易有限公司", "危险化学品经营许可", "2026-11-05"],
    ["(滨)危化经字〔2026〕002号", "东港物流有限公司", "危险化学品经营许可", "2026-11-18"],
]
# 2026-11-30 12:00 in Shanghai; the monthly fire "0 9 1 * *" is 2026-12-01 09:00 (01:00 UTC).
BEFORE = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
FIRE = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def write_template(folder: Path, template: dict[str, Any] | None = None) -> Path:
    path = folder / "approvals.json"
    path.write_text(json.dumps(template or TEMPLATE, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(inbox: Path, rows: list[list[Any]], name: str = "行政许可-2026-11.csv") -> Path:
    import csv

    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def write_xlsx(inbox: Path, rows: list[list[Any]], name: str = "行政许可-2026-11.xlsx") -> Path:
    from openpyxl import Workbook

    inbox.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    path = inbox / name
    book.save(path)
    return path


def settings_for(folder: Path, database_url: str | None = None, **extra: Any) -> Any:
    return load_settings(
        database_url=database_url or f"sqlite:///{folder / 'publisher.db'}",
        accounts=PORTAL,
        metrics_interval=0,
        inbox_dir=folder / "inbox",
        schedules_file=folder / "schedules.toml",
        **extra,
    )


@contextlib.asynccontextmanager
async def opened(
    settings: Any, clock: FakeClock, runner: str = "test-runner"
) -> AsyncIterator[tuple[Runtime, ScheduleRunner]]:
    rt = await Runtime.open(settings, clock=clock)
    try:
        yield rt, ScheduleRunner(settings, rt.store, rt.intake, clock, runner)
    finally:
        await rt.close()


async def add_monthly(
    runner: ScheduleRunner, folder: Path, name: str = "monthly-approvals", **kw: Any
) -> None:
    template = kw.pop("template", TEMPLATE)
    await views.add(
        runner,
        name,
        kw.pop("cron", "0 9 1 * *"),
        str(folder / "approvals.json"),
        template,
        kw.pop("data", "行政许可-*"),
        True,
        "tester",
    )


async def notices(rt: Runtime) -> list[Any]:
    """Every notice submitted, oldest first (each has one delivery: the portal)."""
    ids = sorted({d.notice_id for d in await rt.store.list_deliveries(limit=1000)})
    return [await rt.store.get_notice(i) for i in ids]
