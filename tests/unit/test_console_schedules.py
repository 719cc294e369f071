"""The console's schedules page (/calendar/schedules) and the calendar's obligations: the
same checks as the CLI and the API (one Chinese line, 422, nothing stored), every action
audited from the console, readers see the list without the buttons and are refused the POSTs,
and the calendar filters by department and sums the month up per department."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from console_helpers import console
from schedule_kit import BEFORE, COLUMNS, FIRE, GOOD_ROWS, PORTAL, TEMPLATE, FakeClock

from publisher.auth.roles import Role
from tests.obligation_kit import ACCOUNTS, OBLIGATIONS, local

PATH = "/calendar/schedules"


def _setup(folder: Path) -> dict[str, Any]:
    return {"inbox_dir": folder / "inbox", "schedules_file": folder / "schedules.toml"}


def _csv(rows: list[list[str]]) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


async def _audits(c: Any, actor: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (e.action, e.source, e.detail)
        for e in await c.store.audit_entries(actor=actor)
        if e.action.startswith("schedule.")
    ]


async def test_an_editor_adds_runs_uploads_and_removes_a_schedule(tmp_path: Path) -> None:
    clock = FakeClock(BEFORE)
    async with console(tmp_path, PORTAL, clock, **_setup(tmp_path)) as c:
        await c.add_user("li", Role.EDITOR)
        await c.login("li")
        empty = await c.http.get(PATH)
        assert empty.status_code == 200 and "还没有定时发布计划" in empty.text
        assert "0 9 1 * *" in empty.text  # the cron hint's examples
        token = await c.csrf(PATH)
        form = {
            "csrf": token,
            "name": "monthly-approvals",
            "cron": "0 9 1 * *",
            "template": json.dumps(TEMPLATE, ensure_ascii=False),
            "data": "行政许可-*",
        }
        added = await c.http.post(PATH, data=form)
        assert added.status_code == 303 and added.headers["location"] == PATH + "?ok=added"
        listed = await c.http.get(added.headers["location"])
        assert "已添加计划" in listed.text
        row = listed.text.split("monthly-approvals", 1)[1]
        assert "每月 1 日 09:00" in row and "2026-12-01 09:00" in row  # in words; next fire
        [stored] = await c.store.list_schedules()
        assert stored.created_by == "li" and stored.data_glob == "行政许可-*"

        # run now with no file in the inbox: nothing posted, said plainly
        ran = await c.http.post(f"{PATH}/monthly-approvals/run", data={"csrf": token})
        assert ran.status_code == 200 and "缺少数据文件" in ran.text
        assert await c.store.list_deliveries(limit=10) == []
        # the calendar shows that fire on its day, in red
        nov = await c.http.get("/calendar?month=2026-11")
        [line] = re.findall(r'<li class="sched bad">([^<]*)</li>', nov.text)
        assert line.startswith("12:00 定时发布：monthly-approvals — 缺少数据文件"), line
        assert "2026-11-30" in nov.text.split(line)[0].rsplit("<h3>", 1)[1]

        # a bad upload is refused, nothing kept; a good one is the next fire's data
        files = {"file": ("bad.csv", _csv([["只有一列"]]), "text/csv")}
        refused = await c.http.post(
            f"{PATH}/monthly-approvals/data", data={"csrf": token}, files=files
        )
        assert refused.status_code == 422 and 'role="alert"' in refused.text
        uploads = tmp_path / "inbox"
        assert not [p for p in uploads.rglob("*") if p.is_file()]
        files = {"file": ("十一月.csv", _csv(GOOD_ROWS), "text/csv")}
        kept = await c.http.post(
            f"{PATH}/monthly-approvals/data", data={"csrf": token}, files=files
        )
        assert kept.status_code == 201 and "2 行" in kept.text
        clock.set(FIRE + timedelta(hours=1))
        ran = await c.http.post(f"{PATH}/monthly-approvals/run", data={"csrf": token})
        assert ran.status_code == 200 and "已发布" in ran.text
        [delivery] = await c.store.list_deliveries(limit=10)
        assert f'href="/notices/{delivery.notice_id}"' in ran.text

        removed = await c.http.post(f"{PATH}/monthly-approvals/remove", data={"csrf": token})
        assert removed.status_code == 303
        assert await c.store.list_schedules() == []
        assert "已删除计划" in (await c.http.get(removed.headers["location"])).text

        audits = await _audits(c, "li")
        assert [(a, s) for a, s, _ in audits] == [
            ("schedule.add", "console"),
            ("schedule.run", "console"),
            ("schedule.data", "console"),
            ("schedule.run", "console"),
            ("schedule.remove", "console"),
        ]
        assert audits[0][2] == {"schedule": "monthly-approvals", "cron": "0 9 1 * *"}
        assert audits[1][2]["outcome"] == "no_data" and audits[2][2]["rows"] == 2


async def test_bad_definitions_are_one_line_422_and_store_nothing(tmp_path: Path) -> None:
    async with console(tmp_path, PORTAL, FakeClock(BEFORE), **_setup(tmp_path)) as c:
        await c.add_user("li", Role.DUTY_OFFICER)
        await c.login("li")
        token = await c.csrf(PATH)
        good = json.dumps(TEMPLATE, ensure_ascii=False)
        unknown = json.dumps({**TEMPLATE, "title": "{weekday}行政许可"}, ensure_ascii=False)
        cases = [
            ({"cron": "0 9 32 * *", "template": good}, "cron"),
            ({"cron": "0 9 1 * *", "template": "{not json"}, "不是有效的 JSON"),
            ({"cron": "0 9 1 * *", "template": unknown}, "weekday"),
            ({"cron": "0 9 1 * *", "template": ""}, "通知模板: 必填"),
            ({"cron": "0 9 1 * *", "template": good, "data": "../etc/*"}, "数据文件模式"),
        ]
        for fields, said in cases:
            answer = await c.http.post(PATH, data={"csrf": token, "name": "m", **fields})
            assert answer.status_code == 422, fields
            [line] = re.findall(r'<p class="error" role="alert">([^<]*)</p>', answer.text)
            assert said in line, (fields, line)
            assert "Traceback" not in answer.text
            # what was typed stays in the form
            assert f'value="{fields["cron"]}"' in answer.text
        assert await c.store.list_schedules() == []
        assert await _audits(c, "li") == []

        # the template as an uploaded JSON file
        files = {"template_file": ("approvals.json", io.BytesIO(good.encode()), "application/json")}
        form = {"csrf": token, "name": "from-file", "cron": "30 8 * * 1-5"}
        assert (await c.http.post(PATH, data=form, files=files)).status_code == 303
        [stored] = await c.store.list_schedules()
        assert stored.notice_file == "(控制台上传 approvals.json)"
        assert "周一至周五 08:30" in (await c.http.get(PATH)).text


async def test_readers_see_the_list_but_may_not_act(tmp_path: Path) -> None:
    async with console(tmp_path, PORTAL, FakeClock(BEFORE), **_setup(tmp_path)) as c:
        await c.add_user("li", Role.EDITOR)
        await c.add_user("wang", Role.REVIEWER)
        await c.login("li")
        token = await c.csrf(PATH)
        form = {"csrf": token, "name": "weekly", "cron": "0 10 * * 1"}
        form["template"] = json.dumps(TEMPLATE, ensure_ascii=False)
        assert (await c.http.post(PATH, data=form)).status_code == 303
        c.logout_locally()
        await c.login("wang")
        seen = await c.http.get(PATH)
        assert seen.status_code == 200
        assert "weekly" in seen.text and "每周一 10:00" in seen.text
        assert "添加计划" not in seen.text and "立即执行" not in seen.text
        token = await c.csrf(PATH)
        for path in (PATH, f"{PATH}/weekly/run", f"{PATH}/weekly/remove", f"{PATH}/weekly/data"):
            answer = await c.http.post(path, data={"csrf": token, "name": "x", "cron": "0 9 1 * *"})
            assert answer.status_code == 403, path
        # without the form's token, even an editor is refused
        c.logout_locally()
        await c.login("li")
        assert (await c.http.post(f"{PATH}/weekly/run", data={})).status_code == 403


async def test_the_calendar_by_department_with_the_month_summary(tmp_path: Path) -> None:
    (tmp_path / "obligations.toml").write_text(OBLIGATIONS, encoding="utf-8")
    clock = FakeClock(local(date(2026, 1, 20)))
    extra = {"obligations_file": tmp_path / "obligations.toml", "obligations_interval": 0}
    async with console(tmp_path, ACCOUNTS, clock, **extra, **_setup(tmp_path)) as c:
        await c.add_user("li", Role.SIGNER)
        await c.login("li")
        assert (await c.http.get("/calendar")).status_code == 200  # records the obligations
        clock.set(local(date(2026, 2, 26)))
        feb = await c.http.get("/calendar?month=2026-02")
        assert feb.status_code == 200
        late = feb.text.split('id="late-h"', 1)[1].split("</section>", 1)[0]
        assert "行政许可结果月度公开" in late and "行政审批科" in late
        assert "责任人 zhangsan" in late and "已逾期 2 个工作日" in late
        assert 'href="/calendar/schedules"' in feb.text
        assert '<option value="执法监督科">' in feb.text
        summary = feb.text.split('id="summary-h"', 1)[1].split("</section>", 1)[0]
        assert "2026年2月逾期通报汇总" in summary
        cells = re.findall(r"<th scope=\"row\">([^<]+)</th>((?:<td>.*?</td>)+)</tr>", summary)
        table = {name: re.sub(r"<[^>]+>", " ", tds).split() for name, tds in cells}
        assert table == {"行政审批科": ["1", "0", "0", "1", "2"]}  # due, on time, late, missing

        only = await c.http.get("/calendar?month=2026-02&department=执法监督科")
        assert only.status_code == 200
        assert "行政许可结果月度公开" not in only.text
        assert '<option value="执法监督科" selected>' in only.text
        assert "department=%E6%89%A7" in only.text  # the month links keep the filter
