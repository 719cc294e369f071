"""Reach of posted articles from ``datacube/getarticletotaldetail`` (T+1) [S26].

``POST /datacube/getarticletotaldetail {"begin_date", "end_date"}`` lists every article
*published* in that date range; each ``detail_list`` entry holds the totals from the publish
date up to its ``stat_date`` (at most 30 days after publishing), so the latest entry is the
article's running total as of the end of that day. ``msgid`` is ``<msg_data_id>_<index>``
(``msg_data_id`` from ``freepublish/submit`` or ``mass/sendall``; we post single-article
drafts, index 1): the join key back to our delivery, kept in its ``detail`` [S26].

Dates are Beijing dates; ``end_date`` may be yesterday at the latest (``lag_days`` = 1). The
daily endpoints ``getarticleread``/``getarticleshare`` give per-day increments for one day and
are not needed for running totals; the legacy ones (``getarticletotal`` ...) are deprecated
and reported offline (47009) [S25][S28].
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from channels.wechat.api import WechatApi
from channels.wechat.errors import CHINA
from publisher.contract import AccountContext, MetricSample, PostRef

ENDPOINT = "/datacube/getarticletotaldetail"
#: our metric name -> field of a ``detail_list`` entry
FIELDS = {"reads": "read_user", "shares": "share_user", "likes": "like_user"}
SOURCE = "wechat datacube/getarticletotaldetail"
#: Datacube counts an article for 30 days after publishing; one more week lets a weekly
#: collection (publisher.metrics.schedule) take the final total once, then no call is spent.
FINAL_AFTER = timedelta(days=37)


def published_on(ref: PostRef) -> date | None:
    day = ref.detail.get("published_on")
    if isinstance(day, str):
        try:
            return date.fromisoformat(day)
        except ValueError:
            pass
    if ref.posted_at is not None:
        return ref.posted_at.astimezone(CHINA).date()
    return None


def end_of(day: date) -> datetime:
    """When a stat_date's numbers are as of: midnight after it, Beijing time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA)


async def fetch(
    ctx: AccountContext, api: WechatApi, refs: Sequence[PostRef], lag_days: int
) -> list[MetricSample]:
    last_day = ctx.clock.now().astimezone(CHINA).date() - timedelta(days=lag_days)
    by_day: dict[date, list[tuple[PostRef, str]]] = defaultdict(list)
    for ref in refs:
        msg_data_id = ref.detail.get("msg_data_id")
        day = published_on(ref)
        if msg_data_id in (None, "") or day is None or day > last_day:
            continue  # not joinable, or no numbers yet (T+1)
        if day < last_day - FINAL_AFTER:
            continue  # past the 30-day window: the last sample already holds the final total
        by_day[day].append((ref, f"{msg_data_id}_1"))
    samples: list[MetricSample] = []
    for day, wanted in sorted(by_day.items()):
        payload = {"begin_date": day.isoformat(), "end_date": day.isoformat()}
        data = await api.with_refresh(partial(api.post, ENDPOINT, payload))
        articles = {str(a.get("msgid")): a for a in data.get("list") or [] if isinstance(a, dict)}
        source = SOURCE + (" (is_delay)" if data.get("is_delay") else "")
        for ref, msgid in wanted:
            latest = _latest(articles.get(msgid), last_day)
            if latest is None:
                continue
            stat_date, entry = latest
            for metric, field in FIELDS.items():
                value = entry.get(field)
                if isinstance(value, int | float):
                    samples.append(
                        MetricSample(
                            delivery_id=ref.delivery_id,
                            metric=metric,
                            value=int(value),
                            observed_at=min(end_of(stat_date), ctx.clock.now()),
                            source=source,
                        )
                    )
    return samples


def _latest(article: Any, last_day: date) -> tuple[date, dict[str, Any]] | None:
    if not isinstance(article, dict):
        return None
    best: tuple[date, dict[str, Any]] | None = None
    for entry in article.get("detail_list") or []:
        try:
            stat_date = date.fromisoformat(str(entry.get("stat_date")))
        except (ValueError, AttributeError):
            continue
        if stat_date <= last_day and (best is None or stat_date > best[0]):
            best = (stat_date, entry)
    return best
