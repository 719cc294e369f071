"""The notice kinds: the one place that names them.

Everything else (input checking, settings, rendering, the portal's categories, channels)
asks this module instead of spelling a kind's name.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    WEATHER_WARNING = "weather_warning"
    APPROVAL_LIST = "approval_list"
    PENALTY_DISCLOSURE = "penalty_disclosure"
    ACCIDENT_REPORT = "accident_report"
    BUDGET_DISCLOSURE = "budget_disclosure"
    GENERAL = "general"
