"""The sandbox: local servers that stand in for the real channels, over real HTTP.

``publisher serve`` mounts it under ``/_sandbox`` when the configuration uses sandbox
accounts (the embedded default); ``publisher sandbox`` runs it alone. Each channel type
brings its own imitation (``ChannelAdapter.sandbox()``), mounted at ``/_sandbox/<type>``;
what they all share (the received posts, faults, control routes) is in ``kit.py``.
"""

from __future__ import annotations

from fastapi import FastAPI

from publisher.registry import adapter_types


def sandbox_app() -> FastAPI:
    app = FastAPI(title="publisher sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    mounted = []
    for name, cls in sorted(adapter_types().items()):
        router = cls.sandbox()
        if router is not None:
            app.include_router(router, prefix=f"/{name}")
            mounted.append(name)

    @app.get("/")
    async def index() -> dict[str, list[str]]:
        """Which channel imitations this sandbox serves."""
        return {"channels": mounted}

    return app
