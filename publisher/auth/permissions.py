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
_OBLIGATION_EDITORS = frozenset({Role.ADMIN, Role.SIGNER})  # who owes what: the leadership
# review chain: who may take part in reviews at all (comms_officer only reads reach)
_DECIDERS = ALL_ROLES - {Role.COMMS_OFFICER}

ROUTES: dict[str, frozenset[Role]] = {
    "submit_notice": _WRITERS,
    "submit_warning": _WRITERS,  # CAP 1.2 (publisher/web/warnings.py)
    "show_notice": _READERS,  # with its reach (comms_officer reads it here)
    "list_deliveries": _READERS,
    "retry_delivery": _WRITERS,
    "cancel_delivery": _WRITERS,
    "reach": _READERS,  # the reach report: comms_officer's, and every reader's
    "notice_readers": _READERS,  # reach: who read an OA warning (issue 14)
    "reach_collection": _READERS,  # reach: collection health per account (issue 14)
    # recurring schedules (publisher/web/schedules.py)
    "list_schedules": _READERS,
    "add_schedule": _WRITERS,
    "remove_schedule": _WRITERS,
    "run_schedule": _WRITERS,
    "upload_schedule_data": _WRITERS,
    # issue 11, lifecycle: follow-ups of a published notice (publisher/web/lifecycle.py)
    "update_notice": _WRITERS,
    "lift_notice": _WRITERS,
    "withdraw_notice": _WRITERS,
    "delete_notice": _WRITERS,  # DELETE /api/notices/{id}: a withdrawal
    # obligations and freshness (issue 13; publisher/web/obligations.py)
    "list_obligations": _READERS,
    "obligations_summary": _READERS,
    "show_obligation": _READERS,
    "add_obligation": _OBLIGATION_EDITORS,
    "replace_obligation": _OBLIGATION_EDITORS,
    "delete_obligation": _OBLIGATION_EDITORS,
    "freshness": _READERS,
    # review chain: the step's own role (or names) is checked per notice (publisher/review)
    "list_reviews": _DECIDERS,
    "approve_notice": _DECIDERS,
    "reject_notice": _DECIDERS,
    "resubmit_notice": _WRITERS,
    # reports: the annual open-government report and the reach charts (publisher/web/reports.py)
    "annual_report": _READERS,
    "reach_chart_svg": _READERS,
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
    # recurring schedules (publisher/cli/schedules.py); schedule list reads
    "schedule add": _WRITERS,
    "schedule remove": _WRITERS,
    "schedule run-now": _WRITERS,
    # issue 11, lifecycle: follow-ups of a published notice (publisher/cli/lifecycle.py)
    "notice update": _WRITERS,
    "notice lift": _WRITERS,
    "notice withdraw": _WRITERS,
    # review chain
    "user oa-id": _ADMINS,
    "review approve": _DECIDERS,
    "review reject": _DECIDERS,
    "review resubmit": _WRITERS,
    "obligations remind": _OBLIGATION_EDITORS,  # issue 13: sends reminders now
}
# (report reach, reach collect and reach readers read or refresh figures: open to whoever
# runs publisher.)

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
    "reviews": _READERS,  # the review queue: what awaits me, and my own under review
    "warnings": _READERS,  # the warnings in force
    "lifecycle_act": _WRITERS,  # update, lift, withdraw a notice
    "reach": _READERS,  # the reach dashboard, exports and the annual report
    "calendar": _READERS,  # schedules and obligations by month
    # console calendar: add, remove, run now, upload data (the API's schedule lines)
    "schedules_act": _WRITERS,
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
