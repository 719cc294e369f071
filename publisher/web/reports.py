"""``GET /api/reports/reach``: the reach report (``publisher report reach``) over the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from publisher.reach import formats
from publisher.reach.report import period, reach_report
from publisher.runtime import Runtime
from publisher.web.auth import authorize

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[Depends(authorize)])


@router.get("/reach")
async def reach(
    request: Request,
    from_: Annotated[str | None, Query(alias="from", description="开始日期 YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="结束日期 YYYY-MM-DD (含)")] = None,
    by: Annotated[str, Query(description="notice|channel|kind|month")] = "channel",
    format: Annotated[str, Query(description="json|csv|xlsx")] = "json",
) -> Response:
    """Reach of the notices posted in a period: each post's latest figure per metric, summed
    per group and channel account; ``null`` where a channel has no figure (never 0).
    Default period: this month so far."""
    rt: Runtime = request.app.state.runtime
    start, end = period(from_, to, rt.clock.now().astimezone(rt.settings.zone).date())
    if format not in ("json", "csv", "xlsx"):
        return JSONResponse({"error": f"不支持的格式 {format!r} (可用: json、csv、xlsx)"}, 422)
    report = await reach_report(rt.store, start, end, by, rt.settings.zone, rt.clock.now())
    if format == "json":
        return JSONResponse(formats.as_json(report))
    name = f"reach-{report.start}-{report.end}-{report.by}.{format}"
    body = formats.as_csv(report) if format == "csv" else formats.as_xlsx(report)
    return Response(
        body,
        media_type=formats.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
