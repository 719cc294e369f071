"""Rendering notices for channels with Jinja2: sandboxed, StrictUndefined, HTML autoescaped.

A part (``title``, ``body``, ...) of channel ``C`` for notice kind ``K`` comes from the first
template found of::

    templates/C/K/<part>.<ext>     templates/C/_default/<part>.<ext>
    templates/_default/K/<part>.<ext>   templates/_default/_default/<part>.<ext>

A follow-up of an earlier notice (``notice.follows`` set: an update, a lift, a withdrawal)
first looks for ``templates/C/_followup/<part>.<ext>``; that template may include the kind's
own one (the names above) for the new text of an update.

``ext`` is ``html``, ``md`` or ``txt`` for the body (by the channel's format) and ``txt`` for
other parts. Errors name the template and line.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from publisher import kinds
from publisher.contract import Format, Rendered
from publisher.errors import TemplateError
from publisher.settings import Organization
from publisher.table_cells import keep_tokens, stacks
from publisher.textcut import MEASURES, cut

EXTENSIONS = {Format.HTML: "html", Format.MARKDOWN: "md", Format.TEXT: "txt"}

KIND_LABELS = kinds.LABELS  # kind -> its Chinese label, from the registry


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Mapping[str, Any] | None) -> str:
    """A GitHub-style markdown table (pipes in cells escaped)."""
    if not table:
        return ""
    columns: Sequence[str] = table["columns"]
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table["rows"]]
    return "\n".join(lines)


def text_table(table: Mapping[str, Any] | None) -> str:
    """One line per row, ``column：value`` pairs; reads well on plain-text channels."""
    if not table:
        return ""
    columns: Sequence[str] = table["columns"]
    return "\n".join(
        "；".join(f"{c}：{_cell(v)}" for c, v in zip(columns, row, strict=True))
        for row in table["rows"]
    )


def measure(text: Any, how: str = "chars") -> float:
    """The length of ``text`` by a named measure (``chars`` or ``bytes``), for templates that
    share a channel's limit between parts (a card's fixed facts and its excerpt)."""
    return MEASURES[how]("" if text is None else str(text))


class Renderer:
    def __init__(
        self, templates_dir: Path, zone: ZoneInfo, organization: Organization | None = None
    ) -> None:
        self.zone = zone
        # Who publishes, as every template sees it: org.name, org.short_name,
        # org.portal_title, org.signature.
        self.organization = (organization or Organization()).model_dump()
        # Which file serves (channel, kind, part): templates are read once per process.
        self._resolved: dict[tuple[str, str, str, bool], jinja2.Template] = {}
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            autoescape=jinja2.select_autoescape(["html", "htm", "xml"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.env.filters["markdown_table"] = markdown_table
        self.env.filters["text_table"] = text_table
        self.env.filters["keep_tokens"] = keep_tokens
        self.env.filters["stacks"] = stacks
        self.env.filters["local_time"] = self.local_time
        self.env.filters["cut"] = cut  # {{ text | cut(60) }}, {{ text | cut(120, "bytes") }}
        self.env.filters["measure"] = measure  # {{ text | measure("bytes") }}

    def local_time(self, value: datetime | str | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, str):  # an ISO time (e.g. ``notice.follows.posted_at``)
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
        else:
            moment = value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(self.zone).strftime(fmt)

    def _find(
        self, channel: str, kind: str, filename: str, followup: bool = False
    ) -> jinja2.Template:
        key = (channel, kind, filename, followup)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._select(channel, kind, filename, followup)
        return found

    def _select(
        self, channel: str, kind: str, filename: str, followup: bool = False
    ) -> jinja2.Template:
        names = [f"{channel}/_followup/{filename}"] if followup else []  # issue 11 follow-ups
        names += [
            f"{channel}/{kind}/{filename}",
            f"{channel}/_default/{filename}",
            f"_default/{kind}/{filename}",
            f"_default/_default/{filename}",
        ]
        try:
            return self.env.select_template(names)
        except jinja2.TemplatesNotFound:
            raise TemplateError(
                f"没有 {channel}/{kind} 的模板，已查找 {'、'.join(names)}"
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"模板 {exc.name} 第 {exc.lineno} 行: {exc.message}") from None

    def render(
        self,
        *,
        channel: str,
        kind: str,
        fmt: Format,
        parts: Sequence[str],
        context: Mapping[str, Any],
    ) -> Rendered:
        out: dict[str, str] = {}
        notice = context.get("notice")
        followup = isinstance(notice, Mapping) and bool(notice.get("follows"))
        for part in parts:
            ext = EXTENSIONS[fmt] if part == "body" else "txt"
            template = self._find(channel, kind, f"{part}.{ext}", followup)
            try:
                out[part] = template.render(context).strip()
            except jinja2.TemplateError as exc:
                raise TemplateError(
                    f"模板 {template.name} 第 {_line(exc, template)} 行: {exc}"
                ) from None
        return Rendered(format=fmt, parts=out)

    def notice_context(
        self, notice: Mapping[str, Any], account: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What every template sees: ``notice``, ``account``, ``org`` (the organization),
        ``kind_label`` and ``use_summary``."""
        return {
            "notice": notice,
            "account": account,
            "org": self.organization,
            "kind_label": kinds.label(str(notice.get("kind"))),
            "use_summary": False,
        }


def _line(exc: BaseException, template: jinja2.Template) -> int | str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if template.filename and frame.filename == template.filename:
            return frame.lineno or "?"
    return getattr(exc, "lineno", None) or "?"
