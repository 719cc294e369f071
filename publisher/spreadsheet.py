"""Text that a spreadsheet opens safely (OWASP "CSV injection").

Excel and WPS read a CSV cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR as a
formula. Text we write to CSV for people to open (the portal's table downloads, the reach
report) gets a leading apostrophe there, so it shows as the text it is and never runs.
Numbers are written as numbers and left alone: only text goes through :func:`csv_text`.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """``text``, with an apostrophe before it when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text
