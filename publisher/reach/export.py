"""The reach report as a file to download over HTTP, for the API and the console alike.

CSV is streamed in parts (:func:`publisher.reach.formats.csv_parts`), each made in a worker
thread as Starlette asks for it: the first bytes leave at once and no whole copy of a year by
notice (40 MB) is kept. XLSX cannot be cut into parts (openpyxl writes the file at the end),
so it is made whole in a worker thread: never on the event loop, where seconds of work would
stop the portal and the warnings API meanwhile.
"""

from __future__ import annotations

import anyio.to_thread
from fastapi.responses import Response, StreamingResponse

from publisher.reach import formats
from publisher.reach.report import ReachReport

DOWNLOADS = ("csv", "xlsx")


async def download(report: ReachReport, fmt: str) -> Response:
    """``report`` as ``reach-<from>-<to>-<by>.<fmt>``, an attachment; ``fmt`` in DOWNLOADS."""
    name = f"reach-{report.start}-{report.end}-{report.by}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    media_type = formats.MEDIA_TYPES[fmt]
    if fmt == "csv":
        return StreamingResponse(formats.csv_parts(report), media_type=media_type, headers=headers)
    body = await anyio.to_thread.run_sync(formats.as_xlsx, report)
    return Response(body, media_type=media_type, headers=headers)
