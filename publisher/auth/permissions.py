"""Who may do what: the one table of roles per API route and per CLI command.

Every ``/api`` route is listed here by its route name (the function's name in
``publisher/web/api.py``); a route missing from the table is refused to everyone but the
service token, and ``tests/unit/test_permissions.py`` walks every route of the app with every
role, so adding a route without a line here fails the tests.

``admin`` may do everything. The service token (``PUBLISHER_API_TOKEN``) acts as an admin.
"""

from __future__ import annotations

from publisher.auth.roles import ALL_ROLES, Role

_WRITERS = frozenset({Role.ADMIN, Role.DUTY_OFFICER, Role.EDITOR})
_READERS = ALL_ROLES
_ADMINS = frozenset({Role.ADMIN})

ROUTES: dict[str, frozenset[Role]] = {
    "submit_notice": _WRITERS,
    "submit_warning": _WRITERS,  # CAP 1.2 (publisher/web/warnings.py)
    "show_notice": _READERS,  # with its reach (comms_officer reads it here)
    "list_deliveries": _READERS,
    "retry_delivery": _WRITERS,
    "cancel_delivery": _WRITERS,
    "reach": _READERS,  # the reach report: comms_officer's, and every reader's
}

# CLI commands that act, by their path. Reading commands (notice show, deliveries list,
# preview, doctor, ...) work for whoever can run publisher on the server.
COMMANDS: dict[str, frozenset[Role]] = {
    "notice submit": _WRITERS,
    "warn": _WRITERS,
    "deliveries retry": _WRITERS,
    "deliveries cancel": _WRITERS,
    "user add": _ADMINS,
    "user list": _ADMINS,
    "user disable": _ADMINS,
    "user token": _ADMINS,
    "audit": _ADMINS,
}
# (report reach and reach collect read or refresh figures: open to whoever runs publisher.)

# Console pages (publisher/console), by page name. Each page checks this on the server; the
# navigation only shows what the table allows, but hiding a link is never the check.
# tests/web/test_console_roles.py walks every page with every role.
PAGES: dict[str, frozenset[Role]] = {
    "home": _READERS,
    "monitor": _READERS,
    "notice": _READERS,
    "deliveries_act": _WRITERS,  # retry and cancel from the monitor
    "compose": _WRITERS,
    "channels": frozenset({Role.ADMIN, Role.DUTY_OFFICER}),
    "audit": _ADMINS,
    "users": _ADMINS,
    "account": _READERS,  # one's own password
}


def route_allows(route: str, roles: frozenset[Role] | set[Role]) -> bool:
    """Whether a caller holding ``roles`` may call the API route named ``route``."""
    return bool(ROUTES.get(route, frozenset()) & set(roles))


def page_allows(page: str, roles: frozenset[Role] | set[Role]) -> bool:
    """Whether a user holding ``roles`` may open the console page named ``page``."""
    return bool(PAGES.get(page, frozenset()) & set(roles))


def command_allows(command: str, roles: frozenset[Role] | set[Role]) -> bool:
    """Whether a user holding ``roles`` may run the CLI command ``command``."""
    return bool(COMMANDS.get(command, frozenset()) & set(roles))
