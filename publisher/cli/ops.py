"""``publisher serve|worker|db|doctor|sandbox``: running and checking the service."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from pathlib import Path
from typing import Any

import click

from publisher.cli import EXIT_FAILED, Context, main, pass_ctx
from publisher.errors import ChannelError, ConfigError, PublisherError


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"无法监听 {host}:{port}: {exc.strerror}") from None


def _check_exposure(settings: Any) -> None:
    if settings.listens_beyond_loopback and settings.api_token is None:
        raise ConfigError(
            f"监听 {settings.host} 需要设置 PUBLISHER_API_TOKEN：否则任何能访问这个地址的人"
            "都能通过 API 发布"
        )


@main.command()
@click.option("--host", default=None, help="监听地址 (默认 127.0.0.1)。")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="端口 (默认 8000)。")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """在一个进程中运行网页服务、投递进程和定时任务。"""
    import uvicorn

    from publisher.cli.users import ensure_admin, first_admin_message
    from publisher.queue.service import prepare
    from publisher.runtime import Runtime
    from publisher.web.app import create_app, uses_sandbox

    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = ctx.settings(**overrides)
    ctx.guard(lambda: _check_exposure(settings))
    ctx.guard(lambda: _check_port(settings.host, settings.port))

    async def go() -> None:
        rt = await Runtime.open(settings, with_worker=True)
        try:
            await prepare(rt.store)
            password = await ensure_admin(rt.store)  # the first run: an admin to log in as
        except BaseException:
            await rt.close()
            raise
        if password is not None:
            message = first_admin_message(password, settings.public_base_url)
            click.echo(f"publisher: {message}", err=True)
        app = create_app(settings, runtime=rt)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", access_log=False, **uvicorn_network(settings)
        )
        sandbox = "，沙箱渠道已启用" if uses_sandbox(settings) else ""
        click.echo(
            f"publisher 已启动: {settings.public_base_url} "
            f"(数据库 {_safe_url(settings.database_url)}{sandbox})",
            err=True,
        )
        await uvicorn.Server(config).serve()

    ctx.run(go())


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 10_000),
    default=None,
    help="本进程同时进行的投递数。",
)
@pass_ctx
def worker(ctx: Context, concurrency: int | None) -> None:
    """单独运行投递进程 (PostgreSQL 部署：可在任意多台机器上运行任意多个)。"""
    from publisher.queue.service import prepare, run_worker
    from publisher.runtime import Runtime

    settings = ctx.settings()
    if settings.is_sqlite:
        ctx.fail(
            ConfigError(
                "SQLite 部署只有一个进程：worker 在 `publisher serve` 内运行。"
                "要单独运行 worker，请设置 PUBLISHER_DATABASE_URL=postgresql://..."
            )
        )

    async def go() -> None:
        rt = await Runtime.open(settings, with_worker=True, concurrency=concurrency)
        assert rt.worker is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, rt.worker.stop)
        try:
            await prepare(rt.store)
            click.echo(
                f"worker {rt.worker.id} 已启动 (并发 {rt.worker.config.concurrency})", err=True
            )
            await run_worker(rt.store, rt.worker)
        finally:
            await rt.close()

    ctx.run(go())


@main.group()
def db() -> None:
    """数据库维护。"""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """创建数据库表结构，或迁移到最新版本。"""
    from publisher.clock import SystemClock
    from publisher.store import open_store, upgrade

    settings = ctx.settings()

    async def go() -> list[str]:
        store = open_store(settings.database_url, SystemClock())
        try:
            await store.ping()
            return await upgrade(store)
        finally:
            await store.close()

    applied = ctx.run(go())
    where = _safe_url(settings.database_url)
    if applied:
        done = ", ".join(applied)
        click.echo(f"数据库已迁移到最新版本: {where} (执行了 {len(applied)} 个迁移: {done})")
    else:
        click.echo(f"数据库已是最新版本，无需迁移: {where}")


def _a_url(_ctx: Any, _param: Any, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise click.BadParameter("应为 http:// 或 https:// 开头的地址，例如 http://127.0.0.1:8123")
    return value.rstrip("/") if value else None


def _serve_address(host: str, port: int) -> str:
    """Where a local client reaches a serve listening on ``host:port``."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@main.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="publisher serve 监听的端口 (默认取设置 port)。",
)
@click.option(
    "--url",
    callback=_a_url,
    default=None,
    help="publisher serve 的地址，例如 http://127.0.0.1:8123 (默认取设置 base_url)。",
)
@pass_ctx
def doctor(ctx: Context, port: int | None, url: str | None) -> None:
    """检查设置、数据库、运行中的 publisher serve 和每个渠道账号；每个问题一行。"""
    from publisher.clock import SystemClock
    from publisher.registry import Channels
    from publisher.schedules import views as schedule_views
    from publisher.settings import load_settings
    from publisher.store import StoreTokens, open_store

    problems: list[str] = []
    try:
        settings = load_settings()
        if url is not None or port is not None:
            # The sandbox accounts call {base_url}/_sandbox: point them at that serve.
            where = url or _serve_address(settings.host, port or settings.port)
            settings = load_settings(base_url=where, **({"port": port} if port else {}))
    except PublisherError as exc:
        click.echo(f"✗ 设置: {exc}")
        raise SystemExit(EXIT_FAILED) from None
    click.echo(f"✓ 设置: 已读取 ({len(settings.accounts)} 个渠道账号)")
    click.echo(f"✓ 机构: {settings.organization.describe()}")
    serving = _find_serve(settings)

    async def go() -> None:
        clock = SystemClock()
        try:
            store = open_store(settings.database_url, clock)
        except PublisherError as exc:
            problems.append(f"数据库: {exc}")
            return
        try:
            database_ok = False
            if _sqlite_missing(settings.database_url):
                # Not a problem: `serve` (and any command that writes) creates and migrates it.
                click.echo(
                    f"✓ 数据库: {_safe_url(settings.database_url)} 尚未创建 "
                    "(publisher serve 首次启动时自动创建)"
                )
            elif await _check_database(store, settings.database_url, problems):
                database_ok = True
                problems.extend(await schedule_views.doctor(settings, store, clock))  # schedules
                await _check_obligations(store, settings, clock, problems)  # issue 13
            try:
                channels = Channels(settings, clock, StoreTokens(store))
            except PublisherError as exc:
                problems.append(f"渠道配置: {exc}")
                return
            try:
                await _check_accounts(channels, problems, settings, serving)
                if database_ok:  # reach collection (issue 14): said once the database answers
                    from publisher.metrics import health

                    await health.doctor(store, channels, clock.now(), settings.zone, problems)
            finally:
                await channels.aclose()
        finally:
            await store.close()

    ctx.run(go())
    for p in problems:
        click.echo(f"✗ {p}")
    if problems:
        raise SystemExit(EXIT_FAILED)


async def _check_database(store: Any, url: str, problems: list[str]) -> bool:
    from publisher.store.migrate import pending_revisions

    try:
        await store.ping()
        pending = await pending_revisions(store)
    except PublisherError as exc:
        problems.append(f"数据库: {exc}")
        return False
    if pending:
        problems.append(f"数据库: 有 {len(pending)} 个迁移未执行 (请运行 publisher db upgrade)")
        return False
    click.echo(f"✓ 数据库: {_safe_url(url)}")
    return True


async def _check_obligations(store: Any, settings: Any, clock: Any, problems: list[str]) -> None:
    """Obligations whose due date cannot be computed, freshness alarms, failed reminders."""
    from publisher.obligations.jobs import doctor as obligations_doctor

    fine, warnings, found = await obligations_doctor(store, settings, clock)
    for line in fine:
        click.echo(f"✓ {line}")
    for line in warnings:
        click.echo(f"! {line}")
    problems.extend(found)


def _sqlite_missing(url: str) -> bool:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return False
    return not Path(parsed.database).expanduser().exists()


def _find_serve(settings: Any) -> bool:
    """Whether a publisher serve answers at the settings' address; says so either way."""
    import httpx

    base = settings.public_base_url
    try:
        with httpx.Client(timeout=3.0, trust_env=False) as client:
            answer = client.get(f"{base}/healthz")
        body = answer.json()
        found = answer.status_code in (200, 503) and isinstance(body, dict) and "status" in body
    except (httpx.HTTPError, ValueError):
        found = False
    if found:
        click.echo(f"✓ 服务: publisher serve 正在 {base} 运行")
    else:
        click.echo(
            f"- 服务: {base} 没有运行中的 publisher serve "
            "(在别的端口或地址运行时，用 doctor --port 或 --url 指向它)"
        )
    return found


async def _check_accounts(
    channels: Any, problems: list[str], settings: Any, serving: bool = False
) -> None:
    from publisher.errors import TransientError
    from publisher.http_errors import NOT_CONNECTED

    for account in channels:
        label = f"渠道 {account.name} ({account.type_name})"
        try:
            await account.adapter.check()
            click.echo(f"✓ {label}: 正常")
        except TransientError as exc:
            sandbox = settings.accounts.get(account.name, {}).get("sandbox")
            if sandbox and not serving and NOT_CONNECTED in str(exc):
                # The embedded sandbox is served by `publisher serve` itself: not running here.
                click.echo(
                    f"- {label}: 沙箱接收端由 publisher serve 提供，"
                    f"{settings.public_base_url} 上未运行，跳过检查"
                )
            else:
                problems.append(f"{label}: {exc}")
        except ChannelError as exc:
            problems.append(f"{label}: {exc}")
        except Exception as exc:
            problems.append(f"{label}: 检查出错: {type(exc).__name__}: {exc}")


@main.command()
@click.option("--host", default="127.0.0.1", help="监听地址。")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, help="端口。")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="把收到的内容保存在这个目录，重启后仍在 (默认只在内存中)。",
)
@pass_ctx
def sandbox(ctx: Context, host: str, port: int, state_dir: Path | None) -> None:
    """单独运行沙箱渠道 (微博、微信公众号、OA 和 webhook 的模拟端)。"""
    import uvicorn

    from publisher.sandbox import sandbox_app
    from publisher.sandbox.guard import SandboxGuard

    settings = ctx.settings(host=host, port=port)
    ctx.guard(lambda: _check_port(host, port))
    app = SandboxGuard(sandbox_app(state_dir), settings.api_token, settings.listens_beyond_loopback)
    click.echo(f"沙箱已启动: http://{host}:{port}/", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, log_level="warning", access_log=False, **uvicorn_network(settings))


def uvicorn_network(settings: Any) -> dict[str, Any]:
    """Where uvicorn listens, and whose forwarded headers it believes: our settings decide.

    uvicorn's own default believes X-Forwarded-For from 127.0.0.1, which would let anyone on
    this host (or a proxy that passes the header through) choose their address. Here it is off
    unless ``forwarded_allow_ips`` names the proxies, or a portal account trusts
    ``trust_forwarded_for`` (then the proxy on this host).
    """
    proxies = settings.proxy_addresses
    return {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": list(proxies) if proxies else [],
    }


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(无法解析)"
