"""The sandbox: local servers that stand in for the real channels, over real HTTP.

``publisher serve`` mounts it under ``/_sandbox`` when the configuration uses sandbox
accounts (the embedded default); ``publisher sandbox`` runs it alone. Each channel type
brings its own imitation (``ChannelAdapter.sandbox()``), mounted at ``/_sandbox/<type>``;
what they all share (the received posts, faults, control routes) is in ``kit.py``.

With a ``state_dir``, each imitation keeps what it received in ``<state_dir>/<type>.jsonl``
(``journal.py``) and takes it back on the next start, so a restart neither forgets the posts
nor hands out their remote ids again. ``guard.py`` puts the control routes behind the API
token.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from publisher.registry import adapter_types
from publisher.sandbox.kit import collecting


def sandbox_app(state_dir: Path | None = None) -> FastAPI:
    app = FastAPI(title="publisher sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    mounted = []
    for name, cls in sorted(adapter_types().items()):
        with collecting() as built:
            router = cls.sandbox()
        if router is None:
            continue
        app.include_router(router, prefix=f"/{name}")
        mounted.append(name)
        if state_dir is not None:
            for n, sandbox in enumerate(built):
                suffix = f"-{n + 1}" if n else ""
                sandbox.open_journal(state_dir / f"{name}{suffix}.jsonl")

    @app.get("/")
    async def index() -> dict[str, list[str]]:
        """Which channel imitations this sandbox serves."""
        return {"channels": mounted}

    return app
