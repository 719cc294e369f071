"""Registers every subcommand group on ``publisher``."""

from publisher.cli import check, deliveries, notices, obligations, ops  # noqa: F401
