"""The application: one process serving the API, the sandbox and running the worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from publisher import console, problems
from publisher.auth.throttle import Throttle
from publisher.cap import poll as cap_poll
from publisher.drills import DrillRefused  # drills (issue 11 C)
from publisher.errors import (
    DatabaseBusy,
    DuplicateNotice,
    IdempotencyConflict,
    InputError,
    LimitViolationError,
    NotFoundError,
    PublisherError,
    StateError,
    StoreError,
)
from publisher.lifecycle import Lifecycle
from publisher.lifecycle import expiry as lift_at_expiry
from publisher.metrics.collector import collect_once
from publisher.notice import MAX_FILE_BYTES
from publisher.obligations import jobs as obligation_jobs  # obligations (issue 13)
from publisher.queue.service import prepare, run_worker
from publisher.reach import readers as readers_job  # reach: nudges (issue 14)
from publisher.runtime import Runtime
from publisher.scheduler import Scheduler
from publisher.schedules import serve as schedules_serve
from publisher.settings import Settings
from publisher.web import api, lifecycle, reports, reviews, tracked, warnings
from publisher.web import obligations as obligations_api  # obligations (issue 13)
from publisher.web import schedules as schedules_api
from publisher.web.ack import router as ack_router  # reach: WeCom 已知悉 (issue 14)
from publisher.web.headers import SecurityHeaders
from publisher.web.limits import BodyLimit
from publisher.web.ratelimit import PublicRateLimit
from publisher.web.readers import router as readers_router  # reach: OA readers (issue 14)

log = logging.getLogger("publisher.web")


def _include_account_routes(app: FastAPI, settings: Settings, runtime: Runtime | None) -> None:
    """Routes channel accounts bring (portal pages, WeChat callbacks), at the root.

    Built from a Channels of their own when no runtime is given yet: routes must only reach
    shared state through what the runtime puts on the app when it starts (the portal: its
    ``PortalContext``).
    """
    channels = runtime.channels if runtime is not None else None
    if channels is None:
        from publisher.clock import SystemClock
        from publisher.registry import Channels

        channels = Channels(settings, SystemClock(), None)
    for account in channels:
        router = account.adapter.routes()
        if router is not None:
            app.include_router(router)


def start_scheduler(rt: Runtime) -> Scheduler:
    """The scheduled jobs of ``publisher serve``: reach collection (more come with schedules)."""
    assert rt.worker is not None
    scheduler = Scheduler(rt.store, rt.clock, rt.worker.id, rt.settings.timezone)
    if rt.settings.metrics_interval:

        async def collect() -> None:
            await collect_once(  # reach: the decaying schedule (issue 14)
                rt.store,
                rt.channels,
                rt.clock,
                rt.settings.metrics_window_days,
                schedule=rt.settings.metrics_schedule,
                max_posts=rt.settings.metrics_max_posts,
            )

        scheduler.every("collect_metrics", rt.settings.metrics_interval, collect)
    cap_poll.schedule(scheduler, rt.intake, rt.settings)
    readers_job.schedule(scheduler, rt.store, rt.channels, rt.clock)  # reach: nudges (issue 14)
    schedules_serve.attach(scheduler, rt)  # recurring schedules (publisher/schedules)
    lift_at_expiry.schedule(scheduler, Lifecycle(rt.intake))  # issue 11: expiry lift posts
    obligation_jobs.schedule(scheduler, rt)  # obligations' reminders + freshness (issue 13)
    scheduler.start()
    return scheduler


def _report_worker_end(task: asyncio.Task[None]) -> None:
    """A worker that dies must say so at once (``/healthz`` turns 503 as well)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the worker stopped; nothing will be delivered", exc_info=task.exception())


def _trusts_forwarded_for(settings: Settings) -> bool:
    """A portal account says a reverse proxy stands in front (its X-Forwarded-For counts)."""
    return any(
        str(raw.get("trust_forwarded_for")).lower() in ("true", "1", "yes", "on")
        for raw in settings.accounts.values()
    )


def uses_sandbox(settings: Settings) -> bool:
    return any(bool(raw.get("sandbox")) for raw in settings.accounts.values())


def create_app(
    settings: Settings, *, runtime: Runtime | None = None, run_worker_in_process: bool = True
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or await Runtime.open(settings, with_worker=run_worker_in_process)
        app.state.runtime = rt
        app.state.portal = rt.portal_context()
        task = None
        scheduler = None
        try:
            if rt.worker is not None:
                if runtime is None:
                    await prepare(rt.store)
                task = asyncio.create_task(run_worker(rt.store, rt.worker), name="worker")
                task.add_done_callback(_report_worker_end)
                scheduler = start_scheduler(rt)
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
            if task is not None and rt.worker is not None:
                rt.worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=settings.lease_seconds)
            await rt.close()

    # The API docs (/docs, /redoc) with their scripts served from the package, not a CDN:
    # government intranets are offline.
    app = FastAPIOffline(
        title="publisher",
        version="0.1.0",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    app.add_middleware(BodyLimit, limit=MAX_FILE_BYTES)
    app.add_middleware(BodyLimit, limit=MAX_FILE_BYTES, prefix="/compose/")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        PublicRateLimit,
        rate=settings.portal_rate_limit,
        burst=settings.portal_rate_burst,
        trust_forwarded_for=_trusts_forwarded_for(settings),
    )
    app.state.settings = settings
    app.state.throttle = Throttle()  # wrong API tokens, per client address (publisher/auth)
    app.include_router(api.router)
    app.include_router(reports.router)
    app.include_router(tracked.router)
    app.include_router(warnings.router)
    app.include_router(readers_router)  # reach: OA readers (issue 14)
    app.include_router(ack_router)  # reach: the WeCom 已知悉 link (issue 14)
    app.include_router(schedules_api.router)  # recurring schedules
    app.include_router(lifecycle.router)  # issue 11: update, lift, withdraw
    app.include_router(obligations_api.router)  # obligations + freshness (issue 13)
    app.include_router(reviews.router)  # review chain
    _include_account_routes(app, settings, runtime)

    console.install(app)  # the web console at / (the portal stays at /portal)

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.runtime
        body: dict[str, Any] = {"database": "ok", "worker": "running"}
        ok = True
        try:
            await rt.store.ping()
        except StoreError as exc:
            body["database"] = str(exc)
            ok = False
        if run_worker_in_process and (rt.worker is None or not rt.worker.running):
            body["worker"] = "stopped"
            ok = False
        body["status"] = "ok" if ok else "unavailable"
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.exception_handler(PublisherError)
    async def publisher_error(_request: Request, exc: PublisherError) -> JSONResponse:
        body: dict[str, Any] = {"error": str(exc), "type": type(exc).__name__}
        if isinstance(exc, LimitViolationError):
            body["violations"] = [
                {"channel": v.account, "part": v.part, "rule": v.rule} for v in exc.violations
            ]
        if isinstance(exc, DuplicateNotice):
            body["duplicate_of"] = exc.notice_id
        status = 500
        headers: dict[str, str] = {}
        if isinstance(exc, InputError):
            status = 409 if isinstance(exc, IdempotencyConflict | DuplicateNotice) else 422
            if isinstance(exc, DrillRefused):  # drills (issue 11 C)
                status = 400
        elif isinstance(exc, NotFoundError):
            status = 404
        elif isinstance(exc, StateError):
            status = 409
        elif isinstance(exc, StoreError):
            status = 503
            if isinstance(exc, DatabaseBusy):
                headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # The API answers {"error": ...} like its other refusals (FastAPI would say "detail"),
        # e.g. for a body it could not parse at all; other routes keep FastAPI's own answer.
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
            )
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {"msg": "请求无效"}
        if first.get("type") == "json_invalid":
            # loc is ("body", offset): say so plainly, not "body.1", which reads as a field.
            problem = (first.get("ctx") or {}).get("error", "invalid JSON")
            loc = first.get("loc", ())
            at = f" (第 {loc[-1]} 个字符处)" if len(loc) > 1 else ""
            message = f"请求体不是有效的 JSON: {problem}{at}"
            return JSONResponse({"error": message}, status_code=422)
        where = problems.location(first, "request")
        return JSONResponse({"error": f"{where}: {problems.describe(first)}"}, status_code=422)

    if uses_sandbox(settings):
        from publisher.sandbox import sandbox_app
        from publisher.sandbox.guard import SandboxGuard

        sandbox = sandbox_app(settings.sandbox_state_dir)
        guarded = SandboxGuard(sandbox, settings.api_token, settings.listens_beyond_loopback)
        app.mount("/_sandbox", guarded)
    return app
