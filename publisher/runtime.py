"""Wiring: settings -> store, channel accounts, renderer, intake and (optionally) a worker.

The CLI and the web server build the same Runtime, so they always agree on the database,
the accounts and the templates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from publisher.clock import SystemClock
from publisher.contract import Clock
from publisher.links import LinkCodes, load_link_codes
from publisher.portal import PortalContext
from publisher.queue.intake import Intake
from publisher.queue.retry import Backoff, RetryPolicy
from publisher.queue.worker import Worker, WorkerConfig
from publisher.registry import Channels, ClientFactory
from publisher.render import Renderer
from publisher.settings import Settings
from publisher.store import Store, StoreTokens, open_store, upgrade

log = logging.getLogger("publisher")


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: Store
    channels: Channels
    renderer: Renderer
    intake: Intake
    worker: Worker | None = field(default=None)
    link_codes: LinkCodes | None = field(default=None)  # tracked links (publisher.links)

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        migrate: bool = True,
        with_worker: bool = False,
        concurrency: int | None = None,
        client_factory: ClientFactory | None = None,
    ) -> Runtime:
        clock = clock or SystemClock()
        pool = max(10, (concurrency or settings.concurrency) // 4) if with_worker else 5
        store = open_store(settings.database_url, clock, pool_size=pool)
        wake: list[Callable[[], None]] = []

        async def confirm_now(account: str, remote_id: str) -> bool:
            found = await store.confirm_now(account, remote_id)
            for fn in wake:
                fn()
            return found

        channels = None
        codes = LinkCodes()
        try:
            channels = Channels(
                settings,
                clock,
                StoreTokens(store),
                client_factory,
                confirm_now=confirm_now,
                link_codes=codes,
            )
            await store.ping()
            if migrate:
                await upgrade(store)
            await load_link_codes(StoreTokens(store), codes)
        except BaseException:
            if channels is not None:
                await channels.aclose()
            await store.close()
            raise
        renderer = Renderer(settings.templates_dir, settings.zone, settings.organization)
        intake = Intake(settings, store, channels, renderer, clock)
        runtime = cls(settings, clock, store, channels, renderer, intake, link_codes=codes)
        if with_worker:
            runtime.worker = Worker(
                store,
                channels,
                clock,
                RetryPolicy(Backoff(settings.retry_base_delay, settings.retry_max_delay)),
                WorkerConfig(
                    concurrency=concurrency or settings.concurrency,
                    poll_interval=settings.effective_poll_interval,
                    lease_seconds=settings.lease_seconds,
                    breaker_threshold=settings.breaker_threshold,
                    breaker_cooldown=settings.breaker_cooldown,
                ),
            )
            intake.claimer = runtime.worker
            wake.append(runtime.worker.wake)
        return runtime

    def portal_context(self) -> PortalContext:
        """What the portal's pages are given (see :mod:`publisher.portal`)."""
        return PortalContext(
            store=self.store,
            tokens=StoreTokens(self.store),
            clock=self.clock,
            public_base_url=self.settings.public_base_url,
            zone=self.settings.zone,
            templates_dir=Path(self.settings.templates_dir),
            options={account.name: account.adapter.ctx.options for account in self.channels},
            reviewers=self._reviewers if self.settings.portal_show_reviewers else None,
            display_periods=self.settings.display_periods,
        )

    async def _reviewers(self, notice_id: int) -> dict[str, str] | None:
        """review chain: who drafted, reviewed and signed a notice, for its portal page."""
        from publisher.review.desk import portal_names

        return await portal_names(self.store, notice_id)

    async def close(self) -> None:
        await self.channels.aclose()
        await self.store.close()
