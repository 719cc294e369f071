"""The web console (issue 15): server-rendered pages for duty officers, editors, reviewers,
the communications officer and administrators, at ``/`` (the portal stays at ``/portal``).

Jinja2 templates under ``templates/console/``, one stylesheet and one small script served
from this package (``/console/static/``), nothing from a CDN. Pages are grouped by work:

    login.py    /login, /logout: signed session cookies, CSRF, throttled attempts
    work.py     / (工作台), /monitor (投递监控), /notices/{id}, retry and cancel
    compose.py  /compose: one form per kind, CSV/XLSX tables, the per-channel preview
    review.py   /reviews (审核队列): approve, or reject with a comment
    warnings.py /warnings (预警): in force, CAP in; update, lift, withdraw any notice
    calendar.py /calendar (日程与时限): schedules and obligations by month, overdue in red
    schedules.py /calendar/schedules: list, add, remove, run now, upload the next data file
    reach.py    /reach (传播数据): figures, SVG charts, exports, the annual report
    admin.py    /channels (渠道状态), /audit (审计日志), /users (用户管理)
    pages.py    the frame: templates, navigation, the role check of every page
    session.py  cookies and CSRF tokens
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from publisher.console import (
    admin,
    calendar,
    compose,
    login,
    reach,
    review,
    schedules,
    warnings,
    work,
)
from publisher.console.pages import BadForm, Forbidden, NotLoggedIn, login_redirect, page

STATIC = Path(__file__).with_name("static")
FILES = {"console.css": "text/css", "console.js": "text/javascript"}


def install(app: FastAPI) -> None:
    """Mount the console's pages, its static files and how its refusals look."""
    for module in (login, work, compose, review, warnings, schedules, calendar, reach, admin):
        app.include_router(module.router)

    @app.get("/console/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in FILES:
            return Response("没有这个文件", status_code=404, media_type="text/plain")
        return FileResponse(
            STATIC / name, media_type=FILES[name], headers={"Cache-Control": "max-age=3600"}
        )

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(_request: Request, exc: NotLoggedIn) -> Response:
        return RedirectResponse(login_redirect(exc.path), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return page(request, "forbidden.html", exc.session, title="无权访问", status_code=403)

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, _exc: BadForm) -> Response:
        return page(
            request,
            "refused.html",
            None,
            title="请求无效",
            status_code=403,
            message="表单已过期或来源不明，请返回页面刷新后重试。",
            back="/",
        )
