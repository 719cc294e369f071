"""Fitting rendered content to a channel's declared limits, before anything is queued."""

from __future__ import annotations

from collections.abc import Callable

from publisher.contract import Capabilities, Limit, Overflow, Rendered
from publisher.errors import Violation
from publisher.textcut import ELLIPSIS, cut

__all__ = ["ELLIPSIS", "fit", "truncate", "violations"]


def truncate(text: str, limit: Limit) -> str:
    """Cut to the limit by the channel's measure, at a clause end (see publisher.textcut)."""
    return cut(text, limit.max, limit.measure)


def violations(account: str, rendered: Rendered, caps: Capabilities) -> list[Violation]:
    found = []
    for limit in caps.limits:
        text = rendered.parts.get(limit.part)
        if text is None:
            continue
        measured = limit.measure(text)
        if measured > limit.max:
            found.append(
                Violation(
                    account=account,
                    part=limit.part,
                    rule=f"{_fmt(measured)} {limit.unit}，超过上限 {_fmt(limit.max)} {limit.unit}",
                    measured=measured,
                    limit=limit.max,
                )
            )
    return found


def fit(
    account: str,
    rendered: Rendered,
    caps: Capabilities,
    rerender_with_summary: Callable[[], Rendered],
) -> tuple[Rendered, list[Violation]]:
    """Apply each limit's overflow rule; return what will be sent and what still breaks."""
    parts = dict(rendered.parts)
    if any(
        limit.overflow is Overflow.USE_SUMMARY
        and limit.part in parts
        and limit.measure(parts[limit.part]) > limit.max
        for limit in caps.limits
    ):
        parts = dict(rerender_with_summary().parts)
    for limit in caps.limits:
        if limit.overflow is Overflow.TRUNCATE and limit.part in parts:
            parts[limit.part] = truncate(parts[limit.part], limit)
    fitted = Rendered(format=rendered.format, parts=parts)
    return fitted, violations(account, fitted, caps)


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"
