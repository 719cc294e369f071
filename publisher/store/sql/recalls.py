"""A claimed withdrawal carries its account's post of the original (``OutgoingPost.recall``),
so the adapter may delete or recall it instead of posting a correction."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from publisher.store.records import Claimed
from publisher.store.schema import deliveries
from publisher.store.sql.rows import delivery_record

D = deliveries.c


def attach_recalls(conn: Connection, claimed: Sequence[Claimed]) -> list[Claimed]:
    """Each claimed withdrawal with its account's post of the original (``recall``)."""
    out = list(claimed)
    for i, c in enumerate(out):
        follows = c.notice.follows
        if not follows or follows.get("relation") != "withdraws":
            continue
        row = conn.execute(
            select(deliveries)
            .where(
                D.notice_id == int(follows["notice_id"]),
                D.account == c.delivery.account,
                D.posted_at.is_not(None),
            )
            .order_by(D.id)
            .limit(1)
        ).first()
        if row is not None:
            out[i] = dataclasses.replace(c, recall=delivery_record(row).as_ref())
    return out
