"""Registers every subcommand group on ``publisher``."""

from publisher.cli import audit, deliveries, notices, obligations, ops, users  # noqa: F401
