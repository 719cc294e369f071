"""What the core hands the portal's web pages: a typed context, as adapters get AccountContext.

The portal's routes are built when the web app is (maybe before the runtime exists), so the
runtime puts its :class:`PortalContext` on the app when it starts and every handler receives
it as a FastAPI dependency (:func:`portal_context`); no handler reaches the runtime itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import BaseModel

from publisher.contract import Clock, TokenStore
from publisher.store.portal import PortalReads


@dataclass(frozen=True)
class PortalContext:
    """Everything the portal's pages may touch."""

    store: PortalReads  # live notices and page views
    tokens: TokenStore  # the visitor-hash salt is kept as a credential
    clock: Clock
    public_base_url: str  # where pages link to themselves (feeds, CAP, canonical URLs)
    zone: ZoneInfo  # local time for dates shown and days counted
    templates_dir: Path  # pages come from ``templates/portal/pages`` under it
    options: Mapping[str, BaseModel]  # each portal account's validated options, by account
    # review chain: 责任编辑 / 审核 / 签发 of a notice, when portal_show_reviewers is on
    reviewers: Callable[[int], Awaitable[Mapping[str, str] | None]] | None = None
    # display periods (issue 13): days a kind's page stays public (settings.display_periods)
    display_periods: Mapping[str, int] = field(default_factory=dict)


class PortalNotReady(RuntimeError):
    """A portal page was asked for before the runtime started (never in ``publisher serve``)."""


def portal_context(request: Request) -> PortalContext:
    """The context the runtime gave this web app (a FastAPI dependency)."""
    context = getattr(request.app.state, "portal", None)
    if not isinstance(context, PortalContext):
        raise PortalNotReady("the portal's pages are served only by a started publisher app")
    return context
