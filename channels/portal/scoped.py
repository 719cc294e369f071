"""What the portal's lists leave out, and the pages that stand for it.

* Drills (演练, issue 11 C) are never listed among real notices: every list, the in-force
  box and the feeds read the store with :func:`scope` (real notices only), and drills have
  a page of their own, ``/portal/drills`` (:func:`drills_page`), linked from the warnings
  block of the front page. A drill's own page is reachable and says 演练.
* Display periods (issue 13): a page whose period is over (``publisher.display``) leaves the
  lists and feeds, and its address answers 410 with a short 公示期已满 page
  (:func:`ended_page`). Computed at every request from the clock, before any cached page is
  looked at, so a cached copy never outlives its period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import Response

from publisher import display
from publisher.portal import PortalContext
from publisher.store.portal import PortalNotice, PortalScope

if TYPE_CHECKING:
    from channels.portal.web import PortalSite

DRILLS_PAGES = 10  # ?page=N up to here; the drills page is a short archive of exercises


def scope(ctx: PortalContext, *, drills: bool = False) -> PortalScope:
    """Real notices (or drills only), without pages whose display period is over."""
    return PortalScope(
        drills=drills, shown_since=display.shown_since(ctx.display_periods, ctx.clock.now())
    )


def is_over(ctx: PortalContext, notice: PortalNotice) -> bool:
    """The notice's display period is over: its page answers 410."""
    return display.is_over(notice.kind, notice.posted_at, ctx.display_periods, ctx.clock.now())


def ended_page(site: PortalSite, ctx: PortalContext) -> Response:
    return site._page(ctx, "display_ended.html", status=410)


async def drills_page(site: PortalSite, ctx: PortalContext, page: str) -> Response:
    """``/portal/drills``: drills only, newest first, ``?page=N``."""
    from channels.portal.web import _item, page_number

    number = page_number(page)
    if number is None or number > DRILLS_PAGES:
        return site._not_found(ctx, "没有这一页")
    size = site._options(ctx).page_size
    where = scope(ctx, drills=True)
    found = await ctx.store.portal_page(offset=(number - 1) * size, limit=size, scope=where)
    if not found.items and number > 1:
        return site._not_found(ctx, "没有这一页")
    now, zone = ctx.clock.now(), ctx.zone
    return site._page(
        ctx,
        "drills.html",
        items=[_item(n, now, zone) for n in found.items],
        page=number,
        prev_url=f"/portal/drills?page={number - 1}" if number > 1 else None,
        next_url=f"/portal/drills?page={number + 1}"
        if found.older and number < DRILLS_PAGES
        else None,
    )
