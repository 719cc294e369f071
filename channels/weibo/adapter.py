"""Sina Weibo: post a short status with the safe-domain link to the notice's portal copy.

Endpoints (Weibo Open API v2, form-encoded, token in the ``access_token`` field) [S40][S46]:

    POST {api_base}/2/statuses/share.json       access_token, status, rip      -> Status object
    POST {api_base}/2/statuses/destroy.json     access_token, id -> the deleted Status object
                                                 (withdrawals, recall.py)            [S44]
    GET  {api_base}/2/statuses/count.json       access_token, ids (<=100, comma-joined)
                                                 -> [{"id","comments","reposts","attitudes"}]
    POST {api_base}/oauth2/get_token_info       access_token -> uid, appkey, scope, create_at,
                                                 expire_in                          [S41]
    GET  {commercial_api_base}/2/media_statuses/count_sp/biz.json   ids (<=100)
         commercial contract only; the same rows plus "reads"                      [S47]

``statuses/update`` and friends are gone (10014 since 2017) [S44]; ``share`` is the only way.

Withdrawals (issue 11; ``channels/weibo/recall.py``): with ``recall = true`` (the default) a
withdrawal deletes this account's post of the original with ``statuses/destroy`` (``id``;
open.weibo.com/wiki/2/statuses/destroy: "you can only delete the weibo created by
yourself"). The reference lists ``destroy`` among the write APIs restricted since 2017-06-30,
which answer 10014 "Insufficient app permissions" to an app without the advanced permission
[S44]: that refusal, like any permanent one, turns the withdrawal into a correction post
(【撤回】…) with a note saying why. 20101 "weibo does not exist" means it is gone already.

Auth: an OAuth2 access token given per account (``access_token``, a secret). Weibo issues
server-side apps no refresh token (reference 2.1): when it expires or is revoked every call
fails with 21327/21301/2131x, which we raise as ``CredentialsInvalid`` telling the user to
authorise the app again; ``check()`` (``doctor``) reads ``expire_in`` and warns a week ahead.

``rip`` is required by ``share``: "the real IP of the operating user", e.g. ``211.156.0.1``
[S40]. A sandbox account may leave it out (127.0.0.1 is sent). A real account must set it to
the operator's public address: ``check()`` (so ``doctor``) says so when it is missing or a
loopback, private or otherwise non-public address (``rip_problem``). Publishing still sends
127.0.0.1 when it is missing, as before: doctor is where an operator is told.

Limits: a status is at most 140 字 measured Weibo's way (see ``length.py``): 汉字 1, ASCII ½,
each link a fixed 11.5 字 (``link_weight``), rounded up [S40]. Every status must carry a link
on the app's safe domain (安全域名) or Weibo answers 10017 "text not find domain!" [S44], so
publish() appends `` {portal_base}/portal/notices/{notice id}``; the notice id only exists
after submit, which is why the link is added here and the body limit is 140 minus the link
and its space (128 字 by default). The templates write the editor's ``summary`` when there is
one, else the notice's lead; a body still too long is cut at the last sentence or clause end
that fits, never inside a number, date, document number, word or link, and ends with "……"
(``Overflow.TRUNCATE``, ``publisher.textcut``), so the post reads "lead…… link" as government
accounts write it. A notice is never split into several posts. ``#话题#`` is refused
by ``share`` [S40]: the templates write '#' as '＃', and publish() refuses a status that still
holds one rather than have Weibo turn it into a topic. Posting is capped at 30 per user-hour
(reference 2.4) [S48]; one post at a time per account.

Idempotency: none. Weibo takes no key and ``statuses/user_timeline`` is outside the
reference, so an unknown outcome goes to a person. A re-sent status is refused as repeated
content (20017/20019/20111), and since it carries this notice's link we treat that as
``Duplicate`` (posted, without a post id).

Result: ``remote_id`` is the status ``idstr``; ``url`` is ``{web_base}/{user idstr}/{idstr}``
(weibo.com accepts the numeric id as well as the base62 one), else ``m.weibo.cn/status/{idstr}``.

Metrics: comments, reposts and likes (Weibo's "attitudes") from ``statuses/count``; "reads"
only with a commercial API contract (``commercial_api``). There is no read count in the
public API [S46][S47].

Sandbox: an account with ``sandbox: true`` talks to ``{base_url}/_sandbox/weibo`` (see
``sandbox.py``) unless its ``api_base`` says otherwise, so a sandbox account never reaches
the real Weibo by accident.

Error codes and what each becomes: ``errors.py`` (a table) [S45].
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

import httpx
from pydantic import Field, SecretStr, field_validator

from channels import recall
from channels.weibo.errors import REAUTHORISE, weibo_error
from channels.weibo.length import DEFAULT_LINK_WEIGHT, body_limit, topics, weibo_length
from channels.weibo.recall import withdraw
from publisher import links
from publisher.contract import (
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Format,
    HttpUrl,
    Idempotency,
    Limit,
    MetricSample,
    OutgoingPost,
    Overflow,
    PostRef,
    PublishResult,
    RateLimit,
)
from publisher.errors import (
    CredentialsInvalid,
    OutcomeUnknown,
    PermanentError,
    TransientError,
)
from publisher.http_errors import raise_for_server_trouble, request

API_BASE = "https://api.weibo.com"
COMMERCIAL_API_BASE = "https://c.api.weibo.com"
WEB_BASE = "https://weibo.com"
SANDBOX_PATH = "/_sandbox/weibo"
LOOPBACK = "127.0.0.1"  # the rip a sandbox account sends when none is set
COUNT_BATCH = 100  # statuses/count takes at most 100 ids [S46]
POSTS_PER_HOUR = 30  # per user, reference 2.4 [S48]
EXPIRY_WARNING = timedelta(days=7)

# statuses/count field -> our metric name
COUNT_FIELDS = {"comments": "comments", "reposts": "reposts", "attitudes": "likes"}


class WeiboOptions(AccountOptions):
    type: str = "weibo"
    access_token: SecretStr
    rip: str | None = None  # "real IP of the operating user", required by share [S40]
    # default https://api.weibo.com; a sandbox account: {base_url}/_sandbox/weibo
    api_base: HttpUrl | None = None
    portal_base: HttpUrl | None = None  # where the portal copy lives; default: this server
    web_base: HttpUrl | None = None  # for post URLs; default https://weibo.com
    link_weight: float = Field(default=DEFAULT_LINK_WEIGHT, gt=0, le=70)
    commercial_api: bool = False  # read counts through c.api.weibo.com (needs a contract)
    commercial_api_base: HttpUrl | None = None  # default https://c.api.weibo.com
    app_key: str | None = None  # if set, check() verifies the token belongs to this app
    max_attempts: int = Field(default=8, ge=1)
    timeout: float = Field(default=15.0, gt=0)
    recall: bool = True  # a withdrawal deletes the original (statuses/destroy) if Weibo lets it

    @field_validator("rip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)  # ValueError names the field
        return value

    @field_validator("api_base", "portal_base", "web_base", "commercial_api_base")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value


class WeiboAdapter(ChannelAdapter[WeiboOptions]):
    type_name = "weibo"
    Options = WeiboOptions

    @classmethod
    def sandbox(cls) -> Any:
        from channels.weibo.sandbox import WeiboSandbox

        return WeiboSandbox().router

    @property
    def capabilities(self) -> Capabilities:
        o = self.options
        measure = partial(weibo_length, link_weight=o.link_weight)
        body = Limit(
            "body", body_limit(o.link_weight), measure=measure, overflow=Overflow.TRUNCATE
        )
        metrics = ("comments", "reposts", "likes") + (("reads",) if o.commercial_api else ())
        return Capabilities(
            formats=(Format.TEXT,),
            parts=("body",),
            limits=(body,),
            rate_limit=RateLimit(POSTS_PER_HOUR, 3600.0),
            max_concurrency=1,
            max_attempts=o.max_attempts,
            idempotency=Idempotency.NONE,
            metrics=metrics,
            links_to_copy=True,
        )

    # -- where things are -----------------------------------------------------------------

    def _base(self, configured: str | None, real: str, sandbox_suffix: str = "") -> str:
        if configured:
            return configured
        if self.options.sandbox:
            return f"{self.ctx.base_url.rstrip('/')}{SANDBOX_PATH}{sandbox_suffix}"
        return real

    @property
    def api_base(self) -> str:
        return self._base(self.options.api_base, API_BASE)

    @property
    def commercial_api_base(self) -> str:
        return self._base(self.options.commercial_api_base, COMMERCIAL_API_BASE)

    @property
    def web_base(self) -> str:
        return self._base(self.options.web_base, WEB_BASE, "/web")

    def portal_link(self, notice_id: int) -> str:
        if self.options.portal_base:  # another host: its /r/ may not reach us, link the page
            return links.notice_url(self.options.portal_base, notice_id)
        return self.ctx.notice_url(notice_id)

    def status_text(self, post: OutgoingPost) -> str:
        """The status as sent: the rendered body, a space, the safe-domain portal link."""
        body = post.rendered.body.strip()
        link = self.portal_link(post.notice.id)
        return f"{body} {link}" if body else link

    @property
    def _token(self) -> str:
        return self.options.access_token.get_secret_value()

    # -- publishing -----------------------------------------------------------------------

    @property
    def _rip(self) -> str:
        return self.options.rip or LOOPBACK

    async def publish(self, post: OutgoingPost) -> PublishResult:
        if recall.is_withdrawal(post):
            return await withdraw(self, post)
        return await self.share(post)

    async def share(self, post: OutgoingPost) -> PublishResult:
        status = self.status_text(post)
        found = topics(status)
        if found:
            raise PermanentError(
                f"内容含有微博话题 {found[0]!r}；statuses/share 不接受 #话题# "
                "(请在模板中写全角 '＃')"
            )
        response = await request(
            self.ctx.http,
            "POST",
            f"{self.api_base}/2/statuses/share.json",
            data={"access_token": self._token, "status": status, "rip": self._rip},
            timeout=self.options.timeout,
        )
        data = _reply(response)
        if not isinstance(data, dict) or not (data.get("idstr") or data.get("id")):
            raise OutcomeUnknown(
                f"微博返回 HTTP {response.status_code} 但没有微博 id；这条微博可能已发出: "
                f"{response.text[:200]}"
            )
        remote_id = str(data.get("idstr") or data["id"])
        user = data.get("user")
        uid = (user.get("idstr") or user.get("id")) if isinstance(user, dict) else None
        url = (
            f"{self.web_base}/{uid}/{remote_id}"
            if uid
            else f"https://m.weibo.cn/status/{remote_id}"
        )
        detail = {"mid": str(data.get("mid") or remote_id), "status": status}
        if uid:
            detail["uid"] = str(uid)
        return PublishResult(remote_id=remote_id, url=url, detail=detail)

    # -- metrics --------------------------------------------------------------------------

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        """Comments, reposts and likes (and reads, commercially) in batches of 100 ids.

        Posts Weibo no longer has (deleted) are silently left out of its answer, so they get
        no sample rather than a zero.
        """
        owners: dict[str, list[int]] = {}
        for ref in refs:
            if ref.remote_id:
                owners.setdefault(ref.remote_id, []).append(ref.delivery_id)
        ids = list(owners)
        if self.options.commercial_api:
            url = f"{self.commercial_api_base}/2/media_statuses/count_sp/biz.json"
            fields = {**COUNT_FIELDS, "reads": "reads"}
            source = "weibo:media_statuses/count_sp/biz"
        else:
            url = f"{self.api_base}/2/statuses/count.json"
            fields = dict(COUNT_FIELDS)
            source = "weibo:statuses/count"
        samples: list[MetricSample] = []
        for start in range(0, len(ids), COUNT_BATCH):
            batch = ids[start : start + COUNT_BATCH]
            response = await request(
                self.ctx.http,
                "GET",
                url,
                params={"access_token": self._token, "ids": ",".join(batch)},
                timeout=self.options.timeout,
            )
            rows = _reply(response)
            if not isinstance(rows, list):
                raise TransientError(f"微博计数接口返回的不是列表: {response.text[:200]}")
            observed = self.ctx.clock.now()
            for row in rows:
                if not isinstance(row, dict):
                    continue
                for delivery_id in owners.get(str(row.get("id")), []):
                    samples.extend(
                        MetricSample(delivery_id, metric, int(row[name]), observed, source)
                        for name, metric in fields.items()
                        if _is_count(row.get(name))
                    )
        return samples

    # -- credentials ----------------------------------------------------------------------

    async def check(self) -> None:
        """A real account's ``rip`` is a public address; then ask Weibo about the token:
        valid, for this app, and not about to expire."""
        problem = None if self.options.sandbox else rip_problem(self.options.rip)
        if problem:
            raise PermanentError(problem)
        response = await request(
            self.ctx.http,
            "POST",
            f"{self.api_base}/oauth2/get_token_info",
            data={"access_token": self._token},
            timeout=self.options.timeout,
        )
        info = _reply(response)
        if not isinstance(info, dict):
            raise TransientError(f"get_token_info 返回异常: {response.text[:200]}")
        app_key = self.options.app_key
        if app_key and str(info.get("appkey")) != app_key:
            raise CredentialsInvalid(
                f"access token 属于应用 {info.get('appkey')!r}，不是 {app_key!r}。" + REAUTHORISE
            )
        expire_in = str(info.get("expire_in", ""))
        if expire_in.lstrip("-").isdigit():
            left = timedelta(seconds=int(expire_in))
            if left <= timedelta(0):
                raise CredentialsInvalid(f"access token 已过期。{REAUTHORISE}")
            if left < EXPIRY_WARNING:
                until = self.ctx.clock.now() + left
                self.ctx.log.warning(
                    "weibo account %s: the access token expires at %s; authorise the app again "
                    "before then",
                    self.ctx.account,
                    until.isoformat(timespec="minutes"),
                )


def rip_problem(rip: str | None) -> str | None:
    """What is wrong with a real account's ``rip`` (the operator's public IP), if anything."""
    if rip is None:
        return "未设置 rip：真实微博账号须把 rip 设为运营者的真实公网 IP（statuses/share 要求）"
    if not ipaddress.ip_address(rip).is_global:
        return (
            f"rip = {rip} 是回环、内网或保留地址：真实微博账号须把 rip 设为运营者的真实公网 IP"
            "（statuses/share 要求）"
        )
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reply(response: httpx.Response) -> Any:
    """The JSON answer, or the error Weibo's ``error_code`` (else the HTTP status) stands for."""
    data = _json(response)
    if isinstance(data, dict) and data.get("error_code") not in (None, "", 0, "0"):
        raise weibo_error(data["error_code"], str(data.get("error") or ""))
    raise_for_server_trouble(response)
    if response.status_code in (401, 403):
        raise CredentialsInvalid(
            f"微博返回 HTTP {response.status_code}: {response.text[:200]}。{REAUTHORISE}",
            code=response.status_code,
        )
    if response.status_code >= 400:
        raise PermanentError(
            f"微博返回 HTTP {response.status_code}: {response.text[:300]}",
            code=response.status_code,
        )
    return data
