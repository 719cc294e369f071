"""Reach collection: samples from every channel, once per fire, newest shown per delivery."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import ClassVar

import pytest

from channels.webhook import WebhookAdapter
from publisher import registry
from publisher.contract import Capabilities, MetricSample, PostRef
from publisher.metrics.collector import collect_once
from publisher.metrics.samples import latest
from publisher.notice import parse_notice
from publisher.runtime import Runtime
from publisher.scheduler import claim_fire
from publisher.settings import load_settings
from tests.conftest import FakeClock


async def test_each_scheduled_fire_runs_once(store: object, clock: FakeClock) -> None:
    fire = clock.now()
    assert await claim_fire(store, "collect_metrics", fire, "a")  # type: ignore[arg-type]
    assert not await claim_fire(store, "collect_metrics", fire, "b")  # type: ignore[arg-type]
    assert await claim_fire(store, "collect_metrics", fire + timedelta(hours=1), "b")  # type: ignore[arg-type]


class CountingHook(WebhookAdapter):
    """A webhook that also reports reads (the plain webhook declares no metrics)."""

    type_name = "counting_hook"
    reads: ClassVar[Iterator[int]] = iter([10, 25])
    asked: ClassVar[list[Sequence[PostRef]]] = []

    @property
    def capabilities(self) -> Capabilities:
        return dataclasses.replace(super().capabilities, metrics=("reads",))

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        self.asked.append(refs)
        now = self.ctx.clock.now()
        return [MetricSample(r.delivery_id, "reads", next(self.reads), now, "hook") for r in refs]


async def test_collector_asks_each_channel_and_keeps_a_time_series(
    tmp_path: object, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = dict(registry.adapter_types())
    monkeypatch.setattr(
        registry, "adapter_types", lambda: {**installed, "counting_hook": CountingHook}
    )
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/m.db",
        accounts={"hook": {"type": "counting_hook", "url": "http://127.0.0.1:9/x"}},
    )
    rt = await Runtime.open(settings, clock=clock)
    try:
        done = await rt.intake.submit(
            parse_notice({"kind": "general", "title": "通知", "body": "正文"}),
            source="test",
            actor="t",
        )
        delivery = (await rt.store.get_notice(done.notice_id)).deliveries[0]
        await rt.store._tx(  # posted, as the worker would record it
            lambda c: c.exec_driver_sql(
                "UPDATE deliveries SET status='posted', remote_id='r1', posted_at=created_at"
            )
        )
        first = await collect_once(rt.store, rt.channels, clock)
        clock.advance(3600)
        await collect_once(rt.store, rt.channels, clock)
        assert [c.samples for c in first] == [1]
        assert [r.remote_id for r in CountingHook.asked[0]] == ["r1"]
        newest = await latest(rt.store, [delivery.id])
        assert newest[delivery.id]["reads"] == 25
        assert newest[delivery.id]["as_of"] == clock.now().isoformat()
    finally:
        await rt.close()
