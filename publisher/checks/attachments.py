"""Attachments: only the file types the bureau allows (the ``attachment_types`` setting).

The type is the extension of the attachment's name (``处罚决定书.pdf``), else of its URL's
path (``/files/2026/12.pdf``) when the name has none. Only the name is trusted first: download
addresses often end in a script (``download.aspx?id=12``) that says nothing of the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from publisher.checks.findings import Finding


def extension(name: str) -> str | None:
    suffix = PurePosixPath(name.strip()).suffix
    return suffix[1:].lower() if len(suffix) > 1 and " " not in suffix else None


def scan(data: dict[str, Any], allowed: Iterable[str]) -> list[Finding]:
    types = {t.lower().lstrip(".") for t in allowed}
    shown = "、".join(sorted(types))
    found = []
    attachments = (data.get("fields") or {}).get("attachments") or []
    for i, item in enumerate(attachments, start=1):
        name = item["name"]
        by_name = extension(name)
        by_url = extension(unquote(urlsplit(item["url"]).path))
        part, ext = ("name", by_name) if by_name is not None else ("url", by_url)
        where = f"fields.attachments[{i}].{part}"
        if ext is None:
            message = f"附件「{name}」看不出文件类型，名称应带扩展名 (允许 {shown})"
            found.append(Finding("attachments", "error", where, None, message))
        elif ext not in types:
            message = f"附件「{name}」的类型 .{ext} 不在允许之列 (允许 {shown})"
            found.append(Finding("attachments", "error", where, None, message))
    return found
