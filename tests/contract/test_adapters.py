"""The channel contract (``publisher/contract.py``), checked on every installed adapter type.

One body, parametrized over whatever ``publisher.registry.adapter_types()`` finds through the
``publisher.channels`` entry points, so a new channel is checked the day it is registered.

Accounts are built from ``Options.example_options()`` when the adapter offers it (a classmethod
returning a dict or an Options instance); otherwise from guessed minimal options (secrets get
a marker value, ``*url*``/``*base*``/``*hook*`` strings a loopback URL, other strings "test",
integers a number). An adapter whose options cannot be built that way is skipped with the
reason, never silently. All HTTP is answered by respx: nothing leaves this machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import types
import typing
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from fastapi import APIRouter
from helpers import FakeTokens, context
from pydantic import BaseModel, SecretStr, ValidationError

from publisher.clock import SystemClock
from publisher.contract import (
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Format,
    Idempotency,
    NoticeView,
    OutgoingPost,
    Overflow,
    PublishMode,
    Rendered,
)
from publisher.errors import ChannelError, OutcomeUnknown, TransientError
from publisher.notice import parse_notice
from publisher.queue.intake import Intake
from publisher.registry import Account, adapter_types
from publisher.render import Renderer
from publisher.settings import REPO_ROOT, Settings

TYPES = sorted(adapter_types().items())
SECRET_MARK = "sEcReT-marker-7f3a9c"
SECRET_NAME = re.compile(r"secret|token|key|password|passwd", re.IGNORECASE)
# Identifiers that match SECRET_NAME but are public by design. Weibo's ``app_key`` is the
# OAuth client_id: it appears in every authorize URL (its secret is the App Secret).
# DingTalk's ``appkey`` (dingtalk_app) is likewise the app's public id; its secret is appsecret.
PUBLIC_IDENTIFIERS = {"app_key", "appkey"}
BASE_URL = "http://127.0.0.1:9"


@pytest.fixture(params=[cls for _, cls in TYPES], ids=[name for name, _ in TYPES])
def adapter_type(request: pytest.FixtureRequest) -> type[ChannelAdapter]:
    cls: type[ChannelAdapter] = request.param
    return cls


def test_some_adapter_is_installed() -> None:
    assert "webhook" in adapter_types()  # the one the core ships; others come and go


# -- building an account ---------------------------------------------------------------------


def _is(annotation: Any, kind: type) -> bool:
    if annotation is kind:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return kind in typing.get_args(annotation)
    return False


def _guess(name: str, annotation: Any) -> Any:
    if _is(annotation, SecretStr):
        return SECRET_MARK
    if _is(annotation, str):
        if any(w in name for w in ("url", "base", "hook", "endpoint")):
            return f"{BASE_URL}/{name}"
        return "test"
    if _is(annotation, int):
        return 1000002
    raise LookupError(f"cannot guess a value for required option {name!r} ({annotation})")


def example_options(name: str, cls: type[ChannelAdapter]) -> AccountOptions:
    """Options for a test account of this type, or skip with the reason."""
    example = getattr(cls, "example_options", None)
    try:
        if example is not None:
            value = example()
            if isinstance(value, AccountOptions):
                return value
            return cls.Options.model_validate({"type": name, **dict(value)})
        required: dict[str, Any] = {"type": name}
        optional: dict[str, Any] = {}
        for field, info in cls.Options.model_fields.items():
            if info.is_required() and field not in required:
                required[field] = _guess(field, info.annotation)
            elif _is(info.annotation, SecretStr):
                optional[field] = SECRET_MARK  # optional secrets must not print either
        # Richest first: optional secrets set, a sandbox account; respx answers every request
        # anyway, so a non-sandbox account never reaches a real channel either.
        tries = [
            {**required, **optional, "sandbox": True},
            {**required, **optional},
            {**required, "sandbox": True},
            required,
        ]
        for data in tries[:-1]:
            try:
                return cls.Options.model_validate(data)
            except ValidationError:
                continue
        return cls.Options.model_validate(tries[-1])
    except (LookupError, ValidationError) as exc:
        pytest.skip(
            f"{name}: cannot build test options ({str(exc).splitlines()[0]}); "
            "add a classmethod example_options() to the adapter"
        )


def build(cls: type[ChannelAdapter], http: httpx.AsyncClient | None = None) -> ChannelAdapter:
    name = next(n for n, c in TYPES if c is cls)
    options = example_options(name, cls)
    return cls(
        context(
            f"test-{name}",
            options,
            SystemClock(),
            http=http,
            tokens=FakeTokens(),
            base_url=BASE_URL,
        )
    )


def outgoing(adapter: ChannelAdapter) -> OutgoingPost:
    caps = adapter.capabilities
    notice = NoticeView(
        id=7,
        kind="general",
        title="关于开展安全生产大检查的通知",
        body="各有关单位：请于本月底前完成自查。",
        summary="请于月底前完成自查。",
        table=None,
        fields={},
        urgent=False,
        publish_at=None,
        created_at=datetime(2026, 7, 1, 6, 0, tzinfo=UTC),
    )
    parts = {part: f"{notice.title}" if part == "title" else notice.body for part in caps.parts}
    return OutgoingPost(
        delivery_id=70,
        account=adapter.ctx.account,
        idempotency_key="contract-key-0001",
        notice=notice,
        rendered=Rendered(caps.formats[0], parts),
        attempt=1,
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


# -- declared data ---------------------------------------------------------------------------


def test_registered_under_its_own_type_name(adapter_type: type[ChannelAdapter]) -> None:
    names = [n for n, c in TYPES if c is adapter_type]
    # Accounts say ``type: <entry point name>``; templates live under templates/<type_name>/.
    assert adapter_type.type_name in names


def test_capabilities_are_frozen_and_sane(adapter_type: type[ChannelAdapter]) -> None:
    caps = build(adapter_type).capabilities
    assert isinstance(caps, Capabilities)
    with pytest.raises(dataclasses.FrozenInstanceError):
        caps.max_attempts = 99  # type: ignore[misc]
    assert caps.formats and all(isinstance(f, Format) for f in caps.formats)
    assert isinstance(caps.parts, tuple) and caps.parts
    assert all(isinstance(p, str) and p for p in caps.parts)
    for limit in caps.limits:
        assert limit.part in caps.parts, f"a limit on {limit.part!r}, which is never rendered"
        assert limit.max > 0 and isinstance(limit.overflow, Overflow)
        short, long_ = limit.measure("安全生产"), limit.measure("安全生产" * 10 + " https://x.cn")
        assert 0 < short < long_, "the length measure must grow with the text"
    if caps.rate_limit is not None:
        assert caps.rate_limit.count >= 1 and caps.rate_limit.per_seconds > 0
    assert caps.max_concurrency >= 1 and caps.max_attempts >= 1
    assert isinstance(caps.idempotency, Idempotency)
    assert isinstance(caps.publish_mode, PublishMode)
    assert all(isinstance(m, str) for m in caps.metrics) and caps.metrics_lag_seconds >= 0


def test_options_keep_secrets_secret(adapter_type: type[ChannelAdapter]) -> None:
    assert issubclass(adapter_type.Options, AccountOptions)
    plain = [
        field
        for field, info in adapter_type.Options.model_fields.items()
        if SECRET_NAME.search(field)
        and field not in PUBLIC_IDENTIFIERS
        and not _is(info.annotation, SecretStr)
        and (_is(info.annotation, str) or info.annotation is str)
    ]
    assert plain == [], f"secret-looking options typed as plain str: {plain}"
    options = build(adapter_type).ctx.options
    assert isinstance(options, BaseModel)
    for shown in (repr(options), str(options), json.dumps(options.model_dump(mode="json"))):
        assert SECRET_MARK not in shown


def test_declared_abilities_are_implemented(adapter_type: type[ChannelAdapter]) -> None:
    caps = build(adapter_type).capabilities
    mro = {k for c in adapter_type.__mro__ if c is not ChannelAdapter for k in vars(c)}
    assert "publish" in mro
    if caps.idempotency is Idempotency.LOOKUP:
        assert "lookup" in mro, "declares lookup idempotency but cannot look posts up"
    if caps.publish_mode is PublishMode.TWO_PHASE:
        assert "confirm" in mro, "declares two-phase publishing but cannot confirm"
    if caps.metrics:
        assert "fetch_metrics" in mro, f"declares metrics {caps.metrics} but cannot fetch them"
    router = adapter_type.sandbox()
    assert router is None or isinstance(router, APIRouter)


# -- publishing over HTTP that fails ---------------------------------------------------------

HTTP_FAILURES = {
    "server-error-500": (
        {"return_value": httpx.Response(500, text="internal server error")},
        TransientError,
    ),
    "connection-refused": ({"side_effect": httpx.ConnectError("refused")}, TransientError),
    "read-timeout": ({"side_effect": httpx.ReadTimeout("timed out")}, OutcomeUnknown),
}


@pytest.mark.parametrize("failure", list(HTTP_FAILURES))
async def test_publish_turns_http_failures_into_the_error_tree(
    adapter_type: type[ChannelAdapter], http: httpx.AsyncClient, failure: str
) -> None:
    answer, expected = HTTP_FAILURES[failure]
    adapter = build(adapter_type, http)
    post = outgoing(adapter)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        route = mock.route().mock(**answer)
        try:
            await adapter.publish(post)
        except ChannelError as exc:
            assert isinstance(exc, expected), f"{type(exc).__name__}: {exc}"
            return
        if not route.called:
            pytest.skip(
                f"{adapter_type.type_name}: publishes without HTTP under its test options; "
                "add example_options() that exercise its HTTP path"
            )
        pytest.fail(f"publish succeeded although every HTTP request failed ({failure})")


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={"unexpected": True}),
    ],
    ids=["html", "json-list", "json-unknown"],
)
async def test_publish_raises_nothing_but_channel_errors_on_odd_replies(
    adapter_type: type[ChannelAdapter], http: httpx.AsyncClient, reply: httpx.Response
) -> None:
    adapter = build(adapter_type, http)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        mock.route().mock(return_value=reply)
        # Any class of the tree is fine: the worker knows what to do with each. Anything
        # else (KeyError, ValueError...) escapes and fails the test.
        with contextlib.suppress(ChannelError):
            await adapter.publish(outgoing(adapter))


# -- every kind renders for every channel ---------------------------------------------------------

NOTICES: dict[str, dict[str, Any]] = {
    "weather_warning": {
        "title": "市气象台发布暴雨橙色预警信号",
        "body": "预计未来3小时内本市大部分地区将出现50毫米以上降水。\n\n请注意防范。",
        "summary": "市气象台发布暴雨橙色预警信号，请注意防范。",
        "fields": {
            "signal": "暴雨",
            "color": "橙色",
            "issuer": "市气象台",
            "area": ["全市"],
            "issued_at": "2026-07-01T14:00:00+08:00",
            "valid_until": "2026-07-01T20:00:00+08:00",
            "advice": ["停止户外作业", "危险地带人员撤离"],
        },
    },
    "approval_list": {
        "title": "2026年6月行政许可事项公示",
        "body": "根据《行政许可法》，现将本月行政许可结果公示如下。",
        "summary": "本月行政许可结果公示。",
        "table": {
            "columns": ["许可编号", "单位名称", "许可事项", "决定日期"],
            "rows": [["(危)2026-001", "某化工有限公司", "危险化学品经营许可", "2026-06-12"]],
        },
    },
    "penalty_disclosure": {
        "title": "2026年第二季度行政处罚结果公开",
        "body": "现将本季度行政处罚结果公开如下。",
        "summary": "第二季度行政处罚结果公开。",
        "table": {
            "columns": ["决定书文号", "当事人", "违法事实", "处罚内容"],
            "rows": [["安监罚〔2026〕12号", "某建材厂", "未按规定开展安全培训", "罚款2万元"]],
        },
    },
    "accident_report": {
        "title": "关于某区一起一般生产安全事故的通报",
        "body": "6月20日，某区某厂发生一起机械伤害事故，造成1人受伤。",
        "summary": "某区发生一起一般生产安全事故。",
    },
    "budget_disclosure": {
        "title": "市应急管理局2026年部门预算公开",
        "body": "现将本部门2026年预算公开如下。",
        "summary": "2026年部门预算公开。",
        "table": {"columns": ["项目", "金额（万元）"], "rows": [["一般公共预算", 1234.5]]},
    },
    "general": {
        "title": "关于开展安全生产月活动的通知",
        "body": "各有关单位：6月为全国安全生产月，请认真组织开展活动。",
    },
}


RENDERER = Renderer(REPO_ROOT / "templates", ZoneInfo("Asia/Shanghai"))  # compiled once


@pytest.mark.parametrize("kind", list(NOTICES))
def test_every_kind_renders_within_the_channels_limits(
    adapter_type: type[ChannelAdapter], kind: str
) -> None:
    adapter = build(adapter_type)
    account = Account(name=adapter.ctx.account, adapter=adapter)
    settings = Settings(accounts={})
    intake = Intake(
        settings,
        None,
        None,
        RENDERER,  # type: ignore[arg-type]
        SystemClock(),
    )
    notice = parse_notice(
        {
            "kind": kind,
            "publish_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            **NOTICES[kind],
        }
    )
    preview = intake.preview(notice, account)
    assert preview.violations == [], [str(v) for v in preview.violations]
    assert set(preview.rendered.parts) == set(adapter.capabilities.parts)
    assert all(text.strip() for text in preview.rendered.parts.values())
    assert SECRET_MARK not in json.dumps(dict(preview.rendered.parts), ensure_ascii=False)
