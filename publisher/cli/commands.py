"""Registers every subcommand group on ``publisher``."""

from publisher.cli import deliveries, notices, obligations, ops, warn  # noqa: F401
