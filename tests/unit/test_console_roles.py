"""Every console page with every role: exactly the roles its line in permissions.PAGES names
get in; the others get 403, whatever the navigation shows. Checked on the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_helpers import console
from test_permissions import _walk

from publisher.auth.permissions import PAGES
from publisher.auth.roles import Role

# page -> (method, path) of one request that opens or uses it
REQUESTS = {
    "home": ("GET", "/"),
    "monitor": ("GET", "/monitor"),
    "notice": ("GET", "/notices/1"),
    "deliveries_act": ("POST", "/deliveries/999999/retry"),
    "compose": ("GET", "/compose/weather_warning"),
    "channels": ("GET", "/channels"),
    "audit": ("GET", "/audit"),
    "users": ("GET", "/users"),
    "account": ("GET", "/account"),
    "reviews": ("GET", "/reviews"),
    "warnings": ("GET", "/warnings"),
    "lifecycle_act": ("POST", "/notices/999999/lift"),
    "reach": ("GET", "/reach"),
    "calendar": ("GET", "/calendar"),
    "schedules_act": ("POST", "/calendar/schedules/no-such-schedule/run"),
}
# console routes and the page whose line guards them
ROUTES = {
    "/": "home",
    "/monitor": "monitor",
    "/notices/{notice_id}": "notice",
    "/deliveries/{delivery_id}/{action}": "deliveries_act",
    "/compose": "compose",
    "/compose/{kind}": "compose",
    "/compose/{kind}/preview": "compose",
    "/channels": "channels",
    "/channels/check": "channels",
    "/audit": "audit",
    "/users": "users",
    "/users/{name}/disable": "users",
    "/account": "account",
    "/reviews": "reviews",
    "/reviews/{notice_id}/{decision}": "reviews",
    "/warnings": "warnings",
    "/warnings/cap": "compose",
    "/notices/{notice_id}/lift": "lifecycle_act",
    "/notices/{notice_id}/withdraw": "lifecycle_act",
    "/notices/{notice_id}/update": "lifecycle_act",
    "/notices/{notice_id}/update/preview": "lifecycle_act",
    "/reach": "reach",
    "/reach/chart/{chart}.svg": "reach",
    "/reach/export": "reach",
    "/reach/annual": "reach",
    "/calendar": "calendar",
    "/calendar/schedules": "calendar",  # GET lists; POST adds (schedules_act)
    "/calendar/schedules/{name}/{action}": "schedules_act",
    "/calendar/schedules/{name}/data": "schedules_act",
}
PUBLIC = {"/login", "/logout", "/console/static/{name}"}


def test_every_page_has_a_line_and_a_request() -> None:
    assert set(REQUESTS) == set(PAGES)


async def test_every_console_route_is_known(tmp_path: Path) -> None:
    async with console(tmp_path) as c:
        paths = {
            path
            for path, r in _walk(c.app.routes)
            if r.endpoint.__module__.startswith("publisher.console")
        }
        assert paths - PUBLIC == set(ROUTES), "a console route without a line here"


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_opens_exactly_its_pages(tmp_path: Path, role: Role) -> None:
    async with console(tmp_path) as c:
        await c.add_user("someone", role)
        await c.login("someone")
        token = await c.csrf("/account")
        opened = set()
        for name, (method, path) in REQUESTS.items():
            if method == "GET":
                answer = await c.http.get(path)
            else:
                answer = await c.http.post(path, data={"csrf": token, "back": "/"})
            assert answer.status_code != 303, (name, "sent to login")
            if answer.status_code != 403:
                opened.add(name)
        allowed = {name for name, roles in PAGES.items() if role in roles}
        assert opened == allowed
        home = await c.http.get("/")
        for name, path, _label in [
            ("compose", "/compose", ""),
            ("users", "/users", ""),
            ("audit", "/audit", ""),
        ]:
            shown = f'href="{path}"' in home.text
            assert shown == (name in allowed), (role, name)
