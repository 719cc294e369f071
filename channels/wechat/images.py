"""Images inside an article: every ``<img src>`` must be a ``media/uploadimg`` URL [S1][S5][S6].

WeChat silently filters image URLs from other hosts, so an image the reader would never see is
refused here with a clear message instead. Sources we can upload: ``data:image/png|jpeg``
URIs and images on this publisher's own server (``ctx.base_url``); jpg/png under 1 MB only
[S6]. Uploaded URLs are cached in ``ctx.tokens`` as ``img:<sha256>`` so a retry does not
upload again. Bodies without images make no call at all.

The body limit (content < 20,000 characters and < 1 MB [S1]) is declared for the core to check
at submit, but a rewritten ``src`` is usually longer than ours (``/files/a.png`` becomes a
``mmbiz.qpic.cn`` URL of a hundred characters), so :func:`within_limit` checks the body again
as it will be sent. Over the limit is permanent, with the limit named: WeChat would refuse it
(45002), and a government notice is never sent cut short.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re

from channels.wechat.api import Media, WechatApi
from channels.wechat.covers import image_type
from publisher.contract import AccountContext
from publisher.errors import PermanentError, TransientError
from publisher.http_errors import request

IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
WECHAT_HOSTS = ("http://mmbiz.qpic.cn/", "https://mmbiz.qpic.cn/")
MAX_INLINE_BYTES = 1024 * 1024
#: ``draft/add`` content: fewer than 20,000 characters and less than 1 MB [S1].
MAX_BODY_CHARS = 19_999
MAX_BODY_BYTES = 1024 * 1024 - 1


def within_limit(content: str) -> str:
    """``content`` as it goes to ``draft/add``; PermanentError if over WeChat's limit.

    Only characters are counted: 19,999 characters are at most 80 KB of UTF-8, so once they
    fit, the 1 MB limit cannot bind.
    """
    if len(content) > MAX_BODY_CHARS:
        raise PermanentError(
            f"正文图片换成微信图片地址后共 {len(content)} 字，超过微信图文正文上限 "
            f"{MAX_BODY_CHARS} 字（须少于 2 万字）；未发送，请删减正文或图片后重试"
        )
    return content


class InlineImages:
    def __init__(self, ctx: AccountContext, api: WechatApi, timeout: float) -> None:
        self.ctx = ctx
        self.api = api
        self.timeout = timeout

    async def rewrite(self, body: str) -> str:
        """``body`` with every image source replaced by its WeChat URL."""
        sources = {m.group(3) for m in IMG_SRC.finditer(body)}
        urls = {}
        for src in sources:
            if not src.startswith(WECHAT_HOSTS):
                urls[src] = html.escape(await self._upload(html.unescape(src)))
        if not urls:
            return body
        return IMG_SRC.sub(
            lambda m: m.group(1) + m.group(2) + urls.get(m.group(3), m.group(3)) + m.group(2), body
        )

    async def _upload(self, src: str) -> str:
        data = await self._load(src)
        found = image_type(data)
        if found is None or found[0] not in ("png", "jpg"):
            raise PermanentError(f"正文图片 {src[:80]} 不是 jpg/png（微信正文图片只支持这两种）")
        if len(data) >= MAX_INLINE_BYTES:
            raise PermanentError(f"正文图片 {src[:80]} 超过 1 MB（微信正文图片上限）")
        name = "img:" + hashlib.sha256(data).hexdigest()
        stored = await self.ctx.tokens.get(self.ctx.account, name)
        if stored is not None:
            return stored[0]
        ext, content_type = found
        reply = await self.api.post(
            "/cgi-bin/media/uploadimg", media=Media(f"image.{ext}", data, content_type)
        )
        url = reply.get("url")
        if not isinstance(url, str) or not url:
            raise TransientError("uploadimg 的回复中没有 url")
        await self.ctx.tokens.put(self.ctx.account, name, url, None)
        return url

    async def _load(self, src: str) -> bytes:
        if src.startswith("data:"):
            header, _, payload = src.partition(",")
            if not header.endswith(";base64"):
                raise PermanentError("正文图片的 data: 地址必须是 base64 编码")
            try:
                return base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                raise PermanentError("正文图片的 data: 地址不是有效的 base64") from None
        own = self.ctx.base_url.rstrip("/") + "/"
        if src.startswith("/"):
            src = own.rstrip("/") + src
        if not src.startswith(own):
            raise PermanentError(
                f"正文图片 {src[:80]} 不在本站：微信会过滤外部图片，请改用本站上传的图片"
            )
        response = await request(self.ctx.http, "GET", src, timeout=self.timeout)
        if response.status_code >= 500:
            raise TransientError(f"正文图片 {src[:80]} 暂时取不到（HTTP {response.status_code}）")
        if response.status_code != 200:
            raise PermanentError(f"正文图片 {src[:80]} 取不到（HTTP {response.status_code}）")
        return response.content
