"""Registers every subcommand group on ``publisher``."""

from publisher.cli import audit, deliveries, notices, obligations, ops, reach, users  # noqa: F401
