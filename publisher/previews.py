"""What each channel account would receive for a notice, with its measured lengths and every
rule it breaks: ``publisher preview`` prints it, the console's compose page shows it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from publisher.notice import NoticeInput
from publisher.queue.intake import Intake
from publisher.registry import Account


def number(value: float) -> int | float:
    """A measure as people write it: 128, 1048575, 11.5 (never 1.04858e+06)."""
    return int(value) if float(value).is_integer() else round(value, 1)


def preview_items(
    intake: Intake, notice: NoticeInput, targets: Sequence[Account] | None = None
) -> list[dict[str, Any]]:
    """One item per target account (default: the notice's own route), PII guard applied as
    at intake: channel, type, format, rendered parts, lengths against each limit, violations."""
    checked = intake.guard_pii(notice)
    accounts = list(targets) if targets else intake.targets(checked)
    out = []
    for account in accounts:
        p = intake.preview(checked, account)
        # every declared limit (a part may have two: WeChat's body in 字 and in 字节)
        lengths = [
            {
                "part": limit.part,
                "measured": number(limit.measure(p.rendered.parts.get(limit.part, ""))),
                "limit": number(limit.max),
                "unit": limit.unit,
            }
            for limit in account.capabilities.limits
        ]
        out.append(
            {
                "channel": p.account,
                "type": p.channel,
                "format": p.rendered.format.value,
                "parts": dict(p.rendered.parts),
                "lengths": lengths,
                "violations": [str(v) for v in p.violations],
            }
        )
    return out
