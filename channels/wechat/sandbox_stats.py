"""The WeChat sandbox's datacube: reach that grows with the time since publishing.

``getarticletotaldetail`` gives running totals per day for up to 30 days (one entry per
article published in the range); ``getarticleread`` / ``getarticleshare`` give one day's
increments. Lenient on purpose: ``end_date`` may be today (the real API stops at yesterday),
so a demo with ``stats_lag_days = 0`` shows reach the same day.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from channels.wechat.sandbox_replies import day_of, day_start, fail

Article = dict[str, Any]


def totals(article: Article, until: float, reads_per_minute: float) -> dict[str, int]:
    minutes = max(0.0, until - article["published_at"]) / 60
    reads = int(minutes * reads_per_minute)
    return {
        "read_user": reads,
        "share_user": reads // 10,
        "like_user": reads // 25,
        "zaikan_user": reads // 40,
        "comment_count": reads // 60,
    }


def dates(body: Any, max_days: int) -> tuple[date, date] | dict[str, Any]:
    try:
        begin = date.fromisoformat(str(body["begin_date"]))
        end = date.fromisoformat(str(body["end_date"]))
    except (KeyError, TypeError, ValueError):
        return fail(61500)
    if begin > end or end > day_of(time.time()):
        return fail(61500)
    if (end - begin).days + 1 > max_days:
        return fail(61501)
    return begin, end


def total_detail(articles: Iterable[Article], body: Any, rate: float) -> dict[str, Any]:
    span = dates(body, max_days=30)
    if isinstance(span, dict):
        return span
    begin, end = span
    now = time.time()
    out = []
    for article in articles:
        published = day_of(article["published_at"])
        if not begin <= published <= end:
            continue
        last = min(day_of(now), published + timedelta(days=29))
        details = []
        day = published
        while day <= last:
            counts = totals(article, min(now, day_start(day + timedelta(days=1))), rate)
            source = [{"user_source": 99999999, "read_user": counts["read_user"]}]
            details.append({"stat_date": day.isoformat(), **counts, "read_user_source": source})
            day += timedelta(days=1)
        out.append(
            {
                "ref_date": published.isoformat(),
                "msgid": f"{article['msg_data_id']}_1",
                "publish_type": 0 if article["notified"] else 1,
                "detail_list": details,
            }
        )
    return {"list": out, "is_delay": False}


def daily(articles: Iterable[Article], body: Any, metric: str, rate: float) -> dict[str, Any]:
    span = dates(body, max_days=1)
    if isinstance(span, dict):
        return span
    day = span[0]
    start, stop = day_start(day), min(time.time(), day_start(day + timedelta(days=1)))
    out = []
    for article in articles:
        grown = totals(article, stop, rate)[metric] - totals(article, start, rate)[metric]
        if grown > 0:
            out.append(
                {
                    "ref_date": day.isoformat(),
                    "msgid": f"{article['msg_data_id']}_1",
                    "detail": {metric: grown},
                }
            )
    return {"list": out, "is_delay": False}


def answer(path: str, articles: Iterable[Article], body: Any, rate: float) -> dict[str, Any]:
    """The reply of the datacube endpoint at ``path``."""
    if path.endswith("/getarticletotaldetail"):
        return total_detail(articles, body, rate)
    metric = "read_user" if path.endswith("/getarticleread") else "share_user"
    return daily(articles, body, metric, rate)
