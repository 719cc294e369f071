"""Article covers: a configured image per notice kind, or one drawn here, uploaded once.

``draft/add`` needs ``thumb_media_id``, a *permanent* material (``material/add_material
?type=image``, bmp/png/jpeg/gif up to 10 MB) [S1][S5]. Without a configured file we draw a
2.35:1 PNG in pure Python (zlib + struct, no third-party artwork): a field in the kind's colour
(a warning's signal colour: 蓝/黄/橙/红) with a darker band along the bottom. The media_id is
cached in ``ctx.tokens`` as ``cover:<kind>`` (``cover:weather_warning:<colour>``) together with
a digest of the image, so each cover is uploaded once per account and again only if the
configured file changes.

The uploaded file is named in ASCII (``cover-weather_warning-orange.png``): WeChat checks the
``media`` file name (it needs an extension [S5]) and a Chinese one is a needless risk.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import struct
import zlib
from pathlib import Path

from channels.wechat.api import Media, WechatApi
from publisher.contract import AccountContext
from publisher.errors import PermanentError, TransientError
from publisher.kinds import Kind

WIDTH, HEIGHT = 900, 383  # WeChat's 2.35:1 article cover
MAX_COVER_BYTES = 10 * 1024 * 1024

Rgb = tuple[int, int, int]

KIND_COLOURS: dict[str, Rgb] = {
    Kind.WEATHER_WARNING: (0x1F, 0x5F, 0xBF),
    Kind.APPROVAL_LIST: (0x1B, 0x7F, 0x5A),
    Kind.PENALTY_DISCLOSURE: (0x8A, 0x2B, 0x2B),
    Kind.ACCIDENT_REPORT: (0x4A, 0x4A, 0x4A),
    Kind.BUDGET_DISCLOSURE: (0x2F, 0x5D, 0x8C),
    Kind.GENERAL: (0xB7, 0x1C, 0x1C),  # 党政红
}
SIGNAL_COLOURS: dict[str, Rgb] = {
    "蓝色": (0x1E, 0x6F, 0xD9),
    "黄色": (0xF2, 0xB8, 0x00),
    "橙色": (0xF0, 0x7C, 0x0A),
    "红色": (0xD3, 0x1F, 0x1F),
}
SIGNAL_NAMES = {"蓝色": "blue", "黄色": "yellow", "橙色": "orange", "红色": "red"}


def file_name(name: str, ext: str) -> str:
    """The ASCII file name a cover is uploaded under, from its cache name."""
    for chinese, english in SIGNAL_NAMES.items():
        name = name.replace(chinese, english)
    stem = re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-") or "cover"
    return f"{stem}.{ext}"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def draw_cover(colour: Rgb, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """An 8-bit RGB PNG: ``colour`` above, a band 30 % darker along the bottom sixth."""
    band = tuple(int(c * 0.7) for c in colour)
    top_row = b"\x00" + bytes(colour) * width  # filter byte 0 (None) + pixels
    band_row = b"\x00" + bytes(band) * width
    band_from = height - height // 6
    raw = top_row * band_from + band_row * (height - band_from)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def image_type(data: bytes) -> tuple[str, str] | None:
    """(extension, content type) for PNG/JPEG/GIF/BMP bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg", "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif", "image/gif"
    if data.startswith(b"BM"):
        return "bmp", "image/bmp"
    return None


class Covers:
    def __init__(self, ctx: AccountContext, api: WechatApi, files: dict[str, Path]) -> None:
        self.ctx = ctx
        self.api = api
        self.files = files

    def _choose(self, kind: str, signal_colour: str | None) -> tuple[str, Path | None, Rgb]:
        path = self.files.get(kind) or self.files.get("_default")
        if signal_colour and not signal_colour.endswith("色"):
            signal_colour += "色"  # "橙" -> "橙色"
        if kind == Kind.WEATHER_WARNING and signal_colour in SIGNAL_COLOURS and path is None:
            return f"cover:{kind}:{signal_colour}", None, SIGNAL_COLOURS[signal_colour]
        return f"cover:{kind}", path, KIND_COLOURS.get(kind, KIND_COLOURS[Kind.GENERAL])

    async def media_id(self, kind: str, signal_colour: str | None = None) -> str:
        """The permanent media_id of this kind's cover, uploading it the first time."""
        name, path, colour = self._choose(kind, signal_colour)
        data = await _read(path) if path is not None else draw_cover(colour)
        digest = hashlib.sha256(data).hexdigest()[:16]
        stored = await self.ctx.tokens.get(self.ctx.account, name)
        if stored is not None:
            try:
                cached = json.loads(stored[0])
                if cached.get("digest") == digest and cached.get("media_id"):
                    return str(cached["media_id"])
            except ValueError:
                pass
        found = image_type(data)
        if found is None:
            raise PermanentError(f"封面文件 {path} 不是 png/jpg/gif/bmp 图片")
        ext, content_type = found
        reply = await self.api.post(
            "/cgi-bin/material/add_material",
            media=Media(file_name(name, ext), data, content_type),
            type="image",
        )
        media_id = reply.get("media_id")
        if not media_id:
            raise TransientError("add_material 的回复中没有 media_id")
        value = json.dumps({"media_id": media_id, "digest": digest, "url": reply.get("url")})
        await self.ctx.tokens.put(self.ctx.account, name, value, None)
        return str(media_id)

    async def forget(self, kind: str, signal_colour: str | None = None) -> None:
        """Drop the cached media_id (WeChat said it is invalid: deleted from the library)."""
        name, _, _ = self._choose(kind, signal_colour)
        await self.ctx.tokens.put(self.ctx.account, name, "{}", None)


async def _read(path: Path) -> bytes:
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise PermanentError(f"封面文件 {path} 无法读取: {exc.strerror or exc}") from None
    if len(data) > MAX_COVER_BYTES:
        raise PermanentError(f"封面文件 {path} 超过 10 MB（微信永久素材上限）")
    return data
