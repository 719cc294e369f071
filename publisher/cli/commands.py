"""Registers every subcommand group on ``publisher``."""

from publisher.cli import deliveries, notices, ops  # noqa: F401
