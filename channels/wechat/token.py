"""The account's access token: ``cgi-bin/stable_token``, shared by every worker through the DB.

``POST {api_base}/cgi-bin/stable_token`` with JSON ``{"grant_type": "client_credential",
"appid", "secret", "force_refresh"}`` answers ``{"access_token", "expires_in"}`` [S4].

Why one refresh per expiry across processes, without a lock: in normal mode
(``force_refresh=false``) the endpoint returns the *same* token until 5 minutes before it
expires, and only then a new one (the old one stays valid for 5 more minutes) [S4]. Every
worker reads the token from ``ctx.tokens`` (the database) and fetches only when it is missing
or expires within 5 minutes. Two workers that fetch at the same moment therefore receive the
same token, or a new one while the old is still good, and whichever write lands last stores a
valid token: concurrent refreshes are harmless, and the 10,000/min, 500,000/day quota is
never in danger. Unlike ``cgi-bin/token`` (wechatpy's default), a fetch never invalidates the
token another process is using.

``force_refresh=true`` does invalidate it, is limited to 20 a day and 30 s apart [S4], and is
used only by :meth:`StableToken.refresh` when WeChat rejects a token (40001/40014/42001) and a
normal fetch hands the very same token back. The forced refreshes of the day are counted in
``ctx.tokens`` (``stable_token:forced``) so every worker respects the limits together.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from channels.wechat.api import decode_reply, encode_json
from channels.wechat.errors import CHINA, raise_for_errcode, seconds_to_next_day
from publisher.contract import AccountContext
from publisher.errors import RateLimited, TransientError
from publisher.http_errors import request

TOKEN_NAME = "access_token"
FORCED_NAME = "stable_token:forced"
MARGIN = timedelta(minutes=5)  # refetch when less than this remains (new token from WeChat)
FORCE_PER_DAY = 20
FORCE_SPACING = 30.0  # seconds


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class StableToken:
    def __init__(
        self,
        ctx: AccountContext,
        appid: str,
        secret: SecretStr,
        api_base: str,
        timeout: float,
    ) -> None:
        self.ctx = ctx
        self.appid = appid
        self.secret = secret
        self.url = api_base.rstrip("/") + "/cgi-bin/stable_token"
        self.timeout = timeout
        self.last_used: str | None = None  # the token this adapter last sent

    async def get(self) -> str:
        """A token valid for at least 5 more minutes, from the database or fetched."""
        stored = await self.ctx.tokens.get(self.ctx.account, TOKEN_NAME)
        if stored is not None and self._fresh(stored[1]):
            self.last_used = stored[0]
            return stored[0]
        return await self.fetch(force=False)

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and aware(expires_at) - self.ctx.clock.now() > MARGIN

    async def fetch(self, *, force: bool) -> str:
        """Ask WeChat for the token; store it for every worker. Bad credentials raise
        :class:`~publisher.errors.CredentialsInvalid` naming the setting to fix."""
        payload = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret.get_secret_value(),
            "force_refresh": force,
        }
        response = await request(
            self.ctx.http,
            "POST",
            self.url,
            content=encode_json(payload),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        data = decode_reply(response, unsafe=False)
        now = self.ctx.clock.now()
        raise_for_errcode(data, now, fetching_token=True)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientError("stable_token 的回复中没有 access_token")
        expires_in = int(data.get("expires_in") or 7200)
        await self.ctx.tokens.put(
            self.ctx.account, TOKEN_NAME, token, now + timedelta(seconds=expires_in)
        )
        self.last_used = token
        self.ctx.log.info("wechat %s: access token fetched (force=%s)", self.ctx.account, force)
        return token

    async def refresh(self) -> None:
        """WeChat rejected the token we sent: get one it accepts.

        1. another worker may already have stored a newer token: use it;
        2. a normal fetch (``force_refresh=false``) returns the newest token if there is one;
        3. only if that hands back the rejected token again, force a new one (within the
           20-a-day, 30-s-apart limits; beyond them :class:`RateLimited`).
        """
        rejected = self.last_used
        stored = await self.ctx.tokens.get(self.ctx.account, TOKEN_NAME)
        if stored is not None and stored[0] != rejected and self._fresh(stored[1]):
            self.last_used = stored[0]
            return
        token = await self.fetch(force=False)
        if rejected is None or token != rejected:
            return
        await self._count_forced()
        await self.fetch(force=True)

    async def _count_forced(self) -> None:
        now = self.ctx.clock.now()
        today = now.astimezone(CHINA).date().isoformat()
        stored = await self.ctx.tokens.get(self.ctx.account, FORCED_NAME)
        day, count, last = today, 0, None
        if stored is not None:
            try:
                book = json.loads(stored[0])
                day, count = str(book["day"]), int(book["count"])
                last = datetime.fromisoformat(book["last"])
            except (ValueError, KeyError, TypeError):
                pass
        if day != today:
            count = 0
        if count >= FORCE_PER_DAY:
            raise RateLimited(
                "微信 access_token 今日强制刷新次数（20 次）已用完，明日恢复",
                retry_after=seconds_to_next_day(now),
            )
        if last is not None:
            elapsed = (now - aware(last)).total_seconds()
            if elapsed < FORCE_SPACING:
                raise RateLimited(
                    "微信 access_token 强制刷新需间隔 30 秒", retry_after=FORCE_SPACING - elapsed
                )
        book_out = {"day": today, "count": count + 1, "last": now.isoformat()}
        await self.ctx.tokens.put(self.ctx.account, FORCED_NAME, json.dumps(book_out), None)
