"""Measuring a status the way Weibo does: 汉字 count 1, ASCII counts ½, a link a fixed weight.

Weibo's own front end (Sina's STK library, ``kit.extra.count`` / ``checkLength``) counts
bytes with every non-ASCII character as 2 and every ASCII character as 1, replaces each link
by the length of the ``t.cn`` short link it will become, and divides by two, rounding up::

    Math.ceil((urlCount + byteLength(textWithoutUrls)) / 2)

The short-link weight was 20 bytes (10 字, comment "surl为http://t.cn/12345678") in the
STK copy seen in github zythum/new-relationship-list ``js/conf/kit/extra/count.js`` and in
WeCase's "bug-for-bug compatible" port (github WeCase/WeCase ``TweetUtils.py``,
``TWEET_URL_LEN = 20``); a later copy of the same ``checkLength`` counts 23 bytes (11.5 字).
We default to the larger 11.5 字, so a status we accept is never refused as too long, and let
each account override it (``link_weight``).

Two deliberate simplifications, both on the safe side: every link counts ``link_weight``
however short it is (the STK code lets a link of at most 41 bytes count its own length), and
a character outside the Basic Multilingual Plane (most emoji) counts 2, as the browser code,
which measures UTF-16 code units, does.
"""

from __future__ import annotations

import math
import re

WEIBO_MAX = 140  # 字, statuses/share [S40]
DEFAULT_LINK_WEIGHT = 11.5  # 字 per link (23 bytes), see the module docstring
SPACE_WEIGHT = 0.5  # the ASCII space between the text and the appended portal link

# A link as Weibo's counter sees one: a scheme, then ASCII URL characters (RFC 3986 set).
# Chinese text or full-width punctuation right after a link ends it.
URL = re.compile(r"https?://[-A-Za-z0-9._~!*'();:@&=+$,/?%#\[\]]+", re.IGNORECASE)

# A Weibo topic: text between two ASCII '#'. statuses/share refuses them [S40].
TOPIC = re.compile(r"#[^#\n]+#")


def _char_weight(char: str) -> float:
    code = ord(char)
    if code < 0x80:
        return 0.5
    if code > 0xFFFF:
        return 2.0  # two UTF-16 code units, as Sina's browser counter sees it
    return 1.0


def weibo_length(text: str, link_weight: float = DEFAULT_LINK_WEIGHT) -> float:
    """The length of ``text`` in Weibo 字, rounded up: the number Weibo compares with 140.

    >>> weibo_length("暴雨橙色预警")
    6.0
    >>> weibo_length("Test")
    2.0
    >>> weibo_length("详见 https://gov.example.cn/portal/notices/1")
    14.0
    """
    links = URL.findall(text)
    rest = URL.sub("", text)
    raw = len(links) * link_weight + sum(_char_weight(c) for c in rest)
    return float(math.ceil(raw))


def body_limit(link_weight: float = DEFAULT_LINK_WEIGHT) -> int:
    """How long the rendered body may be so that ``body + " " + link`` fits in 140 字.

    ``weibo_length`` rounds up, so a body measuring at most ``floor(140 - link - ½)`` leaves
    room for the space and the link: 128 字 with the default 11.5 字 link.
    """
    return math.floor(WEIBO_MAX - link_weight - SPACE_WEIGHT)


def topics(text: str) -> list[str]:
    """Every ``#话题#`` in ``text`` outside links (a '#' inside a URL is a fragment)."""
    return TOPIC.findall(URL.sub(" ", text))
