"""Registers every subcommand group on ``publisher``."""

from publisher.cli import (  # noqa: F401
    audit,
    check,
    deliveries,
    lifecycle,  # issue 11: notice update|lift|withdraw
    notices,
    obligation_views,  # obligations list/summary/remind, freshness (issue 13)
    obligations,
    ops,
    reach,
    readers,  # reach readers (issue 14)
    review,  # review chain
    schedules,  # recurring schedules
    users,
    warn,
)
