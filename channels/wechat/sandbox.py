"""A local WeChat Official Account API, mounted at ``/_sandbox/wechat``.

Same paths, fields and error codes as ``api.weixin.qq.com`` (reference §1), errors as HTTP 200
+ ``{"errcode", "errmsg"}``:

    POST /cgi-bin/stable_token                 tokens live 7200 s; same token until 5 min left
    POST /cgi-bin/material/add_material        ?type=image|thumb, multipart ``media`` (an
                                               ASCII file name with an extension, else 40005)
    POST /cgi-bin/media/uploadimg              jpg/png < 1 MB
    POST /cgi-bin/draft/add                    checks title 32, digest 128, content, thumb
    POST /cgi-bin/draft/get | batchget         the drafts still in the draft box, newest first
    POST /cgi-bin/draft/delete                 takes a draft out of the draft box
    POST /cgi-bin/media/uploadnews             news for mass send (same checks as draft/add)
    POST /cgi-bin/freepublish/submit | get     status 1 for ``publish_seconds``, then final
    POST /cgi-bin/freepublish/batchget | getarticle   articles published from drafts
    POST /cgi-bin/freepublish/delete           removes a published article (sandbox_delete.py)
    POST /cgi-bin/message/mass/sendall | get | delete   once a day (then 45028), and a month's
                                               quota if set; clientmsgid -> 45065 (sandbox_mass.py)
    POST /datacube/getarticletotaldetail       running totals that grow with time
    POST /datacube/getarticleread | getarticleshare   per-day increments (one day at a time)

    The kit's routes (``publisher.sandbox.kit``): GET /posts, everything received (and the
    published articles: every finished job, polled or not); DELETE /posts forgets it (issued
    tokens stay valid); PUT /faults {"latency_ms", "error_rate", "errcode", "only",
    "expire_token", "lost_reply", "hang_seconds", "publish_seconds", "publish_status",
    "reads_per_minute", "mass_sends_per_day", "mass_sends_per_month", "mass_send_drafts",
    "delete_unauthorized"}
    GET  /s/<article_id>, /media/<media_id>   the published article and uploaded images

The draft box and the published list follow the reference (§1.3, §1.4 [S10][S15][S16]):
``batchget`` takes ``{"offset", "count" (1-20), "no_content"}`` and answers ``{"total_count",
"item_count", "item": [...]}``, newest first; ``no_content=1`` leaves out each article's HTML
``content``; ``freepublish/batchget`` lists only articles published through ``freepublish``
(not mass-sent ones), each ``news_item`` with its ``url`` and ``is_deleted``. A draft leaves the
draft box the moment ``freepublish/submit`` or ``mass/sendall`` takes it (and does not come
back if the job fails); a job's article exists as soon as its ``publish_seconds`` are over,
whether or not anyone polls ``freepublish/get``.
``sendall`` takes a draft's media_id [S12]; ``mass_send_drafts = false`` answers 40007 for one
instead, as some accounts report. Article urls carry ``mid=<msg_data_id>&idx=1``.
Replies, faults, tokens: ``sandbox_replies.py``; the datacube: ``sandbox_stats.py``; what
a restart keeps: ``sandbox_state.py``.
"""

from __future__ import annotations

import asyncio
import html
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from channels.wechat import sandbox_delete, sandbox_mass, sandbox_state
from channels.wechat import sandbox_stats as stats
from channels.wechat.covers import image_type
from channels.wechat.sandbox_replies import (
    TokenDesk,
    WechatFaults,
    article_problem,
    fail,
    news_item,
    page,
    read_json,
)
from publisher.sandbox.kit import Sandbox

Handler = Callable[[Request, dict[str, Any]], Awaitable[dict[str, Any]]]


class WechatSandbox(Sandbox[WechatFaults]):
    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__(WechatFaults(), rng)
        self.tokens = TokenDesk(self.rng)
        self._reset()
        r = self.router
        endpoints: dict[str, tuple[Handler, bool]] = {
            "/cgi-bin/stable_token": (self.tokens.stable_token, False),
            "/cgi-bin/material/add_material": (self.add_material, True),
            "/cgi-bin/media/uploadimg": (self.uploadimg, True),
            "/cgi-bin/draft/add": (self.draft_add, True),
            "/cgi-bin/draft/get": (self.draft_get, True),
            "/cgi-bin/draft/batchget": (self.draft_batchget, True),
            "/cgi-bin/draft/delete": (self.draft_delete, True),
            "/cgi-bin/media/uploadnews": (self.uploadnews, True),
            "/cgi-bin/freepublish/submit": (self.freepublish_submit, True),
            "/cgi-bin/freepublish/get": (self.freepublish_get, True),
            "/cgi-bin/freepublish/batchget": (self.freepublish_batchget, True),
            "/cgi-bin/freepublish/getarticle": (self.freepublish_getarticle, True),
            "/cgi-bin/freepublish/delete": (partial(sandbox_delete.freepublish_delete, self), True),
            "/cgi-bin/message/mass/sendall": (partial(sandbox_mass.sendall, self), True),
            "/cgi-bin/message/mass/get": (partial(sandbox_mass.get, self), True),
            "/cgi-bin/message/mass/delete": (partial(sandbox_mass.delete, self), True),
            "/datacube/getarticletotaldetail": (self.datacube, True),
            "/datacube/getarticleread": (self.datacube, True),
            "/datacube/getarticleshare": (self.datacube, True),
        }
        for path, (handler, needs_token) in endpoints.items():
            r.add_api_route(path, self._endpoint(path, handler, needs_token), methods=["POST"])
        r.add_api_route("/s/{article_id}", self.article_page, methods=["GET"])
        r.add_api_route("/media/{media_id}", self.media_file, methods=["GET"])

    def _reset(self) -> None:
        self.posts: list[dict[str, Any]] = []  # every API call received
        self.materials: dict[str, dict[str, Any]] = {}  # media_id/url key -> {data, type}
        self.drafts: dict[str, dict[str, Any]] = {}
        self.news: dict[str, dict[str, Any]] = {}  # uploadnews media_id -> {articles, appid}
        self.jobs: dict[str, dict[str, Any]] = {}  # publish_id -> job
        self.mass: dict[str, dict[str, Any]] = {}  # msg_id -> send
        self.by_clientmsgid: dict[str, str] = {}
        self.articles: dict[str, dict[str, Any]] = {}  # article_id -> article

    # -- plumbing --------------------------------------------------------------------------

    def _endpoint(
        self, path: str, handler: Handler, needs_token: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            f = self.faults
            await self.network_delay()
            record: dict[str, Any] = {
                "path": path,
                "at": datetime.now(UTC).isoformat(),
                "query": {k: v for k, v in request.query_params.items() if k != "access_token"},
            }
            self.posts.append(record)
            # Each account sees only its own drafts and articles, as on WeChat.
            record["appid"] = self.tokens.appid(request.query_params.get("access_token"))
            self._finish_jobs()
            hit = f.only is None or f.only in path
            problem = self.tokens.problem(request.query_params.get("access_token"))
            held = None
            if needs_token and problem:
                reply = fail(problem)
            elif hit and self.fault_strikes():
                reply = fail(f.errcode)
            else:
                reply = await handler(request, record)
                held = self.reply_is_lost() if hit else None
                if held is not None:
                    record["reply_lost"] = True
            record["errcode"] = reply.get("errcode", 0)
            self.note("post", record)  # complete now: written once, before any held reply
            if held is not None:
                await asyncio.sleep(held)
            return JSONResponse(reply)

        return endpoint

    @staticmethod
    def root(request: Request, path: str) -> str:
        """Where this sandbox is mounted, as seen by the caller."""
        url = str(request.url).split("?", 1)[0]
        return url[: -len(path)] if url.endswith(path) else url

    def new_id(self) -> str:
        return str(2247490000 + self.next_serial())  # never reused, not after a restart

    # -- media -----------------------------------------------------------------------------

    async def _file(self, request: Request, record: dict[str, Any]) -> tuple[bytes, str] | None:
        async with request.form() as form:  # closes the spooled upload files
            media = form.get("media")
            if not isinstance(media, UploadFile):
                return None
            data = await media.read()
            filename = media.filename or ""
        record["file"] = {"filename": filename, "bytes": len(data)}
        return data, filename

    async def add_material(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        if request.query_params.get("type") not in ("image", "thumb"):
            return fail(40004, errmsg="invalid media type (sandbox keeps images only)")
        got = await self._file(request, record)
        if got is None:
            return fail(41005, errmsg="media data missing")
        data, filename = got
        # WeChat checks the file name: an extension, and (we play safe) ASCII only
        if image_type(data) is None or "." not in filename or not filename.isascii():
            return fail(40005)
        if len(data) > 10 * 1024 * 1024:
            return fail(40009)
        media_id = f"MAT_{self.new_id()}"
        self.materials[media_id] = {"data": data, "type": image_type(data)}
        return {
            "media_id": media_id,
            "url": self.root(request, record["path"]) + "/media/" + media_id,
        }

    async def uploadimg(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        got = await self._file(request, record)
        if got is None:
            return fail(41005, errmsg="media data missing")
        data, _ = got
        found = image_type(data)
        if found is None or found[0] not in ("png", "jpg"):
            return fail(40005)
        if len(data) >= 1024 * 1024:
            return fail(40009)
        key = f"IMG_{self.new_id()}"
        self.materials[key] = {"data": data, "type": found}
        return {
            "url": self.root(request, record["path"]) + "/media/" + key,
            "errcode": 0,
            "errmsg": "ok",
        }

    # -- draft and publish -----------------------------------------------------------------

    def _articles(self, body: Any) -> tuple[list[Any], dict[str, Any] | None]:
        """The articles of a draft/add or uploadnews body, or the errcode WeChat answers."""
        articles = body.get("articles") if isinstance(body, dict) else None
        if not articles or not isinstance(articles, list):
            return [], fail(44002)
        problems = (article_problem(a, self.materials) for a in articles)
        return articles, next((p for p in problems if p is not None), None)

    async def draft_add(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        articles, problem = self._articles(await read_json(request, record))
        if problem is not None:
            return problem
        media_id = f"DRAFT_{self.new_id()}"
        self.drafts[media_id] = {
            "articles": articles,
            "consumed": False,
            "update_time": int(time.time()),
            "root": self.root(request, record["path"]),
            "appid": record.get("appid"),
        }
        return {"media_id": media_id}

    async def uploadnews(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        articles, problem = self._articles(await read_json(request, record))
        if problem is not None:
            return problem
        media_id = f"NEWS_{self.new_id()}"
        self.news[media_id] = {"articles": articles, "appid": record.get("appid")}
        return {"type": "news", "media_id": media_id, "created_at": int(time.time())}

    async def draft_delete(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        media_id = str(body.get("media_id")) if isinstance(body, dict) else ""
        draft = self.drafts.get(media_id)
        if draft is None or draft["consumed"] or draft.get("appid") != record.get("appid"):
            return fail(40007)
        draft["consumed"] = True
        return {"errcode": 0, "errmsg": "ok"}

    def _draft_news(self, media_id: str, no_content: bool) -> list[dict[str, Any]]:
        draft = self.drafts[media_id]
        url = f"{draft['root']}/s/{media_id}?preview=1"  # a temporary preview link
        return [news_item(a, url, no_content) for a in draft["articles"]]

    async def draft_get(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        media_id = str(body.get("media_id")) if isinstance(body, dict) else ""
        draft = self.drafts.get(media_id)
        if draft is None or draft["consumed"] or draft.get("appid") != record.get("appid"):
            return fail(40007)
        return {"news_item": self._draft_news(media_id, no_content=False)}

    async def draft_batchget(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        no_content = isinstance(body, dict) and body.get("no_content") == 1
        waiting = [
            m
            for m, d in self.drafts.items()
            if not d["consumed"] and d.get("appid") == record.get("appid")
        ]
        waiting.sort(key=lambda m: (self.drafts[m]["update_time"], m), reverse=True)
        rows = [
            {
                "media_id": m,
                "content": {"news_item": self._draft_news(m, no_content)},
                "update_time": self.drafts[m]["update_time"],
            }
            for m in waiting
        ]
        return page(body, rows)

    def take_draft(self, media_id: Any) -> dict[str, Any] | None:
        draft = self.drafts.get(str(media_id))
        if draft is None or draft["consumed"]:
            return None
        draft["consumed"] = True  # WeChat removes a draft once published or mass-sent
        return draft

    def publish_article(
        self, draft: dict[str, Any], root: str, msg_data_id: str, at: float, notified: bool
    ) -> str:
        article_id = f"ART{msg_data_id}"
        first = draft["articles"][0]
        self.articles[article_id] = {
            "article_id": article_id,
            "msg_data_id": msg_data_id,
            "title": first["title"],
            "content": first["content"],
            "author": first.get("author", ""),
            "content_source_url": first.get("content_source_url", ""),
            "url": f"{root}/s/{article_id}?mid={msg_data_id}&idx=1",
            "published_at": at,
            "notified": notified,
            "source": first,
            "appid": draft.get("appid"),
        }
        self.note("article", self.articles[article_id])
        return article_id

    async def freepublish_submit(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        draft = self.take_draft(body.get("media_id") if isinstance(body, dict) else None)
        if draft is None:
            return fail(40007)
        publish_id = self.new_id()
        self.jobs[publish_id] = {
            "draft": draft,
            "root": self.root(request, record["path"]),
            "done_at": time.time() + self.faults.publish_seconds,
            "status": self.faults.publish_status,
            "article_id": None,
        }
        self.note("job", {"publish_id": publish_id, **self.jobs[publish_id]})
        return {"errcode": 0, "errmsg": "ok", "publish_id": publish_id, "msg_data_id": publish_id}

    async def freepublish_get(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        publish_id = str(body.get("publish_id")) if isinstance(body, dict) else ""
        job = self.jobs.get(publish_id)
        if job is None:
            return fail(53502)
        if time.time() < job["done_at"]:
            return {"publish_id": publish_id, "publish_status": 1, "fail_idx": []}
        if job["status"] != 0:
            fail_idx = [1] if job["status"] in (2, 3, 4) else []
            return {"publish_id": publish_id, "publish_status": job["status"], "fail_idx": fail_idx}
        article = self.articles[self._finish_job(publish_id, job)]
        return {
            "publish_id": publish_id,
            "publish_status": 0,
            "article_id": article["article_id"],
            "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": article["url"]}]},
            "fail_idx": [],
        }

    def _finish_job(self, publish_id: str, job: dict[str, Any]) -> str:
        """Publish a finished job's article (once); its article_id."""
        if job["article_id"] is None:
            job["article_id"] = self.publish_article(
                job["draft"], job["root"], publish_id, job["done_at"], notified=False
            )
        return str(job["article_id"])

    def _finish_jobs(self) -> None:
        """WeChat publishes a job when it is done, whether or not anyone asks freepublish/get."""
        now = time.time()
        for publish_id, job in self.jobs.items():
            if job["status"] == 0 and job["done_at"] <= now:
                self._finish_job(publish_id, job)

    def _article_news(self, article: dict[str, Any], no_content: bool) -> dict[str, Any]:
        item = news_item(article["source"], article["url"], no_content)
        item["is_deleted"] = bool(article.get("deleted"))
        return item

    def delete_article(self, article: dict[str, Any]) -> None:
        """Delete a published article (freepublish/delete, mass/delete): kept, marked."""
        if not article.get("deleted"):
            article["deleted"] = True
            article["deleted_at"] = datetime.now(UTC).isoformat()
            self.note("article", article)

    async def freepublish_batchget(
        self, request: Request, record: dict[str, Any]
    ) -> dict[str, Any]:
        body = await read_json(request, record)
        no_content = isinstance(body, dict) and body.get("no_content") == 1
        published = [
            a
            for a in self.articles.values()
            if not a["notified"] and a.get("appid") == record.get("appid")
        ]
        published.sort(key=lambda a: (a["published_at"], a["article_id"]), reverse=True)
        rows = [
            {
                "article_id": a["article_id"],
                "content": {"news_item": [self._article_news(a, no_content)]},
                "update_time": int(a["published_at"]),
            }
            for a in published
        ]
        return page(body, rows)

    async def freepublish_getarticle(
        self, request: Request, record: dict[str, Any]
    ) -> dict[str, Any]:
        body = await read_json(request, record)
        article = self.articles.get(str(body.get("article_id")) if isinstance(body, dict) else "")
        if article is None or article["notified"] or article.get("appid") != record.get("appid"):
            return fail(53600)
        return {"news_item": [self._article_news(article, no_content=False)]}

    # -- datacube (sandbox_stats.py) -------------------------------------------------------

    async def datacube(self, request: Request, record: dict[str, Any]) -> dict[str, Any]:
        body = await read_json(request, record)
        rate = self.faults.reads_per_minute
        return stats.answer(record["path"], self.articles.values(), body, rate)

    # -- inspection and control ------------------------------------------------------------

    def listing(self) -> dict[str, Any]:
        self._finish_jobs()
        articles = [
            {k: v for k, v in a.items() if k not in ("content", "source")}
            | {"reads": stats.totals(a, time.time(), self.faults.reads_per_minute)["read_user"]}
            for a in self.articles.values()
        ]
        return {**super().listing(), "articles": articles}

    def forget(self) -> None:
        self._reset()

    def restore(self, kind: str, value: Any) -> None:
        if not sandbox_state.restore(self, kind, value):
            super().restore(kind, value)

    def faults_changed(self, faults: WechatFaults) -> WechatFaults:
        if faults.expire_token:
            self.tokens.expire_all()
            faults = faults.model_copy(update={"expire_token": False})
        return faults

    async def article_page(self, article_id: str) -> Response:
        article = self.articles.get(article_id)
        if article is None or article.get("deleted"):
            return HTMLResponse("<p>该内容已被发布者删除</p>", status_code=404)
        title = html.escape(article["title"])
        page = (
            f"<!doctype html><meta charset='utf-8'><title>{title}</title>"
            f"<h1>{title}</h1><p>{html.escape(article['author'])}</p>{article['content']}"
        )
        return HTMLResponse(page)

    async def media_file(self, media_id: str) -> Response:
        found = self.materials.get(media_id)
        if found is None:
            return Response(status_code=404)
        return Response(found["data"], media_type=found["type"][1])
