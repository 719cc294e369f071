"""``GET /api/reports/reach``: the reach report (``publisher report reach``) over the API;
``/api/reports/chart``: its charts as SVG; ``/api/reports/annual``: the annual report."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from publisher.reach import annual, annual_files, charts, formats
from publisher.reach.annual import annual_period
from publisher.reach.export import DOWNLOADS, download
from publisher.reach.report import period, reach_report
from publisher.runtime import Runtime
from publisher.web.auth import authorize

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[Depends(authorize)])


@router.get("/reach")
async def reach(
    request: Request,
    from_: Annotated[str | None, Query(alias="from", description="开始日期 YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="结束日期 YYYY-MM-DD (含)")] = None,
    by: Annotated[str, Query(description="notice|channel|kind|department|month")] = "channel",
    format: Annotated[str, Query(description="json|csv|xlsx")] = "json",
) -> Response:
    """Reach of the notices posted in a period: each post's latest figure per metric, summed
    per group and channel account; ``null`` where a channel has no figure (never 0).
    Default period: this month so far."""
    rt: Runtime = request.app.state.runtime
    start, end = period(from_, to, rt.clock.now().astimezone(rt.settings.zone).date())
    if format not in ("json", *DOWNLOADS):
        known = "、".join(("json", *DOWNLOADS))
        return JSONResponse({"error": f"不支持的格式 {format!r} (可用: {known})"}, 422)
    report = await reach_report(rt.store, start, end, by, rt.settings.zone, rt.clock.now())
    # Written in worker threads: a year by notice is 400,000 rows, seconds of work that
    # would otherwise stop every other request (the portal, warnings) meanwhile.
    if format == "json":  # as JSONResponse(formats.as_json(report)) would send it, but fast
        # Streamed a thousand rows at a time, each part made as Starlette asks for it: the
        # first bytes leave at once, and no whole copy of a year is kept.
        parts = formats.compact_json_parts(report)
        return StreamingResponse(parts, media_type=formats.MEDIA_TYPES["json"])
    return await download(report, format)


@router.get("/annual")
async def annual_report(
    request: Request,
    year: Annotated[str, Query(description="年度，例如 2026")],
    half: Annotated[str | None, Query(description="H1 上半年 | H2 下半年 (不填: 全年)")] = None,
    format: Annotated[str, Query(description="html|md|xlsx|docx")] = "html",
) -> Response:
    """The annual (or, with ``half``, half-yearly) open-government report in the national
    format of 国办公开办函〔2021〕30号: cells the product has data for are filled in, the rest
    say "（待填写）"."""
    rt: Runtime = request.app.state.runtime
    if format not in annual_files.FORMATS:
        known = "、".join(annual_files.FORMATS)
        return JSONResponse({"error": f"不支持的格式 {format!r} (可用: {known})"}, 422)
    if not year.strip().isdigit():
        return JSONResponse({"error": f"年度应为四位数字，例如 2026，收到 {year!r}"}, 422)
    chosen = annual_period(int(year), half)
    found = await annual.settings_report(rt.store, rt.settings, chosen, rt.clock.now())
    body = await anyio.to_thread.run_sync(annual_files.render, found, format)  # (off the loop)
    name = f"annual-{chosen.year}{'-' + chosen.half if chosen.half else ''}.{format}"
    headers = {} if format == "html" else {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=annual_files.MEDIA_TYPES[format], headers=headers)


@router.get("/chart")
async def reach_chart_svg(
    request: Request,
    chart: Annotated[str, Query(description="time|top|kind|month")] = "time",
    from_: Annotated[str | None, Query(alias="from", description="开始日期 YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="结束日期 YYYY-MM-DD (含)")] = None,
    metric: Annotated[
        str | None, Query(description="reads|views|clicks|likes|reposts|comments|shares")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="top: 条数")] = charts.TOP_LIMIT,
) -> Response:
    """A reach chart as SVG drawn on the server (no script): reach over time per channel
    account, the top notices, by kind or by month. Default period: this month so far."""
    rt: Runtime = request.app.state.runtime
    start, end = period(from_, to, rt.clock.now().astimezone(rt.settings.zone).date())
    svg = await charts.reach_chart(
        rt.store, chart, start, end, rt.settings.zone, rt.clock.now(), metric, limit
    )
    return Response(svg, media_type="image/svg+xml; charset=utf-8")
