"""Running a worker as a service: ownership of the queue, wake-ups, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from publisher.queue.worker import Worker
from publisher.store import PostgresStore, SQLiteStore, SqlStore

log = logging.getLogger("publisher.worker")


async def prepare(store: SqlStore) -> None:
    """Before a worker starts: SQLite takes sole ownership and releases a dead process's leases."""
    if isinstance(store, SQLiteStore):
        store.acquire_process_lock()
        released = await store.expire_all_leases("上一个进程已结束")
        if released:
            log.warning("released %d leases left by a previous process; reconciling them", released)


async def run_worker(store: SqlStore, worker: Worker) -> None:
    """Run the worker; on PostgreSQL also LISTEN for new work from other processes."""
    listener = None
    if isinstance(store, PostgresStore):
        listener = asyncio.create_task(store.listen(worker.wake), name="listen")
    try:
        await worker.run()
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
