"""The console's page framework: templates, who may open what, and the common frame.

Every page handler starts with ``session = await guard(request, "<page>")``: a visitor who is
not logged in is sent to ``/login?next=...``; a user whose roles the page's line in
``publisher.auth.permissions.PAGES`` does not name gets a 403 page. Buttons a user may not use
are not shown, but the server checks again on every POST (:func:`guard_post` also checks the
form's CSRF token).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from publisher import kinds, labels
from publisher.auth.permissions import PAGES, page_allows
from publisher.auth.roles import LABELS, Role
from publisher.console.readable import readable
from publisher.console.session import Session, current, same_token
from publisher.notice import MAX_FILE_BYTES
from publisher.store.people import AuditEntry, Source

# The navigation: (page, path, label), shown to whoever may open the page.
NAV = [
    ("home", "/", "工作台"),
    ("compose", "/compose", "撰写发布"),
    ("warnings", "/warnings", "预警"),
    ("reviews", "/reviews", "审核队列"),
    ("monitor", "/monitor", "投递监控"),
    ("calendar", "/calendar", "日程与时限"),
    ("reach", "/reach", "传播数据"),
    ("channels", "/channels", "渠道状态"),
    ("audit", "/audit", "审计日志"),
    ("users", "/users", "用户管理"),
    ("account", "/account", "修改密码"),
]

# The delivery states, in the order the monitor's filter lists them.
STATUS_LABELS = {
    code: labels.STATUS[code]
    for code in (
        "pending",
        "leased",
        "sending",
        "confirming",
        "posted",
        "retry_wait",
        "failed",
        "needs_review",
        "cancelled",
    )
}


class NotLoggedIn(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class Forbidden(Exception):
    def __init__(self, session: Session, page: str) -> None:
        self.session = session
        self.page = page


class BadForm(Exception):
    """A POST without the right CSRF token (or from another origin)."""


def environment(request: Request) -> jinja2.Environment:
    state = request.app.state
    env: jinja2.Environment | None = getattr(state, "console_env", None)
    if env is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(state.settings.templates_dir)),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        zone = state.settings.zone
        env.filters["local"] = lambda v, fmt="%Y-%m-%d %H:%M": (
            v.astimezone(zone).strftime(fmt) if isinstance(v, datetime) else "—"
        )
        env.filters["status_label"] = lambda v: labels.STATUS.get(str(v), str(v))
        env.filters["action_label"] = lambda v: labels.action(str(v))
        env.filters["metric_label"] = lambda v: labels.metric(str(v))
        env.filters["readable"] = readable  # a channel's HTML/Markdown as a reader sees it
        env.filters["kind_label"] = lambda v: kinds.label(str(v))
        env.filters["role_label"] = lambda v: LABELS.get(Role(v), v) if v in set(Role) else v
        state.console_env = env
    return env


def page(
    request: Request,
    template: str,
    session: Session | None,
    *,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``console/<template>`` inside the common frame."""
    settings = request.app.state.settings
    roles = session.roles if session else frozenset()
    nav = [(path, label) for name, path, label in NAV if session and page_allows(name, roles)]
    html = (
        environment(request)
        .get_template(f"console/{template}")
        .render(
            title=title,
            session=session,
            nav=nav,
            here=request.url.path,
            request_done=request.query_params.get("done"),
            org=settings.organization,
            csrf=session.csrf if session else context.pop("csrf", ""),
            can=lambda name: session is not None and page_allows(name, session.roles),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def fragment(request: Request, template: str, **context: Any) -> HTMLResponse:
    """Render ``console/<template>`` alone (no frame): a part of a page that console.js
    fetches and puts in place, such as the compose form's live preview."""
    html = environment(request).get_template(f"console/{template}").render(**context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def guard(request: Request, name: str) -> Session:
    """The logged-in user, if the page ``name`` allows one of their roles."""
    assert name in PAGES, f"page {name!r} has no line in permissions.PAGES"
    session = await current(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotLoggedIn(target)
    if not page_allows(name, session.roles):
        raise Forbidden(session, name)
    return session


def same_origin(request: Request) -> bool:
    """A browser's POST says where its form was; it must be this server."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def guard_post(request: Request, name: str) -> tuple[Session, Any]:
    """:func:`guard`, plus the form's CSRF token and origin. Returns (session, form)."""
    session = await guard(request, name)
    form = await request.form(max_part_size=MAX_FILE_BYTES)
    token = form.get("csrf")
    if not same_origin(request) or not same_token(
        token if isinstance(token, str) else None, session.csrf
    ):
        raise BadForm()
    return session, form


async def audit(
    request: Request,
    actor: str,
    action: str,
    *,
    notice_id: int | None = None,
    delivery_id: int | None = None,
    **detail: Any,
) -> None:
    """Append what a console user just did to the audit log: source console, their address."""
    await request.app.state.runtime.store.append_audit(
        AuditEntry(
            actor=actor,
            action=action,
            source=Source.CONSOLE,
            notice_id=notice_id,
            delivery_id=delivery_id,
            client=request.client.host if request.client else None,
            detail=detail,
        )
    )


def missing(request: Request, session: Session, what: str, title: str = "没有找到") -> HTMLResponse:
    """The 404 page of the console: what was asked for is not there."""
    return page(request, "missing.html", session, title=title, status_code=404, what=what)


def login_redirect(path: str) -> str:
    return "/login?next=" + quote(path, safe="/")


def safe_next(value: str | None) -> str:
    """Only a path on this server (never ``//host`` or ``https://...``): an open redirect
    after login would hand a phishing page our login's trust."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
