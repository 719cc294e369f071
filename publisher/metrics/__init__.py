"""Reach: metric samples collected from every channel, as an append-only time series."""
