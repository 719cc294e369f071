"""An ASGI app on a real socket on 127.0.0.1: uvicorn in a thread, for as long as a block runs.

The channel tests run each adapter against its sandbox over real HTTP, and the portal tests
run the whole application; both need the same server start and stop, written here once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Literal

import uvicorn
from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

START_SECONDS = 10.0
STOP_SECONDS = 10.0


def free_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1, for an app that must know its address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def serve_app(
    app: ASGIApp,
    *,
    sock: socket.socket | None = None,
    lifespan: Literal["on", "off"] = "off",
    graceful_seconds: int = 1,
) -> Iterator[str]:
    """Serve ``app`` while the block runs; yields ``http://127.0.0.1:<port>``.

    ``sock`` (from :func:`free_socket`) when the app was built knowing its port; a free one
    otherwise. The block starts once the server answers; a server that does not start fails
    the test. On leaving, the server gets ``graceful_seconds`` to finish open requests, then
    the socket is closed.
    """
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan=lifespan,
        ws="none",
        http="h11",
        timeout_graceful_shutdown=graceful_seconds,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_SECONDS
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started, "the server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_SECONDS)
        sock.close()


@contextlib.contextmanager
def serve_router(router: APIRouter, prefix: str) -> Iterator[str]:
    """Serve one sandbox router under ``prefix`` (``/_sandbox/<type>``, as ``publisher serve``
    mounts it); yields the server's base URL."""
    app = FastAPI()
    app.include_router(router, prefix=prefix)
    with serve_app(app) as base:
        yield base
