"""The public portal: publisher's own web server publishes every notice as a page.

Pages (served by this package's routes, mounted at the root of the web server; ``web.py``):

    GET /portal                          front page: one block per category, live warnings
    GET /portal/category/{kind}?page=N   one category, newest first, paginated
    GET /portal/notices/{id}             one notice (other channels link here)
    GET /portal/notices/{id}/cap.xml     a warning as a CAP 1.2 message (``cap.py``)
    GET /portal/rss.xml | atom.xml       RSS 2.0 / Atom 1.0 of all categories (``feeds.py``)
    GET /portal/cap.xml                  CAP 1.2 Atom feed of the warnings
    GET /portal/stats.json?ids=1,2       counted reads per notice (what fetch_metrics reads)
    GET /portal/static/portal.css        the only stylesheet: no CDN, no web fonts

Publishing is local: a notice's page is live once the delivery of this account is
``posted``, and publish() only answers with the page's address; until then the page is a
404. A notice withdrawn (``fields.withdrawn``, or every one of its deliveries cancelled) or
lifted (``fields.lifted``; or past ``fields.valid_until``: expired) keeps its page, marked
已撤回 / 已解除 / 已过期. Titles and bodies are the portal's message templates
(``templates/portal/<kind>/``), rendered with autoescaping at submit; follow-ups
(update, lift, withdrawal) are described in ``lifecycle.py``; the page templates are
``templates/portal/pages/``. Rendered HTML passes an allow-list (``sanitize.py``) once more
before it is served.

One portal per server: the routes are the same for every portal account, so with two of
them the first account's settings (site name, sandbox banner) serve, and a delivery of
either makes a page live. A notice not routed to any portal account has no page (404),
which matters because Weibo and WeChat link to ``/portal/notices/{id}``.

Pages carry the metadata of 《政府网站网页设计规范》(国办函〔2019〕41号) — ``SiteName``,
``ColumnName``, ``ArticleTitle``, ``PubDate``, ``ContentSource``, ``Url`` (names as recalled
in the reference, marked UNCERTAIN there; reference 5).

Reads: the portal counts page views itself (``pageviews.py``): one per visitor per notice per
local day, bots and prefetches left out; fetch_metrics() reads the counts over HTTP from
``/portal/stats.json`` on ``base_url`` (or ``stats_url``), the same way every other adapter
reads its channel: the adapter is handed no database.

CMS push (optional, ``cms.py``): with ``cms_url`` set, publish() also sends the page to an
external CMS and records its id and url in the delivery's detail. Idempotency: ``lookup``
(the page is ours: finding it is answering with it), except with a CMS and no
``cms_lookup_url``, where an unknown outcome goes to a person (``none``).

Limits: the portal has none of its own; a CMS's limits belong in its configuration.

Sandbox: ``sandbox.py`` imitates a CMS at ``/_sandbox/portal`` (``cms_url:
"{base_url}/_sandbox/portal/api/articles"``, ``cms_lookup_url:
"{base_url}/_sandbox/portal/api/articles/by-key/{key}"``, ``cms_id_path: "data.id"``,
``cms_url_path: "data.url"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from channels.portal import cms
from publisher.contract import (
    AccountOptions,
    Capabilities,
    ChannelAdapter,
    Format,
    HttpUrl,
    Idempotency,
    MetricSample,
    OutgoingPost,
    PostRef,
    PublishResult,
)
from publisher.errors import CredentialsInvalid, Duplicate, TransientError
from publisher.http_errors import dig, raise_for_server_trouble, request
from publisher.render import KIND_LABELS

STATS_BATCH = 100


class PortalOptions(AccountOptions):
    type: str = "portal"
    site_name: str = "市安全生产监督管理局"
    default_area: str = "本市"  # CAP areaDesc when a warning names no area
    cap_sender: str | None = None  # default portal@<host of base_url>
    cap_identifier_prefix: str | None = None  # default <host>.notice.
    trust_forwarded_for: bool = False  # behind a reverse proxy: count X-Forwarded-For
    # Where fetch_metrics asks for counts; default {base_url}/portal/stats.json. Point it at
    # the server's own address (http://127.0.0.1:8000/...) when base_url is a public name
    # the server cannot reach from inside.
    stats_url: HttpUrl | None = None
    page_size: int = Field(default=20, ge=5, le=100)
    feed_size: int = Field(default=50, ge=1, le=500)
    max_concurrency: int = Field(default=8, ge=1)
    cms_url: HttpUrl | None = None
    cms_method: Literal["POST", "PUT"] = "POST"
    cms_auth_header: SecretStr | None = None  # sent as Authorization
    cms_body_template: str | None = None  # Jinja2 string giving JSON (see cms.py)
    cms_id_path: str = "id"
    cms_url_path: str | None = "url"
    cms_lookup_url: HttpUrl | None = None  # GET, {key} = our idempotency key; 404 = not there
    cms_timeout: float = Field(default=10.0, gt=0)

    @field_validator("cms_body_template")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value:
            cms.compile_body_template(value)
        return value


class PortalAdapter(ChannelAdapter[PortalOptions]):
    type_name = "portal"
    Options = PortalOptions

    @property
    def capabilities(self) -> Capabilities:
        o = self.options
        honest = o.cms_url is None or o.cms_lookup_url is not None
        return Capabilities(
            formats=(Format.HTML,),
            parts=("title", "body"),
            max_concurrency=o.max_concurrency,
            idempotency=Idempotency.LOOKUP if honest else Idempotency.NONE,
            metrics=("reads",),
            hosts_copies=True,
        )

    def page_url(self, notice_id: int) -> str:
        return self.ctx.notice_url(notice_id)

    @classmethod
    def example_options(cls) -> dict[str, Any]:
        """A portal that also pushes to a CMS: the options that exercise its HTTP path."""
        return {
            "cms_url": "http://127.0.0.1:9/cms/articles",
            "cms_lookup_url": "http://127.0.0.1:9/cms/articles/by-key/{key}",
            "cms_auth_header": "Bearer example",
        }

    @classmethod
    def sandbox(cls) -> Any:
        from channels.portal.sandbox import CmsSandbox

        return CmsSandbox().router

    def routes(self) -> Any:
        from channels.portal.web import PortalSite

        return PortalSite(self.ctx.account).router

    async def publish(self, post: OutgoingPost) -> PublishResult:
        withdrawn = withdrawn_original(post)
        if withdrawn is not None:  # issue 11: recorded on the original's page, no page of its own
            url = self.page_url(withdrawn)
            return PublishResult(
                remote_id=str(withdrawn), url=url, detail={"page": url, "withdraws": withdrawn}
            )
        url = self.page_url(post.notice.id)
        detail: dict[str, Any] = {"page": url}
        if self.options.cms_url:
            detail.update(await self._push(post, url))
        return PublishResult(remote_id=str(post.notice.id), url=url, detail=detail)

    async def lookup(self, post: OutgoingPost) -> PublishResult | None:
        if withdrawn_original(post) is not None:
            return await self.publish(post)  # nothing left the server: answering is finding
        url = self.page_url(post.notice.id)
        detail: dict[str, Any] = {"page": url}
        o = self.options
        if o.cms_url and o.cms_lookup_url:
            response = await request(
                self.ctx.http,
                "GET",
                o.cms_lookup_url.replace("{key}", post.idempotency_key),
                headers=self._headers(),
                timeout=o.cms_timeout,
            )
            if response.status_code == 404:
                return None
            if response.status_code >= 400:
                raise_for_server_trouble(response)
                raise TransientError(cms.reason(response, cms.response_json(response)))
            data = cms.response_json(response)
            detail.update(
                {
                    "cms_id": _text(dig(data, o.cms_id_path)),
                    "cms_url": _text(dig(data, o.cms_url_path)),
                }
            )
        return PublishResult(remote_id=str(post.notice.id), url=url, detail=detail)

    def _headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"User-Agent": "publisher/0.1 (portal)"}
        if key:
            headers["Idempotency-Key"] = key
        if self.options.cms_auth_header is not None:
            headers["Authorization"] = self.options.cms_auth_header.get_secret_value()
        return headers

    async def _push(self, post: OutgoingPost, url: str) -> dict[str, Any]:
        o = self.options
        assert o.cms_url is not None
        n = post.notice
        values = {
            "title": post.rendered.title,
            "body": post.rendered.body,
            "url": url,
            "kind": n.kind,
            "kind_label": KIND_LABELS.get(n.kind, n.kind),
            "notice_id": n.id,
            "published_at": self.ctx.clock.now().isoformat(timespec="seconds"),
            "fields": dict(n.fields),
            "idempotency_key": post.idempotency_key,
        }
        response = await request(
            self.ctx.http,
            o.cms_method,
            o.cms_url,
            json=cms.body(o.cms_body_template, values),
            headers=self._headers(post.idempotency_key),
            timeout=o.cms_timeout,
        )
        try:
            return cms.outcome(response, o.cms_id_path, o.cms_url_path)
        except Duplicate as exc:  # the CMS has it already: our page is what counts
            return {"cms_id": exc.remote_id, "cms_url": exc.url, "cms_duplicate": True}

    async def fetch_metrics(self, refs: Sequence[PostRef]) -> list[MetricSample]:
        by_notice: dict[str, list[PostRef]] = {}
        for ref in refs:
            if ref.remote_id and ref.remote_id.isdigit():
                by_notice.setdefault(ref.remote_id, []).append(ref)
        ids = sorted(by_notice, key=int)
        samples: list[MetricSample] = []
        stats_url = self.options.stats_url or f"{self.ctx.base_url.rstrip('/')}/portal/stats.json"
        for start in range(0, len(ids), STATS_BATCH):
            batch = ids[start : start + STATS_BATCH]
            response = await request(
                self.ctx.http,
                "GET",
                stats_url,
                params={"ids": ",".join(batch)},
                headers=self._headers(),
                timeout=10.0,
            )
            raise_for_server_trouble(response)
            if response.status_code >= 400:
                raise TransientError(f"门户网站统计: HTTP {response.status_code}")
            reads = (cms.response_json(response) or {}).get("reads", {})
            observed = self.ctx.clock.now()
            for notice_id in batch:
                for ref in by_notice[notice_id]:
                    samples.append(
                        MetricSample(
                            delivery_id=ref.delivery_id,
                            metric="reads",
                            value=int(reads.get(notice_id, 0)),
                            observed_at=observed,
                            source="portal page views",
                        )
                    )
        return samples

    async def check(self) -> None:
        o = self.options
        if not o.cms_url:
            return
        response = await request(
            self.ctx.http, "HEAD", o.cms_url, headers=self._headers(), timeout=o.cms_timeout
        )
        if response.status_code in (401, 403):
            raise CredentialsInvalid(f"{o.cms_url} 拒绝了凭据 (HTTP {response.status_code})")
        if response.status_code >= 500:
            raise TransientError(f"{o.cms_url} 返回 HTTP {response.status_code}")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def withdrawn_original(post: OutgoingPost) -> int | None:
    """A withdrawal (issue 11): the id of the notice it withdraws, whose page says 已撤回
    (the store keeps both out of every list). None for any other notice."""
    follows = post.notice.follows or {}
    if follows.get("relation") == "withdraws" and follows.get("notice_id") is not None:
        return int(follows["notice_id"])
    return None
