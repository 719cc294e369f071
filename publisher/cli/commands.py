"""Registers every subcommand group on ``publisher``."""

from publisher.cli import check, deliveries, notices, ops  # noqa: F401
