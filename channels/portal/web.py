"""The portal's web routes: pages, feeds, CAP, read counting and the stylesheet.

Every handler is given a :class:`~publisher.portal.PortalContext` (the store's portal reads,
the clock, settings, this account's options) as a FastAPI dependency; none reaches the
runtime or the adapter that built the router (``create_app`` may build routers from a
throw-away set of accounts). Page templates are ``templates/portal/pages/*.html`` under the
configured templates directory, rendered with autoescaping; a notice's body is the portal
delivery's rendered HTML, passed through ``sanitize.clean_html`` first.

Rendering never runs on the event loop (``publisher serve`` runs the delivery worker on it):
pages, feeds, CAP and downloads are built in threads (``cache.OffLoop``, two at a time). A
notice's page is cached per notice version (``store.portal_version``: any change to the notice,
its deliveries or its events is a new version) and row page; a long table shows
``tables.ROWS_PER_PAGE`` rows a page (``?rows=N``) and downloads whole as CSV or XLSX.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup

from channels.portal import tables
from channels.portal.adapter import PortalOptions
from channels.portal.cache import ByteLRU, OffLoop, OffLoopHTML, SingleFlight
from channels.portal.cap import CapSource, alert_xml, build_alert
from channels.portal.cap import signal_of as cap_signal
from channels.portal.feeds import Site, atom, cap_atom, display_title, rss
from channels.portal.lifecycle import in_force_now, page_values
from channels.portal.notice_page import (
    READS_MARK,
    CachedPage,
    NoticeSource,
    prepare,
    stale_at,
    table_values,
)
from channels.portal.pageviews import SALT_NAME, is_bot, local_day, visitor_hash
from channels.portal.sanitize import safe_url
from channels.portal.scoped import drills_page, ended_page, is_over, scope
from publisher.kinds import Kind
from publisher.portal import PortalContext, portal_context
from publisher.render import KIND_LABELS
from publisher.store import MAX_ROW_ID
from publisher.store.portal import PortalCursor, PortalNotice
from publisher.table_cells import keep_tokens
from publisher.web.ratelimit import real_address

CSS_PATH = Path(__file__).with_name("static") / "portal.css"
WARNING = Kind.WEATHER_WARNING
FRONT_PAGE_ITEMS = 6
OFFSET_PAGES = 10  # ?page=N is served up to here (an index read past N pages); deeper: page 1
COUNT_BOUND = 1000  # a category counts its notices up to here ("共 1000 余条" beyond)
SEEN_MAX = 100_000
PAGE_CACHE_BYTES = 64 * 1024 * 1024  # rendered pages and downloads
SOURCE_CACHE_BYTES = 256 * 1024 * 1024  # notices prepared for rendering (a big table's rows)
MAX_PAGE = 1_000_000  # a page number beyond any archive or table
STATE_WORDS = {
    "withdrawn": "已撤回",
    "lifted": "已解除",
    "superseded": "已更新",
    "expired": "已过期",
}
COLOUR_CLASSES = {"蓝色": "blue", "黄色": "yellow", "橙色": "orange", "红色": "red"}
Ctx = Annotated[PortalContext, Depends(portal_context)]


class PortalSite:
    """One portal's routes and the little state they keep in memory (templates, salt)."""

    def __init__(self, account: str) -> None:
        self.account = account
        self._envs: dict[Path, jinja2.Environment] = {}
        self._salt: str | None = None
        self._seen: set[tuple[int, date, str]] = set()
        self._css = CSS_PATH.read_bytes()
        self._off_loop = OffLoop(threads=2)
        self._pages: ByteLRU[CachedPage | bytes] = ByteLRU(PAGE_CACHE_BYTES)
        self._sources: ByteLRU[NoticeSource] = ByteLRU(SOURCE_CACHE_BYTES)
        self._flights = SingleFlight()
        self.router = APIRouter(include_in_schema=False)
        r = self.router
        r.add_api_route("/portal", self.index, methods=["GET"])
        r.add_api_route("/portal/category/{kind}", self.category, methods=["GET"])
        r.add_api_route("/portal/drills", self.drills, methods=["GET"])  # drills (issue 11 C)
        r.add_api_route("/portal/notices/{notice_id}", self.notice, methods=["GET", "HEAD"])
        r.add_api_route("/portal/notices/{notice_id}/cap.xml", self.notice_cap, methods=["GET"])
        r.add_api_route("/portal/notices/{notice_id}/table.csv", self.table_csv, methods=["GET"])
        r.add_api_route("/portal/notices/{notice_id}/table.xlsx", self.table_xlsx, methods=["GET"])
        r.add_api_route("/portal/rss.xml", self.rss, methods=["GET"])
        r.add_api_route("/portal/atom.xml", self.atom, methods=["GET"])
        r.add_api_route("/portal/cap.xml", self.cap_feed, methods=["GET"])
        r.add_api_route("/portal/stats.json", self.stats, methods=["GET"])
        r.add_api_route("/portal/static/portal.css", self.css, methods=["GET"])

    # -- wiring ---------------------------------------------------------------------------

    def _options(self, ctx: PortalContext) -> PortalOptions:
        options = ctx.options[self.account]
        assert isinstance(options, PortalOptions)
        return options

    def _site(self, ctx: PortalContext) -> Site:
        return Site(self._options(ctx).site_name, ctx.public_base_url, ctx.zone)

    def _cap_source(self, ctx: PortalContext) -> CapSource:
        options = self._options(ctx)
        host = urlsplit(ctx.public_base_url).hostname or "localhost"
        return CapSource(
            sender=options.cap_sender or f"portal@{host}",
            identifier_prefix=options.cap_identifier_prefix or f"{host}.notice.",
            default_area=options.default_area,
            status="Test" if options.sandbox else "Actual",
            zone=ctx.zone,
        )

    def _env(self, ctx: PortalContext) -> jinja2.Environment:
        folder = Path(ctx.templates_dir) / "portal" / "pages"
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
            env.filters["keep_tokens"] = keep_tokens
            self._envs[folder] = env
        return env

    def _page(
        self, ctx: PortalContext, template: str, status: int = 200, **values: Any
    ) -> Response:
        """The page, rendered in a thread as the response is sent."""
        return OffLoopHTML(self._off_loop, partial(self._render, ctx, template, values), status)

    def _render(self, ctx: PortalContext, template: str, values: dict[str, Any]) -> str:
        options = self._options(ctx)
        context = {
            "site_name": options.site_name,
            "sandbox": bool(options.sandbox),
            "categories": list(KIND_LABELS.items()),
            "kind_labels": KIND_LABELS,
            "zone": ctx.zone,
            "now": ctx.clock.now(),
            "current_kind": None,
            **values,
        }
        return self._env(ctx).get_template(template).render(context)

    def _not_found(
        self, ctx: PortalContext, message: str = "页面不存在或尚未发布", status: int = 404
    ) -> Response:
        return self._page(ctx, "not_found.html", status=status, message=message)

    # -- pages ----------------------------------------------------------------------------

    async def index(self, ctx: Ctx) -> Response:
        where = scope(ctx)  # no drills, no page past its display period
        blocks = await ctx.store.portal_front_page(list(KIND_LABELS), FRONT_PAGE_ITEMS, where)
        warnings = await ctx.store.portal_notices(kinds=[WARNING], limit=20, scope=where)
        now, zone = ctx.clock.now(), ctx.zone
        in_force = [_item(n, now, zone) for n in warnings if in_force_now(n, now, zone)]
        return self._page(
            ctx,
            "index.html",
            blocks=[
                (kind, label, [_item(n, now, zone) for n in blocks[kind]])
                for kind, label in KIND_LABELS.items()
            ],
            warnings=in_force[:5],
        )

    async def category(
        self, ctx: Ctx, kind: str, page: str = "1", before: str = "", after: str = ""
    ) -> Response:
        """One category, newest first. Pages follow cursors (``?before=`` the last item seen,
        ``?after=`` the first, for the page before); ``?page=N`` still serves the first
        ``OFFSET_PAGES`` pages, and a deeper number goes to the first page."""
        if kind not in KIND_LABELS:
            return self._not_found(ctx, "没有这个栏目")
        number = page_number(page)
        if number is None:
            return self._not_found(ctx, "没有这一页")
        older, newer = _cursor(before), _cursor(after)
        if (before and older is None) or (after and newer is None) or (older and newer):
            return self._not_found(ctx, "分页参数无效", status=400)
        cursored = older is not None or newer is not None
        if number > OFFSET_PAGES and not cursored:
            return RedirectResponse(f"/portal/category/{kind}", status_code=302)
        size = self._options(ctx).page_size
        offset = 0 if cursored else (number - 1) * size
        where = scope(ctx)
        found = await ctx.store.portal_page(
            kinds=[kind], before=older, after=newer, offset=offset, limit=size, scope=where
        )
        if not found.items and (cursored or number > 1):
            return self._not_found(ctx, "没有这一页")
        total = await ctx.store.portal_count(kinds=[kind], at_most=COUNT_BOUND + 1, scope=where)
        now, zone = ctx.clock.now(), ctx.zone
        base = f"/portal/category/{kind}"
        first, last = (found.items[0], found.items[-1]) if found.items else (None, None)
        return self._page(
            ctx,
            "list.html",
            current_kind=kind,
            kind=kind,
            kind_label=KIND_LABELS[kind],
            items=[_item(n, now, zone) for n in found.items],
            page=None if cursored else number,
            pages=None if total > COUNT_BOUND else max(1, -(-total // size)),
            total=min(total, COUNT_BOUND),
            more_than_total=total > COUNT_BOUND,
            first_url=base if found.newer else None,
            prev_url=f"{base}?after={_cursor_text(first)}" if first and found.newer else None,
            next_url=f"{base}?before={_cursor_text(last)}" if last and found.older else None,
        )

    async def drills(self, ctx: Ctx, page: str = "1") -> Response:
        return await drills_page(self, ctx, page)

    async def notice(self, request: Request, ctx: Ctx, notice_id: str, rows: str = "1") -> Response:
        row, number = _row_id(notice_id), page_number(rows)
        version = None if row is None else await ctx.store.portal_version(row)
        source = None if row is None or version is None else await self._source(ctx, row, version)
        if row is not None and version is not None and source is None:
            withdrew = await ctx.store.portal_withdrawal_of(row)  # a withdrawal: its original
            if withdrew is not None:
                return RedirectResponse(f"/portal/notices/{withdrew}", status_code=302)
        if row is None or version is None or source is None:
            return self._not_found(ctx)
        if is_over(ctx, source.notice):  # display period over (issue 13): 公示期已满, 410
            return ended_page(self, ctx)
        if number is None or number > source.pages:
            return self._not_found(ctx, "没有这一页")
        now = ctx.clock.now()
        key = ("page", row, version, number)
        page = self._pages.get(key)
        if not isinstance(page, CachedPage) or not page.fresh(now):
            page = await self._flights.run(key, partial(self._build_page, ctx, source, number))
            self._pages.put(key, page, page.size)
        if request.method == "GET":
            await self._count(request, ctx, row)
        reads = (await ctx.store.page_view_counts([row]))[row]
        return Response(page.body(reads), media_type="text/html; charset=utf-8")

    async def _source(self, ctx: PortalContext, row: int, version: str) -> NoticeSource | None:
        """The notice prepared for rendering, read and split once per version."""
        key = ("source", row, version)
        found = self._sources.get(key)
        if found is not None:
            return found

        async def build() -> NoticeSource | None:
            notice = await ctx.store.portal_notice(row)
            if notice is None:
                return None
            source = await self._off_loop.run(prepare, notice)
            self._sources.put(key, source, source.weight)
            return source

        return await self._flights.run(key, build)

    async def _build_page(
        self, ctx: PortalContext, source: NoticeSource, number: int
    ) -> CachedPage:
        found = source.notice
        now, zone = ctx.clock.now(), ctx.zone
        site = self._site(ctx)
        state = found.state(now, zone)
        _signal, colour = cap_signal(found)
        values = dict(
            current_kind=found.kind,
            n=found,
            item=_item(found, now, zone),
            kind_label=KIND_LABELS.get(found.kind, found.kind),
            body=source.before,
            body_after=source.after,
            table=table_values(source, number, f"/portal/notices/{found.id}"),
            state=state,
            state_word=STATE_WORDS.get(state),
            valid_until=found.valid_until(zone),
            issuer=str(found.fields.get("issuer") or found.fields.get("source") or ""),
            colour_class=COLOUR_CLASSES.get(colour or "", ""),
            attachments=_attachments(found.fields.get("attachments")),
            reads=Markup(READS_MARK),
            url=site.page(found.id),
            cap_url=site.cap(found.id) if found.kind == WARNING else None,
            **page_values(found, site.page, zone),  # issue 11: updated, lifted, withdrawn
            reviewers=await ctx.reviewers(found.id) if ctx.reviewers else None,  # review chain
        )
        html = await self._off_loop.run(self._render, ctx, "notice.html", values)
        return CachedPage.of(html, stale_at(found, state, zone))

    async def table_csv(self, ctx: Ctx, notice_id: str) -> Response:
        return await self._download(ctx, notice_id, "csv")

    async def table_xlsx(self, ctx: Ctx, notice_id: str) -> Response:
        return await self._download(ctx, notice_id, "xlsx")

    async def _download(self, ctx: PortalContext, notice_id: str, fmt: str) -> Response:
        """The notice's whole table as a file, built in a thread once per notice version."""
        row = _row_id(notice_id)
        version = None if row is None else await ctx.store.portal_version(row)
        source = None if row is None or version is None else await self._source(ctx, row, version)
        if row is None or source is None or not source.rows:
            return self._not_found(ctx, "这条信息没有可下载的表格")
        if is_over(ctx, source.notice):
            return ended_page(self, ctx)
        key = ("download", row, version, fmt)
        data = self._pages.get(key)
        if not isinstance(data, bytes):
            table = {"columns": source.columns, "rows": source.rows}
            title = source.notice.title

            async def make() -> bytes:
                return await self._off_loop.run(tables.export, fmt, table, title)

            data = await self._flights.run(key, make)
            self._pages.put(key, data, len(data))
        name = quote(f"{source.notice.title[:60]}.{fmt}")
        disposition = f"attachment; filename=\"notice-{row}.{fmt}\"; filename*=UTF-8''{name}"
        return Response(
            data, media_type=tables.MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition}
        )

    async def _count(self, request: Request, ctx: PortalContext, notice_id: int) -> None:
        if is_bot(request.headers.get("user-agent", ""), request.headers):
            return
        now = ctx.clock.now()
        day = local_day(now, ctx.zone)
        address = real_address(
            request.client.host if request.client else None,
            request.headers,
            self._options(ctx).trust_forwarded_for,
        )
        visitor = visitor_hash(await self._visitor_salt(ctx), day, address)
        key = (notice_id, day, visitor)
        if key in self._seen:
            return
        await ctx.store.record_page_view(notice_id, day, visitor, now)
        if len(self._seen) >= SEEN_MAX:
            self._seen.clear()
        self._seen.add(key)

    async def _visitor_salt(self, ctx: PortalContext) -> str:
        if self._salt is None:
            tokens = ctx.tokens
            found = await tokens.get(self.account, SALT_NAME)
            if found is None:
                await tokens.put(self.account, SALT_NAME, secrets.token_hex(16), None)
                found = await tokens.get(self.account, SALT_NAME)
            self._salt = found[0] if found else secrets.token_hex(16)
        return self._salt

    # -- machine-readable -----------------------------------------------------------------

    async def notice_cap(self, ctx: Ctx, notice_id: str) -> Response:
        row = _row_id(notice_id)
        found = None if row is None else await ctx.store.portal_notice(row)
        if found is None or found.kind != WARNING:
            return Response("not found\n", status_code=404, media_type="text/plain")
        alert = build_alert(
            self._cap_source(ctx), found, self._site(ctx).page(found.id), ctx.clock.now()
        )
        body = await self._off_loop.run(alert_xml, alert)
        return Response(body, media_type="application/cap+xml; charset=utf-8")

    async def _latest(self, ctx: PortalContext, kinds: list[str] | None) -> list[PortalNotice]:
        size = self._options(ctx).feed_size
        return await ctx.store.portal_notices(kinds=kinds, limit=size, scope=scope(ctx))

    async def rss(self, ctx: Ctx) -> Response:
        items = await self._latest(ctx, None)
        body = await self._off_loop.run(rss, self._site(ctx), items, ctx.clock.now())
        return Response(body, media_type="application/rss+xml; charset=utf-8")

    async def atom(self, ctx: Ctx) -> Response:
        items = await self._latest(ctx, None)
        body = await self._off_loop.run(atom, self._site(ctx), items, ctx.clock.now())
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    async def cap_feed(self, ctx: Ctx) -> Response:
        items = await self._latest(ctx, [WARNING])
        build = partial(cap_atom, self._site(ctx), self._cap_source(ctx), items, ctx.clock.now())
        body = await self._off_loop.run(build)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    async def stats(self, ctx: Ctx, ids: str = "") -> Response:
        parts = [p.strip() for p in ids.split(",") if p.strip()]
        wanted = [_row_id(p) for p in parts[:1000]]
        if None in wanted:
            return JSONResponse({"error": "ids 应为以逗号分隔的通知编号"}, status_code=400)
        counts = await ctx.store.page_view_counts([w for w in wanted if w is not None])
        return JSONResponse(
            {
                "reads": {str(k): v for k, v in counts.items()},
                "as_of": ctx.clock.now().isoformat(timespec="seconds"),
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


def _item(n: PortalNotice, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
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


def _cursor_text(n: PortalNotice) -> str:
    """A list position for a link: ``<posted_at, UTC, ISO 8601>,<notice id>``."""
    return f"{n.posted_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')},{n.id}"


def _cursor(text: str) -> PortalCursor | None:
    """The position a ``before``/``after`` parameter names, or None (absent or malformed)."""
    moment, _, notice = text.rpartition(",")
    row = _row_id(notice)
    if not moment or row is None or len(moment) > 40:
        return None
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return None if at.tzinfo is None else PortalCursor(at.astimezone(UTC), row)


def page_number(text: str) -> int | None:
    """A page number from a query string: ASCII digits, 1 to MAX_PAGE; else None.

    ``str.isdigit`` is not enough: "²" passes it and ``int`` refuses it; a 20-digit number
    overflows the database's integers once it becomes an offset.
    """
    text = text.strip() or "1"
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_PAGE)):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_PAGE else None


def _row_id(text: str) -> int | None:
    """The notice id a path names, or None: ASCII digits within a 64-bit row id."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None
