"""Registers every subcommand group on ``publisher``."""

from publisher.cli import (  # noqa: F401
    audit,
    check,
    deliveries,
    notices,
    obligations,
    ops,
    reach,
    review,  # review chain
    users,
    warn,
)
