"""Running a worker as a service: ownership of the queue, wake-ups, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from publisher.queue.worker import Worker
from publisher.store.base import QueueStore

log = logging.getLogger("publisher.worker")


async def prepare(store: QueueStore) -> None:
    """Before a worker starts: take the queue where one process owns it (SQLite), releasing
    a dead process's leases."""
    released = await store.take_queue()
    if released:
        log.warning("released %d leases left by a previous process; reconciling them", released)


async def run_worker(store: QueueStore, worker: Worker) -> None:
    """Run the worker; meanwhile hear new work announced by other processes (PostgreSQL)."""
    listener = asyncio.create_task(store.listen(worker.wake), name="listen")
    try:
        await worker.run()
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
