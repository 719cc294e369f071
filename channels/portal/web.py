"""The portal's web routes: pages, feeds, CAP, read counting and the stylesheet.

Handlers reach the database only through ``request.app.state.runtime`` (its store's own
database thread) and the account's live adapter there, never through the adapter that built
the router: ``create_app`` may build routers from a throw-away set of accounts. Page
templates are ``templates/portal/pages/*.html`` under the configured templates directory,
rendered with autoescaping; a notice's body is the portal delivery's rendered HTML, passed
through ``sanitize.clean_html`` first.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from channels.portal import queries
from channels.portal.cap import CapSource, alert_xml, build_alert
from channels.portal.cap import signal_of as cap_signal
from channels.portal.feeds import Site, atom, cap_atom, display_title, rss
from channels.portal.pageviews import (
    SALT_NAME,
    client_address,
    is_bot,
    local_day,
    visitor_hash,
)
from channels.portal.sanitize import clean_html, safe_url
from publisher.render import KIND_LABELS
from publisher.store.schema import MAX_ROW_ID

CSS_PATH = Path(__file__).with_name("static") / "portal.css"
WARNING = "weather_warning"
FRONT_PAGE_ITEMS = 6
SEEN_MAX = 100_000
STATE_WORDS = {
    "withdrawn": "已撤回",
    "lifted": "已解除",
    "expired": "已过期",
}
COLOUR_CLASSES = {"蓝色": "blue", "黄色": "yellow", "橙色": "orange", "红色": "red"}


class PortalSite:
    """One portal's routes and the little state they keep in memory (templates, salt)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self._envs: dict[Path, jinja2.Environment] = {}
        self._salt: str | None = None
        self._seen: set[tuple[int, date, str]] = set()
        self._css = CSS_PATH.read_bytes()
        self.router = APIRouter(include_in_schema=False)
        r = self.router
        r.add_api_route("/portal", self.index, methods=["GET"])
        r.add_api_route("/portal/category/{kind}", self.category, methods=["GET"])
        r.add_api_route("/portal/notices/{notice_id}", self.notice, methods=["GET", "HEAD"])
        r.add_api_route("/portal/notices/{notice_id}/cap.xml", self.notice_cap, methods=["GET"])
        r.add_api_route("/portal/rss.xml", self.rss, methods=["GET"])
        r.add_api_route("/portal/atom.xml", self.atom, methods=["GET"])
        r.add_api_route("/portal/cap.xml", self.cap_feed, methods=["GET"])
        r.add_api_route("/portal/stats.json", self.stats, methods=["GET"])
        r.add_api_route("/portal/static/portal.css", self.css, methods=["GET"])

    # -- wiring ---------------------------------------------------------------------------

    def _runtime(self, request: Request) -> Any:
        return request.app.state.runtime

    def _adapter(self, request: Request) -> Any:
        return self._runtime(request).channels.get(self.account).adapter

    def _site(self, request: Request) -> Site:
        rt = self._runtime(request)
        options = self._adapter(request).options
        return Site(options.site_name, rt.settings.public_base_url, rt.settings.zone)

    def _cap_source(self, request: Request) -> CapSource:
        rt = self._runtime(request)
        options = self._adapter(request).options
        host = urlsplit(rt.settings.public_base_url).hostname or "localhost"
        return CapSource(
            sender=options.cap_sender or f"portal@{host}",
            identifier_prefix=options.cap_identifier_prefix or f"{host}.notice.",
            default_area=options.default_area,
            status="Test" if options.sandbox else "Actual",
            zone=rt.settings.zone,
        )

    def _env(self, request: Request) -> jinja2.Environment:
        rt = self._runtime(request)
        folder = Path(rt.settings.templates_dir) / "portal" / "pages"
        env = self._envs.get(folder)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(str(folder)),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters["local_time"] = _local_time
            env.filters["safe_url"] = safe_url
            self._envs[folder] = env
        return env

    async def _read(self, request: Request, fn: Any, *args: Any) -> Any:
        return await self._runtime(request).store._read(fn, *args)

    def _page(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        rt = self._runtime(request)
        options = self._adapter(request).options
        zone = rt.settings.zone
        context = {
            "site_name": options.site_name,
            "sandbox": bool(options.sandbox),
            "categories": list(KIND_LABELS.items()),
            "kind_labels": KIND_LABELS,
            "zone": zone,
            "now": rt.clock.now(),
            "current_kind": None,
            **values,
        }
        html = self._env(request).get_template(template).render(context)
        return HTMLResponse(html, status_code=status)

    def _not_found(self, request: Request, message: str = "页面不存在或尚未发布") -> Response:
        return self._page(request, "not_found.html", status=404, message=message)

    # -- pages ----------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        def load(conn: Any) -> Any:
            blocks = queries.front_page(conn, list(KIND_LABELS), FRONT_PAGE_ITEMS)
            warnings = queries.live_notices(conn, kinds=[WARNING], limit=20)
            return blocks, warnings

        blocks, warnings = await self._read(request, load)
        rt = self._runtime(request)
        now, zone = rt.clock.now(), rt.settings.zone
        in_force = [_item(n, now, zone) for n in warnings if n.state(now, zone) == "active"]
        return self._page(
            request,
            "index.html",
            blocks=[
                (kind, label, [_item(n, now, zone) for n in blocks[kind]])
                for kind, label in KIND_LABELS.items()
            ],
            warnings=in_force[:5],
        )

    async def category(self, request: Request, kind: str, page: str = "1") -> Response:
        if kind not in KIND_LABELS:
            return self._not_found(request, "没有这个栏目")
        number = int(page) if page.isdigit() and int(page) > 0 else 1
        size = self._adapter(request).options.page_size

        def load(conn: Any) -> Any:
            total = queries.count_live(conn, kinds=[kind])
            items = queries.live_notices(conn, kinds=[kind], offset=(number - 1) * size, limit=size)
            return total, items

        total, items = await self._read(request, load)
        pages = max(1, math.ceil(total / size))
        if number > pages:
            return self._not_found(request, "没有这一页")
        rt = self._runtime(request)
        now, zone = rt.clock.now(), rt.settings.zone
        return self._page(
            request,
            "list.html",
            current_kind=kind,
            kind=kind,
            kind_label=KIND_LABELS[kind],
            items=[_item(n, now, zone) for n in items],
            page=number,
            pages=pages,
            total=total,
        )

    async def notice(self, request: Request, notice_id: str) -> Response:
        row = _row_id(notice_id)
        if row is None:
            return self._not_found(request)
        found: queries.PortalNotice | None = await self._read(request, queries.live_notice, row)
        if found is None:
            return self._not_found(request)
        if request.method == "GET":
            await self._count(request, found.id)
        reads = (await self._read(request, queries.view_counts, [found.id]))[found.id]
        rt = self._runtime(request)
        now, zone = rt.clock.now(), rt.settings.zone
        site = self._site(request)
        state = found.state(now, zone)
        _signal, colour = cap_signal(found)
        return self._page(
            request,
            "notice.html",
            current_kind=found.kind,
            n=found,
            item=_item(found, now, zone),
            kind_label=KIND_LABELS.get(found.kind, found.kind),
            body=Markup(clean_html(found.body_html)),
            state=state,
            state_word=STATE_WORDS.get(state),
            valid_until=found.valid_until(zone),
            issuer=str(found.fields.get("issuer") or found.fields.get("source") or ""),
            colour_class=COLOUR_CLASSES.get(colour or "", ""),
            withdrawn_reason=str(found.fields.get("withdrawn_reason") or ""),
            attachments=_attachments(found.fields.get("attachments")),
            reads=reads,
            url=site.page(found.id),
            cap_url=site.cap(found.id) if found.kind == WARNING else None,
        )

    async def _count(self, request: Request, notice_id: int) -> None:
        agent = request.headers.get("user-agent", "")
        if is_bot(agent, request.headers):
            return
        rt = self._runtime(request)
        adapter = self._adapter(request)
        now = rt.clock.now()
        day = local_day(now, rt.settings.zone)
        address = client_address(
            request.client.host if request.client else None,
            request.headers,
            adapter.options.trust_forwarded_for,
        )
        visitor = visitor_hash(await self._visitor_salt(adapter), day, address, agent)
        key = (notice_id, day, visitor)
        if key in self._seen:
            return
        await rt.store._tx(queries.record_view, notice_id, day, visitor, now)
        if len(self._seen) >= SEEN_MAX:
            self._seen.clear()
        self._seen.add(key)

    async def _visitor_salt(self, adapter: Any) -> str:
        if self._salt is None:
            tokens = adapter.ctx.tokens
            found = await tokens.get(self.account, SALT_NAME)
            if found is None:
                await tokens.put(self.account, SALT_NAME, secrets.token_hex(16), None)
                found = await tokens.get(self.account, SALT_NAME)
            self._salt = found[0] if found else secrets.token_hex(16)
        return self._salt

    # -- machine-readable -----------------------------------------------------------------

    async def notice_cap(self, request: Request, notice_id: str) -> Response:
        found = None
        row = _row_id(notice_id)
        if row is not None:
            found = await self._read(request, queries.live_notice, row)
        if found is None or found.kind != WARNING:
            return Response("not found\n", status_code=404, media_type="text/plain")
        now = self._runtime(request).clock.now()
        alert = build_alert(
            self._cap_source(request), found, self._site(request).page(found.id), now
        )
        return Response(alert_xml(alert), media_type="application/cap+xml; charset=utf-8")

    async def _latest(self, request: Request, kinds: list[str] | None) -> Any:
        size = self._adapter(request).options.feed_size
        return await self._read(
            request, lambda conn: queries.live_notices(conn, kinds=kinds, limit=size)
        )

    async def rss(self, request: Request) -> Response:
        items = await self._latest(request, None)
        now = self._runtime(request).clock.now()
        return Response(
            rss(self._site(request), items, now), media_type="application/rss+xml; charset=utf-8"
        )

    async def atom(self, request: Request) -> Response:
        items = await self._latest(request, None)
        now = self._runtime(request).clock.now()
        return Response(
            atom(self._site(request), items, now), media_type="application/atom+xml; charset=utf-8"
        )

    async def cap_feed(self, request: Request) -> Response:
        items = await self._latest(request, [WARNING])
        now = self._runtime(request).clock.now()
        body = cap_atom(self._site(request), self._cap_source(request), items, now)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    async def stats(self, request: Request, ids: str = "") -> Response:
        wanted = [int(p) for p in ids.split(",") if p.strip().isdigit()][:1000]
        counts = await self._read(request, queries.view_counts, wanted)
        now = self._runtime(request).clock.now()
        return JSONResponse(
            {
                "reads": {str(k): v for k, v in counts.items()},
                "as_of": now.isoformat(timespec="seconds"),
            }
        )

    async def css(self) -> Response:
        return Response(
            self._css,
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )


def _local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime(fmt)


def _item(n: queries.PortalNotice, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """What a list shows of one notice."""
    state = n.state(now, zone)
    if state == "expired" and n.kind != WARNING:
        state = "active"
    _signal, colour = cap_signal(n)
    return {
        "id": n.id,
        "title": n.title,
        "display_title": display_title(n, now, zone),
        "posted_at": n.posted_at,
        "state": state,
        "state_word": STATE_WORDS.get(state),
        "colour_class": COLOUR_CLASSES.get(colour or "", ""),
        "kind": n.kind,
    }


def _attachments(value: Any) -> list[dict[str, str | None]]:
    """``fields.attachments``: ``[{"name", "url"}]``; unsafe links are shown without a link."""
    if not isinstance(value, list):
        return []
    out: list[dict[str, str | None]] = []
    for entry in value:
        if isinstance(entry, Mapping):
            url = safe_url(entry.get("url"))
            name = str(entry.get("name") or entry.get("url") or "附件")
            out.append({"name": name, "url": url})
        elif isinstance(entry, str):
            out.append({"name": entry.rsplit("/", 1)[-1] or entry, "url": safe_url(entry)})
    return out


def _row_id(text: str) -> int | None:
    """The notice id a path names, or None: ASCII digits within a 64-bit row id."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None
