"""The crash test with the real channel adapters: ``kill -9`` mid-delivery, nothing lost or twice.

A long-lived ``publisher sandbox`` process stands in for the CMS behind the portal, Weibo,
WeChat and WeCom; it is separate from ``publisher serve``, so what it received survives every
kill. N notices, each to one portal, one Weibo, one WeChat and one OA (WeCom app) account, are
submitted through the HTTP API (re-sent with the same notice key until the server answers)
while ``serve`` is killed with SIGKILL several times and restarted (leases of 2 s).

Every channel account keeps its declared rate limit, which the core enforces across restarts:
Weibo allows 30 posts an hour, WeChat 10 a minute, so the notices are spread over as many
accounts of each type as keep every account inside one window (the sandbox tells accounts
apart by token / appid / corpid). Titles are unique, so Weibo's "repeat content" rule never
fires by accident, and the kinds are routine ones (WeChat's one mass send a day is for
warnings; ``mass_send`` is off anyway).

At the end, for every platform: each notice arrived at most once (0 duplicates); every
delivery is ``posted`` and its post is on the platform (0 lost) — except on a channel that
declares no idempotency (Weibo), where a delivery whose attempt was in flight (``sending``) at
a kill goes to a person as ``needs_review``: those are counted, checked against the kill
snapshots, and reported.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from publisher.clock import SystemClock
from publisher.contract import Capabilities, Idempotency
from publisher.registry import Channels
from publisher.settings import Settings

from .channel_procs import Sandboxes
from .procs import Server, Submitter, Workspace, free_port, http

pytestmark = pytest.mark.slow

NOTICES = 100
KILLS = 6
LATENCY_MS = 100  # network time at every platform, so kills land mid-request too
HEADROOM = 2  # sends per account kept free of the rate window, for retries
FINAL = {"posted", "needs_review", "failed", "cancelled"}


def account_options(kind: str, n: int, sandbox: str) -> dict[str, Any]:
    """Options of the n-th account of a channel type, pointed at the sandbox process."""
    if kind == "portal":
        return {
            "type": "portal",
            "sandbox": True,
            "cms_url": f"{sandbox}/portal/api/articles",
            "cms_lookup_url": f"{sandbox}/portal/api/articles/by-key/{{key}}",
            "cms_auth_header": "Bearer sandbox-cms-token",
            "cms_id_path": "data.id",
            "cms_url_path": "data.url",
        }
    if kind == "weibo":
        return {
            "type": "weibo",
            "sandbox": True,
            "access_token": f"sandbox-weibo-token-{n}",
            "api_base": f"{sandbox}/weibo",
            "web_base": f"{sandbox}/weibo/web",
        }
    if kind == "wechat":
        return {
            "type": "wechat",
            "sandbox": True,
            "appid": f"wxsandbox{n:010d}",
            "secret": f"sandbox-wechat-secret-{n}",
            "author": "市应急管理局",
            "api_base": f"{sandbox}/wechat",
            "mass_send": False,
            "stats_lag_days": 0,
            # After a kill between the submit marker and WeChat's answer, lookup waits this long
            # for a submit still in flight before submitting the same draft again (600 s by
            # default, for the real network). Here the network is loopback and the sandbox's
            # jobs finish in 2 s.
            "reconcile_wait_seconds": 6,
        }
    assert kind == "oa"
    return {
        "type": "wecom_app",
        "sandbox": True,
        "corpid": f"wwsandbox{n:08d}",
        "corpsecret": f"sandbox-wecom-secret-{n}",
        "agentid": 1000002,
        "api_base": f"{sandbox}/wecom_app",
    }


def declared(accounts: dict[str, dict[str, Any]]) -> dict[str, Capabilities]:
    """What each account declares, read from the adapters themselves."""
    channels = Channels(Settings(accounts=accounts, _env_file=None), SystemClock(), None)
    try:
        return {account.name: account.capabilities for account in channels}
    finally:
        asyncio.run(channels.aclose())


def accounts_needed(caps: Capabilities) -> int:
    """How many accounts of a type keep each one's share of the notices inside one window."""
    if caps.rate_limit is None:
        return 1
    return math.ceil(NOTICES / max(1, caps.rate_limit.count - HEADROOM))


def to_toml(accounts: dict[str, dict[str, Any]]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "\n".join(
        f"[accounts.{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in options.items())
        for name, options in accounts.items()
    )


def notice(n: int, targets: list[str]) -> dict[str, Any]:
    """A routine notice with a unique title and text (never Weibo's "repeat content")."""
    number = f"第{n + 1:03d}号"
    kind = ("general", "accident_report", "penalty_disclosure")[n % 3]
    data: dict[str, Any] = {
        "kind": kind,
        "idempotency_key": f"channels-crash-{n}",
        "channels": targets,
        "title": {
            "general": f"安全生产检查情况通报（{number}）",
            "accident_report": f"一起叉车伤害事故的通报（{number}）",
            "penalty_disclosure": f"行政处罚决定公开（{number}）",
        }[kind],
        "body": f"各有关单位：现将{number}通报内容印发给你们，请结合实际认真贯彻落实。",
    }
    if kind == "penalty_disclosure":
        data["table"] = {
            "columns": ["企业名称", "违法事实", "处罚依据", "处罚决定", "决定日期", "执法证号"],
            "rows": [
                [
                    f"东港仓储有限公司{number}",
                    "未按规定如实记录安全生产教育和培训情况",
                    "《中华人民共和国安全生产法》第九十七条第四项",
                    "罚款人民币一万元",
                    "2026-09-18",
                    "31010023011、31010023027",
                ]
            ],
        }
    return data


@dataclass
class Kill:
    at: float
    states: dict[str, int]
    sending: set[int]  # deliveries whose attempt was committed as under way


def snapshot(ws: Workspace, started: float) -> Kill:
    states = dict(ws.query("SELECT status, count(*) FROM deliveries GROUP BY status"))
    sending = {row[0] for row in ws.query("SELECT id FROM deliveries WHERE status = 'sending'")}
    return Kill(round(time.monotonic() - started, 1), states, sending)


def test_kill_9_during_delivery_to_the_four_channels_loses_nothing_posts_nothing_twice(
    workspace: Workspace,
) -> None:
    rng = random.Random()
    started = time.monotonic()
    sink = workspace.sandbox()
    root = f"http://127.0.0.1:{sink.port}"
    platforms = Sandboxes(root)
    for channel in ("portal", "weibo", "wechat", "wecom_app"):
        platforms.faults(channel, latency_ms=LATENCY_MS)

    # -- accounts: as many of each type as its declared rate limit needs ------------------------
    kinds = ("portal", "weibo", "wechat", "oa")
    probe = declared({k: account_options(k, 1, root) for k in kinds})
    names: dict[str, list[str]] = {
        kind: [f"{kind}_{i}" for i in range(1, accounts_needed(probe[kind]) + 1)] for kind in kinds
    }
    accounts = {
        name: account_options(kind, i, root)
        for kind in kinds
        for i, name in enumerate(names[kind], start=1)
    }
    caps = declared(accounts)
    type_of = {name: options["type"] for name, options in accounts.items()}
    unaskable = {name for name, c in caps.items() if c.idempotency is Idempotency.NONE}
    workspace.config(to_toml(accounts))
    workspace.env["PUBLISHER_LEASE_SECONDS"] = "2"
    workspace.env["PUBLISHER_METRICS_INTERVAL"] = "0"
    port = free_port()
    workspace.env["PUBLISHER_PORT"] = str(port)

    notices = [
        notice(n, [names[kind][n % len(names[kind])] for kind in kinds]) for n in range(NOTICES)
    ]
    server = workspace.serve(port, name="serve-0")
    submitter = Submitter(server.url, notices, deadline=time.monotonic() + 120)
    submitter.start()

    # -- kill -9 while deliveries are under way, restart each time ---------------------------
    kills: list[Kill] = []
    for k in range(KILLS):
        time.sleep(rng.uniform(0.5, 1.5))
        assert server.proc.alive(), server.proc.log()
        server.proc.kill()
        kills.append(snapshot(workspace, started))
        server = Server(workspace.start(f"serve-{k + 1}", "serve", "--port", str(port)), port)
        server.proc.wait_http(f"{server.url}/healthz", timeout=60)
    submitter.join(timeout=120)
    assert not submitter.is_alive(), "submitting did not finish"
    if submitter.error is not None:
        raise submitter.error

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        states = dict(workspace.query("SELECT status, count(*) FROM deliveries GROUP BY status"))
        if set(states) <= FINAL and sum(states.values()) == NOTICES * len(kinds):
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started

    # -- what we recorded ------------------------------------------------------------------------
    assert workspace.query("SELECT count(*) FROM notices") == [(NOTICES,)]  # no notice twice
    assert len(set(submitter.ids.values())) == NOTICES
    rows = workspace.query(
        "SELECT d.id, d.notice_id, d.account, d.status, d.remote_id, d.url, d.detail, d.error "
        "FROM deliveries d"
    )
    assert len(rows) == NOTICES * len(kinds)
    in_flight = set().union(*(k.sending for k in kills))
    review = {r[0] for r in rows if r[3] == "needs_review"}
    wrong = [r for r in rows if r[3] not in ("posted", "needs_review")]
    assert not wrong, f"deliveries neither posted nor sent to review: {wrong[:5]}"
    # a person is asked only where the channel cannot be, and only about an attempt a kill cut
    bad_review = [
        r for r in rows if r[0] in review and (r[2] not in unaskable or r[0] not in in_flight)
    ]
    assert not bad_review, (bad_review[:5], [k.states for k in kills])

    # -- what each platform holds ------------------------------------------------------------
    by_type: dict[str, list[tuple[int | None, dict[str, Any]]]] = {
        "portal": platforms.cms(),
        "weibo": platforms.weibo(),
        "wechat": platforms.wechat_articles(),
        "wecom_app": platforms.wecom(),
    }
    report: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    for channel, posts in by_type.items():
        per_notice = Counter(nid for nid, _ in posts)
        twice = {nid: n for nid, n in per_notice.items() if n > 1}
        unknown = per_notice.get(None, 0)
        mine = [r for r in rows if type_of[r[2]] == channel]
        posted = [r for r in mine if r[3] == "posted"]
        reviewed = [r for r in mine if r[3] == "needs_review"]
        lost = [r for r in posted if per_notice.get(r[1], 0) == 0]
        arrived_review = sum(1 for r in reviewed if per_notice.get(r[1], 0))
        report[channel] = {
            "posted": len(posted),
            "needs_review": len(reviewed),
            "needs_review_arrived": arrived_review,
            "duplicates": sum(n - 1 for n in twice.values()),
            "lost": len(lost),
        }
        if twice:
            problems.append(f"{channel}: notices posted more than once: {twice}")
        if unknown:
            problems.append(f"{channel}: {unknown} posts that carry no notice link")
        if lost:
            problems.append(f"{channel}: posted but not on the platform: {lost[:5]}")
        extra = set(per_notice) - {r[1] for r in mine}
        if extra:
            problems.append(f"{channel}: posts for notices never sent there: {extra}")
        posts_of = {nid: post for nid, post in posts}
        for _, nid, _, _, remote_id, url, _, _ in posted:
            post = posts_of.get(nid)
            if post is None:
                continue
            if channel == "weibo" and remote_id is not None and remote_id != post["idstr"]:
                problems.append(f"weibo: notice {nid} recorded as {remote_id}, is {post['idstr']}")
            if channel == "wecom_app" and remote_id != post["msgid"]:
                problems.append(f"wecom: notice {nid} recorded as {remote_id}, is {post['msgid']}")
            if channel == "wechat" and url is not None and url != post["url"]:
                problems.append(f"wechat: notice {nid} recorded at {url}, is at {post['url']}")

    # how recovery went: deliveries caught in flight were reconciled (looked up, or re-sent
    # under a key the platform honours), never blindly re-posted
    recovered: Counter[tuple[str, str]] = Counter()
    for account, action, count in workspace.query(
        "SELECT d.account, e.action, count(*) FROM events e JOIN deliveries d "
        "ON e.delivery_id = d.id WHERE e.action IN ('reconcile', 'reconciled', 'needs_review') "
        "GROUP BY d.account, e.action"
    ):
        recovered[(type_of[account], action)] += count
    for channel, numbers in report.items():
        numbers["reconciled"] = recovered[(channel, "reconciled")]
        numbers["reconcile_attempts"] = recovered[(channel, "reconcile")]
    report["wecom_app"]["repeats_held_back"] = sum(
        1 for post in platforms.get("wecom_app")["posts"] if post.get("duplicate")
    )

    print(
        f"\nchannel crash: {NOTICES} notices x {len(kinds)} channels "
        f"({', '.join(f'{k} {len(v)}' for k, v in names.items())} accounts) in {elapsed:.1f} s; "
        f"{KILLS} kills at {[k.at for k in kills]} s, deliveries in flight at each: "
        f"{[k.states for k in kills]}; notice submits re-sent: {submitter.resent}"
    )
    for channel, numbers in report.items():
        print(f"  {channel:10s} {numbers}")
    assert not problems, "\n".join(problems)

    # the kills did land during delivery
    busy = [k for k in kills if k.states.get("sending", 0) + k.states.get("leased", 0)]
    assert len(busy) >= KILLS // 2, [k.states for k in kills]
    assert sum(n for (_, action), n in recovered.items() if action == "reconcile") > 0
    with http() as client:
        assert client.get(f"{server.url}/healthz").status_code == 200
