"""Registers every subcommand group on ``publisher``."""

from publisher.cli import (  # noqa: F401
    audit,
    check,
    deliveries,
    notices,
    obligation_views,  # obligations list/summary/remind, freshness (issue 13)
    obligations,
    ops,
    reach,
    users,
    warn,
)
