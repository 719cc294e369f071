"""Reach: tracked-link clicks (``/r/<code>``) and the reach report over metric samples."""
