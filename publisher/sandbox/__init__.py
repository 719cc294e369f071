"""The sandbox: local servers that stand in for the real channels, over real HTTP.

``publisher serve`` mounts it under ``/_sandbox`` when the configuration uses sandbox
accounts (the embedded default); ``publisher sandbox`` runs it alone.
"""

from __future__ import annotations

from fastapi import FastAPI

from publisher.sandbox.webhook import WebhookSink


def sandbox_app() -> FastAPI:
    app = FastAPI(title="publisher sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(WebhookSink().router, prefix="/webhook")
    return app
