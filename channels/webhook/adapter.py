"""Generic JSON webhook: POST the notice as JSON to a configured URL.

Request: ``POST {url}`` with ``Content-Type: application/json`` and ``Idempotency-Key: <key>``
(the delivery's own key), body::

    {"title", "body", "summary", "kind", "urgent", "fields", "table",
     "notice_id", "delivery_id", "idempotency_key", "format"}

plus, for a follow-up (issue 11: an update, a lift or a withdrawal of an earlier notice),
``"follows": {"relation": "updates"|"lifts"|"withdraws", "notice_id", "title", "reason",
"changes", "posted_at", "url"}``, so the receiver can link or retract its copy of the original
itself; ``title``/``body`` are then the follow-up's text (``templates/webhook/_followup``).

``title`` and ``body`` come from ``templates/webhook/<kind>/`` (``_default`` otherwise).
Response: any 2xx; the remote id and url are read from the JSON reply at ``id_path`` and
``url_path`` (dotted paths). 409 means the receiver already has this key (treated as posted);
429 waits for ``Retry-After``; 5xx/408 retry; 401/403 and other 4xx fail with the
receiver's own message.

Idempotency is what the receiver offers, set per account: ``remote_key`` (it honours the
header), ``lookup`` (``GET lookup_url`` with ``{key}`` answers 200 with the post or 404), or
``none``.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
from pydantic import Field, SecretStr

from publisher.contract import (
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Format,
    HttpUrl,
    Idempotency,
    Limit,
    OutgoingPost,
    PublishResult,
    RateLimit,
)
from publisher.errors import CredentialsInvalid, Duplicate, PermanentError, TransientError
from publisher.http_errors import dig, raise_for_server_trouble, request


class WebhookOptions(AccountOptions):
    type: str = "webhook"
    url: HttpUrl
    auth_header: SecretStr | None = None  # sent as Authorization
    idempotency: Idempotency = Idempotency.REMOTE_KEY
    lookup_url: HttpUrl | None = None  # e.g. https://oa.example/api/posts?key={key}
    id_path: str = "id"
    url_path: str | None = "url"
    format: Format = Format.MARKDOWN
    title_max: int | None = Field(default=None, ge=1)
    body_max: int | None = Field(default=None, ge=1)
    max_concurrency: int = Field(default=8, ge=1)
    rate_per_minute: int | None = Field(default=None, ge=1)
    max_attempts: int = Field(default=8, ge=1)
    timeout: float = Field(default=10.0, gt=0)


class WebhookAdapter(ChannelAdapter[WebhookOptions]):
    type_name = "webhook"
    Options = WebhookOptions

    @classmethod
    def sandbox(cls) -> Any:
        from channels.webhook.sandbox import WebhookSink

        return WebhookSink().router

    @property
    def capabilities(self) -> Capabilities:
        o = self.options
        limits = []
        if o.title_max:
            limits.append(Limit("title", o.title_max))
        if o.body_max:
            limits.append(Limit("body", o.body_max))
        idempotency = o.idempotency
        if idempotency is Idempotency.LOOKUP and not o.lookup_url:
            idempotency = Idempotency.NONE
        return Capabilities(
            formats=(o.format,),
            limits=tuple(limits),
            rate_limit=RateLimit(o.rate_per_minute, 60.0) if o.rate_per_minute else None,
            max_concurrency=o.max_concurrency,
            max_attempts=o.max_attempts,
            idempotency=idempotency,
        )

    @functools.cached_property
    def _target(self) -> httpx.URL:
        """The receiver's URL, parsed once: httpx parsing it again per post was 3% of a post."""
        return httpx.URL(self.options.url)

    def _headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"User-Agent": "publisher/0.1"}
        if key:
            headers["Idempotency-Key"] = key
        if self.options.auth_header is not None:
            headers["Authorization"] = self.options.auth_header.get_secret_value()
        return headers

    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        n = post.notice
        payload = {
            "title": post.rendered.title,
            "body": post.rendered.body,
            "format": post.rendered.format.value,
            "summary": n.summary,
            "kind": n.kind,
            "urgent": n.urgent,
            "fields": dict(n.fields),
            "table": dict(n.table) if n.table else None,
            "notice_id": n.id,
            "delivery_id": post.delivery_id,
            "idempotency_key": post.idempotency_key,
        }
        if n.follows:
            payload["follows"] = dict(n.follows)
        return payload

    def _result(self, data: Any) -> PublishResult:
        remote_id = dig(data, self.options.id_path)
        url = dig(data, self.options.url_path)
        return PublishResult(
            remote_id=None if remote_id is None else str(remote_id),
            url=None if url is None else str(url),
        )

    async def publish(self, post: OutgoingPost) -> PublishResult:
        response = await request(
            self.ctx.http,
            "POST",
            self._target,
            json=self._payload(post),
            headers=self._headers(post.idempotency_key),
            timeout=self.options.timeout,
        )
        raise_for_server_trouble(response)
        data = _json(response)
        if response.status_code == 409:
            result = self._result(data)
            raise Duplicate(
                "接收端已有这个幂等键的记录",
                remote_id=result.remote_id,
                url=result.url,
                code=409,
            )
        if response.status_code in (401, 403):
            raise CredentialsInvalid(_reason(response, data), code=response.status_code)
        if response.status_code >= 400:
            raise PermanentError(_reason(response, data), code=response.status_code)
        return self._result(data)

    async def lookup(self, post: OutgoingPost) -> PublishResult | None:
        if not self.options.lookup_url:
            raise NotImplementedError("no lookup_url configured")
        url = self.options.lookup_url.replace("{key}", post.idempotency_key)
        response = await request(
            self.ctx.http, "GET", url, headers=self._headers(), timeout=self.options.timeout
        )
        if response.status_code == 404:
            return None
        raise_for_server_trouble(response)
        if response.status_code >= 400:
            raise TransientError(f"查询失败: {_reason(response, _json(response))}")
        return self._result(_json(response))

    async def check(self) -> None:
        response = await request(
            self.ctx.http,
            "HEAD",
            self.options.url,
            headers=self._headers(),
            timeout=self.options.timeout,
        )
        if response.status_code in (401, 403):
            raise CredentialsInvalid(f"{self.options.url} 拒绝了凭据 (HTTP {response.status_code})")
        if response.status_code >= 500:
            raise TransientError(f"{self.options.url} 返回 HTTP {response.status_code}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(response: httpx.Response, data: Any) -> str:
    detail = None
    if isinstance(data, dict):
        detail = data.get("error") or data.get("message") or data.get("detail")
    return f"HTTP {response.status_code}: {detail or response.text[:300] or response.reason_phrase}"
