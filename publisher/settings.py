"""Settings: defaults that just work, overridden by a config file, ``.env`` and ``PUBLISHER_*``.

Precedence (highest first): keyword arguments, environment (``PUBLISHER_*``, nested with
``__``, e.g. ``PUBLISHER_ACCOUNTS__OA__SECRET``), ``.env``, the file named by
``PUBLISHER_CONFIG`` (TOML, YAML or JSON), built-in defaults. Secrets (the API token, and
inside the channel accounts' options) are ``SecretStr``, so they never print. A bad setting
raises :class:`ConfigError` with one line naming it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from publisher import display, kinds, problems
from publisher.documents import FORMATS, DocumentError, check_shape, decode, not_utf8
from publisher.errors import ConfigError

NOTICE_KINDS = kinds.NAMES  # kept for callers that list the kinds

REPO_ROOT = Path(__file__).resolve().parent.parent
# In a checkout the templates are the repository's own ``templates/``; a wheel carries a copy
# inside the package (setup.py), since it has no repository around it.
TEMPLATES_DIR = (
    REPO_ROOT / "templates"
    if (REPO_ROOT / "templates").is_dir()
    else Path(__file__).resolve().parent / "templates"
)
# The content checks' word lists (publisher.checks), likewise: the repository's, else the wheel's.
CHECKS_DIR = (
    REPO_ROOT / "config" / "checks"
    if (REPO_ROOT / "config" / "checks").is_dir()
    else Path(__file__).resolve().parent / "config" / "checks"
)
ATTACHMENT_TYPES = ["pdf", "doc", "docx", "xls", "xlsx", "ofd", "wps", "jpg", "png", "zip"]
# Names appear in URLs, environment variables (PUBLISHER_ACCOUNTS__<NAME>__...) and columns.
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
SANDBOX_URL = "{base_url}/_sandbox"
TRUE = ("true", "1", "yes", "on")  # a boolean account option, from a file or the environment


def default_accounts() -> dict[str, dict[str, Any]]:
    """The embedded default: the four channels of the mission, all on the built-in sandbox.

    ``publisher serve`` mounts the sandbox itself, so a fresh install shows one notice
    reaching the portal, Weibo, WeChat and OA without any real account. The credentials
    here are the sandbox's, not secrets.
    """
    return {
        "portal": {"type": "portal", "display_name": "门户网站(沙箱)", "sandbox": True},
        "weibo": {
            "type": "weibo",
            "display_name": "政务微博(沙箱)",
            "access_token": "sandbox-weibo-token",
            "sandbox": True,
        },
        "wechat": {
            "type": "wechat",
            "display_name": "微信公众号(沙箱)",
            "appid": "wxsandbox0000000001",
            "secret": "sandbox-wechat-secret",
            "api_base": SANDBOX_URL + "/wechat",
            "stats_lag_days": 0,
            "sandbox": True,
        },
        "oa": {
            "type": "wecom_app",
            "display_name": "局内OA·企业微信(沙箱)",
            "corpid": "wwsandbox0000000001",
            "corpsecret": "sandbox-wecom-secret",
            "agentid": 1000002,
            "api_base": SANDBOX_URL + "/wecom_app",
            "sandbox": True,
        },
    }


WECHAT_AUTHOR_MAX = 16  # 字, draft/add's author field


class Organization(BaseModel):
    """Who publishes: one identity for every channel and template (``org`` in templates).

    ``portal_title`` (the portal's name, its pages' title) and ``signature`` (what articles
    are signed with) default to the full ``name``. A channel account's own ``site_name``
    (portal) or ``author`` (WeChat) still wins when set.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="市安全生产监督管理局", min_length=1, max_length=64)
    short_name: str = Field(default="市安监局", min_length=1, max_length=16)
    portal_title: str = Field(default="", max_length=64)
    signature: str = Field(default="", max_length=64)

    @model_validator(mode="after")
    def _from_name(self) -> Organization:
        self.portal_title = self.portal_title.strip() or self.name
        self.signature = self.signature.strip() or self.name
        return self

    @property
    def author(self) -> str:
        """The WeChat article author (at most 16 字): the name, else the short name."""
        return self.name if len(self.name) <= WECHAT_AUTHOR_MAX else self.short_name

    def describe(self) -> str:
        """One line for ``doctor``."""
        return (
            f"{self.name}（简称 {self.short_name}；门户网站名称 {self.portal_title}；"
            f"落款 {self.signature}）"
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PUBLISHER_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
    )

    database_url: str = "sqlite:///publisher.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_url: str = ""  # public address of this server; default http://host:port
    # Required on /api/* as "Authorization: Bearer <token>" when set; `serve` refuses to listen
    # beyond loopback without one, since the API publishes to the bureau's public channels.
    api_token: SecretStr | None = None
    # console (issue 15): the key of console session cookies; unset: made once, kept in the db
    session_secret: SecretStr | None = None
    timezone: str = "Asia/Shanghai"
    templates_dir: Path = TEMPLATES_DIR
    debug: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Raw account options, secrets included (they become SecretStr in each adapter's
    # Options): kept out of repr/str so printing or logging settings shows no secret.
    accounts: dict[str, dict[str, Any]] = Field(default_factory=default_accounts, repr=False)
    routes: dict[str, list[str]] = Field(default_factory=dict)  # kind -> account names

    concurrency: int = Field(default=64, ge=1, le=10_000)
    poll_interval: float = Field(default=0.0, ge=0.0)  # 0 = 0.5 s on SQLite, 5 s on PostgreSQL
    lease_seconds: float = Field(default=30.0, gt=0.5)
    retry_base_delay: float = Field(default=2.0, ge=0.0)
    retry_max_delay: float = Field(default=600.0, ge=0.0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cooldown: float = Field(default=30.0, ge=0.0)
    request_timeout: float = Field(default=20.0, gt=0.0)
    metrics_interval: float = Field(default=3600.0, ge=0.0)  # 0: do not collect reach
    metrics_window_days: float = Field(default=90.0, gt=0.0)
    # Reach collection (issue 14, branch reach): the decaying schedule (publisher.metrics.
    # schedule: AGE:EVERY steps) and how many posts one account is asked for per run.
    metrics_schedule: str = "2d:1h,30d:1d,90d:7d"
    metrics_max_posts: int = Field(default=1000, ge=1, le=1_000_000)
    pii_allow: list[str] = Field(default_factory=list)  # published numbers the PII guard allows
    # CAP 1.2 or Atom feeds whose warnings `serve` takes in (publisher.cap.poll), and how often
    # (seconds; 0: do not poll).
    cap_feeds: list[str] = Field(default_factory=list)
    cap_poll_interval: float = Field(default=60.0, ge=0.0)
    organization: Organization = Field(default_factory=Organization)
    # What the built-in sandbox received, kept across restarts of `serve` (one file per
    # channel type); default: "publisher-sandbox" beside the SQLite file, else the working dir.
    sandbox_dir: Path | None = None
    # The chromium that draws reach charts as PNG (`report reach --format png`); default: the
    # PATH's chromium or chromium-browser. Needs Playwright's package: pip install 'publisher[png]'.
    chromium: Path | None = None
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto uvicorn believes. Empty: none,
    # unless a portal account sets trust_forwarded_for (then the proxy on this host, 127.0.0.1).
    forwarded_allow_ips: list[str] = Field(default_factory=list)
    # Content checks (publisher.checks): the folder of word lists, whether intake and preview
    # ask every link (the server may have no way out), how long a link may take to answer,
    # and the attachment file types allowed.
    checks_dir: Path = CHECKS_DIR
    check_links: bool = False
    link_timeout: float = Field(default=5.0, gt=0.0, le=60.0)
    attachment_types: list[str] = Field(default_factory=lambda: list(ATTACHMENT_TYPES))
    # Public routes (/portal, /r/): requests a second per client address, and the burst
    # allowed at once; over it: 429 with Retry-After. 0: no limit.
    portal_rate_limit: float = Field(default=10.0, ge=0.0)
    portal_rate_burst: int = Field(default=30, ge=1)
    # Recurring schedules (publisher/schedules): the file of schedules (missing: none), the
    # folder their data files are dropped in, and how late a fire missed while nothing ran is
    # still made (seconds); later it is recorded as missed.
    schedules_file: Path = Path("config/schedules.toml")
    inbox_dir: Path = Path("inbox")
    schedule_grace_seconds: float = Field(default=3600.0, ge=0.0, le=31 * 86400)
    # -- obligations and the freshness watchdog (issue 13; publisher.obligations) --
    # The file that seeds the obligations (None: config/obligations.toml in the working
    # directory if present, else the starter entries shipped with publisher).
    obligations_file: Path | None = None
    obligations_remind_days: int = Field(default=3, ge=0, le=60)  # working days before due
    obligations_leader_after: int = Field(default=5, ge=1, le=250)  # working days late
    obligations_interval: float = Field(default=3600.0, ge=0.0)  # reminders + watchdog; 0: off
    freshness_days: list[int] = Field(default_factory=lambda: [10, 12, 14])  # remind.., alarm
    freshness_notice_categories: list[str] = Field(default_factory=list)  # 通知公告 columns
    freshness_notice_days: list[int] = Field(default_factory=lambda: [160, 170, 180])
    freshness_thresholds: dict[str, list[int]] = Field(default_factory=dict)  # per name; []: off
    freshness_owners: dict[str, list[str]] = Field(default_factory=dict)  # name -> OA user ids
    freshness_leaders: list[str] = Field(default_factory=list)  # OA user ids told of alarms
    # -- review chain (publisher/review) --
    # Notice kind (or "_default") -> 0-3 review steps before release; each a role code, or
    # {"role": R, "all": bool} / {"users": [names], "all": bool}. Empty: no review.
    review_steps: dict[str, list[Any]] = Field(default_factory=dict)
    # Print 责任编辑 / 审核 / 签发 under a reviewed notice on the portal page.
    portal_show_reviewers: bool = False

    @field_validator("review_steps")
    @classmethod
    def _review_steps(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        from publisher.review.steps import parse_steps

        parse_steps(value)  # ValueError naming the bad entry
        return value

    # -- end review chain --
    # display periods (issue 13): days a kind's portal page stays public, then it leaves the
    # lists and answers 公示期已满 (410); 90 to 1095, penalty_disclosure at least 365.
    display_periods: dict[str, int] = Field(default_factory=lambda: dict(display.DEFAULTS))

    @field_validator("display_periods", mode="before")
    @classmethod
    def _display_periods(cls, value: Any) -> Any:
        return display.check_periods(value) if isinstance(value, dict) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+aiosqlite:", "postgresql", "postgres:")):
            raise ValueError("应为 sqlite:///path/file.db 或 postgresql://user@host/db")
        return value

    @field_validator("cap_feeds")
    @classmethod
    def _feed_addresses(cls, value: list[str]) -> list[str]:
        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"{url[:80]!r}: 应为 http:// 或 https:// 开头的地址")
        if len(set(value)) != len(value):
            raise ValueError("同一个地址出现了两次")
        return value

    @field_validator("metrics_schedule")
    @classmethod
    def _metrics_schedule(cls, value: str) -> str:  # reach (issue 14)
        from publisher.metrics.schedule import parse_schedule

        parse_schedule(value)  # ValueError in Chinese names what is wrong
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知的时区 {value!r}") from exc
        return value

    @field_validator("attachment_types")
    @classmethod
    def _extensions(cls, value: list[str]) -> list[str]:
        types = [t.strip().lower().lstrip(".") for t in value]
        for t in types:
            if not re.fullmatch(r"[a-z0-9]{1,10}", t):
                raise ValueError(f"附件类型 {t[:20]!r}: 应为扩展名，如 pdf、docx")
        return types

    @field_validator("freshness_days", "freshness_notice_days")
    @classmethod
    def _rising_days(cls, value: list[int]) -> list[int]:
        if not value or any(b <= a for a, b in pairwise(value)) or value[0] < 1:
            raise ValueError("应为递增的正整数天数，如 [10, 12, 14]（最后一个为告警）")
        return value

    @field_validator("freshness_thresholds")
    @classmethod
    def _rising_thresholds(cls, value: dict[str, list[int]]) -> dict[str, list[int]]:
        for days in value.values():
            if days:  # [] switches the watch off for that account or category
                cls._rising_days(days)
        return value

    @field_validator("accounts")
    @classmethod
    def _account_names(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in value:
            if not ACCOUNT_NAME.fullmatch(name):
                raise ValueError(f"账号名 {name[:80]!r}: 应为 1 到 64 个字母、数字、'_' 或 '-'")
        return value

    @field_validator("routes")
    @classmethod
    def _known_kinds(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind in value:
            if not kinds.is_kind(kind):
                raise ValueError(f"未知的通知类型 {kind!r}，可选 {'、'.join(kinds.NAMES)}")
        return value

    @model_validator(mode="after")
    def _one_identity(self) -> Settings:
        """Accounts that name the bureau take the organization's name unless they set their own."""
        org = self.organization
        for raw in self.accounts.values():
            if not isinstance(raw, dict):
                continue
            if raw.get("type") == "wechat" and not raw.get("author"):
                raw["author"] = org.author
            elif raw.get("type") == "portal" and not raw.get("site_name"):
                raw["site_name"] = org.portal_title
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        config = os.environ.get("PUBLISHER_CONFIG")
        if config:
            sources.append(InitSettingsSource(settings_cls, read_config_file(Path(config))))
        return tuple(sources)

    @field_validator("api_token", "session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError(
                "至少 16 个字符，可用 "
                "python3 -c 'import secrets; print(secrets.token_urlsafe())' 生成"
            )
        return value

    @property
    def listens_beyond_loopback(self) -> bool:
        host = self.host.strip("[]")
        if host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:
            return True  # a host name: it may resolve to anything

    @property
    def sandbox_state_dir(self) -> Path:
        """Where the built-in sandbox keeps what it received (``sandbox_dir``)."""
        if self.sandbox_dir is not None:
            return self.sandbox_dir
        from sqlalchemy.engine import make_url

        try:
            database = make_url(self.database_url).database if self.is_sqlite else None
        except Exception:
            database = None
        if database and database != ":memory:":
            return Path(database).expanduser().parent / "publisher-sandbox"
        return Path("publisher-sandbox")

    @property
    def proxy_addresses(self) -> list[str]:
        """The proxies whose forwarded headers are believed; empty: believe none."""
        if self.forwarded_allow_ips:
            return list(self.forwarded_allow_ips)
        trusting = any(
            isinstance(raw, dict) and str(raw.get("trust_forwarded_for")).lower() in TRUE
            for raw in self.accounts.values()
        )
        return ["127.0.0.1", "::1"] if trusting else []

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def public_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_poll_interval(self) -> float:
        if self.poll_interval:
            return self.poll_interval
        return 0.5 if self.is_sqlite else 5.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def accounts_for(self, kind: str) -> list[str]:
        """The default targets of a notice kind: its route in the settings, else the kind's
        own default route (the accounts of it that exist), else every account."""
        if self.routes.get(kind):
            return list(self.routes[kind])
        default = kinds.spec(kind).route if kinds.is_kind(kind) else None
        if default is not None:
            return [name for name in default if name in self.accounts]
        return list(self.accounts)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML, YAML or JSON file; any problem is one line naming the file."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"PUBLISHER_CONFIG: {path}: 未知的文件类型 {path.suffix!r} (应为 .toml、.yaml 或 .json)"
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"PUBLISHER_CONFIG: 文件不存在: {path}") from None
    except OSError as exc:
        raise ConfigError(f"PUBLISHER_CONFIG: 无法读取 {path}: {exc.strerror}") from None
    try:
        data = decode(raw, fmt)
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise DocumentError(f"顶层应为设置项 (名称 = 值)，实际是 {type(data).__name__}")
        check_shape(data)
    except DocumentError as exc:
        problem = str(exc)
        if exc.syntax:
            at = f" (第 {exc.line} 行)" if exc.line is not None else ""
            problem = f"不是有效的 {fmt}: {exc.problem}{at}"
        raise ConfigError(f"PUBLISHER_CONFIG: {path}: {problem}") from None
    return data


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning any validation problem into one clear ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = problems.location(first, "settings")
        env_name = "PUBLISHER_" + name.upper().replace(".", "__")
        raise ConfigError(f"设置 {env_name} 无效: {problems.describe(first)}") from None
    except UnicodeDecodeError as exc:  # PUBLISHER_CONFIG is checked first: this is .env
        raise ConfigError(f"无法读取设置: .env: {not_utf8(exc)}") from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed config file
        raise ConfigError(f"无法读取设置: {exc}") from None
