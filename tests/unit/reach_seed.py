"""Seeding for the report tests: notices posted at given times, with metric samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from publisher.contract import MetricSample
from publisher.notice import parse_notice
from publisher.runtime import Runtime
from publisher.store.schema import deliveries

ACCOUNTS = {
    "portal": {"type": "portal", "display_name": "门户网站", "sandbox": True},
    "weibo": {"type": "weibo", "access_token": "t", "sandbox": True},
}


@dataclass
class Posted:
    """One notice, posted to every account at ``at``, with its samples per account."""

    body: dict[str, Any]
    at: datetime
    samples: dict[str, list[tuple[str, int, datetime]]] = field(default_factory=dict)
    actor: str = "t"


async def seed(rt: Runtime, notices: list[Posted]) -> list[dict[str, int]]:
    """Submit and mark posted; returns per notice {account: delivery id, "notice": id}."""
    out = []
    for n in notices:
        done = await rt.intake.submit(parse_notice(n.body), source="t", actor=n.actor)
        record = await rt.store.get_notice(done.notice_id)
        ids = {d.account: d.id for d in record.deliveries}
        ids["notice"] = done.notice_id
        for d in record.deliveries:
            await rt.store._tx(
                lambda c, i=d.id, at=n.at, rid=str(done.notice_id): c.execute(
                    deliveries.update()
                    .where(deliveries.c.id == i)
                    .values(status="posted", posted_at=at, remote_id=rid)
                )
            )
        await rt.store.add_metric_samples(
            [
                MetricSample(ids[account], metric, value, observed, "test")
                for account, samples in n.samples.items()
                for metric, value, observed in samples
            ]
        )
        out.append(ids)
    return out


def warning(title: str, colour: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"signal": "暴雨", "issuer": "市气象台"}
    if colour:
        fields["color"] = colour
    return {"kind": "weather_warning", "title": title, "body": "正文", "fields": fields}


def listing(kind: str, title: str, rows: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "title": title, "body": "正文"}
    if rows is not None:
        body["table"] = {
            "columns": ["决定书文号", "单位"],
            "rows": [[f"安监罚〔2025〕{i}号", f"某公司{i}"] for i in range(rows)],
        }
    return body


def general(title: str) -> dict[str, Any]:
    return {"kind": "general", "title": title, "body": "正文"}
