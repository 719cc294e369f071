"""传播数据: the communications officer's dashboard — reach per channel for a period, charts
over time, by kind, by month and the top notices (SVG drawn on the server), exports as CSV
and XLSX, and the annual and half-yearly open-government report. Figures and rules are the
reach report's own (``publisher.reach``): each post's latest sample per metric, "—" where a
channel has no figure, never 0."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response

from publisher.console.pages import guard, page
from publisher.errors import PublisherError
from publisher.reach import annual, annual_files, charts
from publisher.reach.annual import annual_period
from publisher.reach.export import DOWNLOADS, download
from publisher.reach.report import METRICS, ReachReport, period, reach_report

router = APIRouter(include_in_schema=False)
CHARTS = {"time": "各渠道传播趋势", "top": "阅读最多的信息", "kind": "按类别", "month": "按月份"}
GROUPS = {
    "channel": "渠道",
    "kind": "类别",
    "month": "月份",
    "department": "科室",
    "notice": "信息",
}


def _period(request: Request) -> tuple[str, str]:
    q = request.query_params
    return q.get("from", ""), q.get("to", "")


async def _report(request: Request, by: str) -> ReachReport:
    """The reach report of the period the query names (default: this month so far).
    Raises the report's own one-line error for a bad period."""
    rt = request.app.state.runtime
    given_from, given_to = _period(request)
    today = rt.clock.now().astimezone(rt.settings.zone).date()
    start, end = period(given_from or None, given_to or None, today)
    return await reach_report(rt.store, start, end, by, rt.settings.zone, rt.clock.now())


@router.get("/reach")
async def dashboard(request: Request) -> Response:
    session = await guard(request, "reach")
    rt = request.app.state.runtime
    given_from, given_to = _period(request)
    by = request.query_params.get("by", "channel")
    by = by if by in GROUPS else "channel"
    today = rt.clock.now().astimezone(rt.settings.zone).date()
    try:
        report = await _report(request, by)
    except PublisherError as exc:
        return page(
            request,
            "reach.html",
            session,
            title="传播数据",
            error=str(exc),
            report=None,
            chosen={"from": given_from, "to": given_to, "by": by},
            groups=GROUPS,
            charts=CHARTS,
            metrics=METRICS,
            year=today.year,
        )
    return page(
        request,
        "reach.html",
        session,
        title="传播数据",
        error=None,
        report=report,
        chosen={"from": report.start.isoformat(), "to": report.end.isoformat(), "by": by},
        groups=GROUPS,
        charts=CHARTS,
        metrics=METRICS,
        year=today.year,
    )


@router.get("/reach/chart/{chart}.svg")
async def chart(request: Request, chart: str) -> Response:
    await guard(request, "reach")
    rt = request.app.state.runtime
    given_from, given_to = _period(request)
    today = rt.clock.now().astimezone(rt.settings.zone).date()
    try:
        start, end = period(given_from or None, given_to or None, today)
        svg = await charts.reach_chart(
            rt.store, chart, start, end, rt.settings.zone, rt.clock.now()
        )
    except PublisherError as exc:
        return Response(str(exc), status_code=422, media_type="text/plain; charset=utf-8")
    return Response(
        svg, media_type="image/svg+xml; charset=utf-8", headers={"Cache-Control": "no-store"}
    )


@router.get("/reach/export")
async def export(request: Request) -> Response:
    session = await guard(request, "reach")
    fmt = request.query_params.get("format", "xlsx")
    by = request.query_params.get("by", "channel")
    try:
        if fmt not in DOWNLOADS or by not in GROUPS:
            raise PublisherError(f"不支持的导出方式 {fmt}/{by}")
        report = await _report(request, by)
    except PublisherError as exc:
        return page(
            request,
            "refused.html",
            session,
            title="无法导出",
            status_code=422,
            message=str(exc),
            back="/reach",
        )
    return await download(report, fmt)  # seconds by notice: off the event loop


@router.get("/reach/annual")
async def annual_file(request: Request) -> Response:
    session = await guard(request, "reach")
    rt = request.app.state.runtime
    q = request.query_params
    year, half, fmt = q.get("year", ""), q.get("half") or None, q.get("format", "docx")
    if not year.isdigit() or fmt not in annual_files.FORMATS or half not in (None, "H1", "H2"):
        return page(
            request,
            "refused.html",
            session,
            title="无法生成年度报告",
            status_code=422,
            message="请填写四位年度，并选择全年或上、下半年及文件格式。",
            back="/reach",
        )
    try:
        chosen = annual_period(int(year), half)
        found = await annual.settings_report(rt.store, rt.settings, chosen, rt.clock.now())
    except PublisherError as exc:
        return page(
            request,
            "refused.html",
            session,
            title="无法生成年度报告",
            status_code=422,
            message=str(exc),
            back="/reach",
        )
    body = await anyio.to_thread.run_sync(annual_files.render, found, fmt)  # (off the loop)
    name = f"annual-{chosen.year}{'-' + chosen.half if chosen.half else ''}.{fmt}"
    headers = {} if fmt == "html" else {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=annual_files.MEDIA_TYPES[fmt], headers=headers)
