"""The record of a notice (drafted, reviewed, signed, released) as the CLI prints it."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import click

from publisher import labels
from publisher.review.desk import with_record

__all__ = ["print_record", "with_record"]


def print_record(record: dict[str, Any], zone: tzinfo) -> None:
    parts = [f"起草 {record['drafted_by']}"]
    for r in record["reviewed_by"]:
        parts.append(f"审核(第 {r['step']} 步) {r['actor']}")
    for r in record["signed_by"]:
        parts.append(f"签发 {r['actor']}")
    if record["released_by"]:
        parts.append(f"放行 {record['released_by']} {labels.when(record['released_at'], zone)}")
    click.echo("责任: " + "；".join(parts))
    review = record.get("review")
    if review:
        state = labels.status(review["state"])
        flag = f" [{review['flag']}]" if review["flag"] else ""
        click.echo(f"审核: {state} 第 {review['round']} 轮，{review['steps']} 步{flag}")
