"""The public address of a notice: the portal page every channel links to, and tracked links.

One place, so that Weibo's safe-domain link, WeChat's 阅读原文, the OA cards, the webhook
payloads, the portal's own feeds and the page the portal serves all agree. Channels reach it
as ``AccountContext.notice_url``.

**Tracked links.** Posts that link to the portal copy (``Capabilities.links_to_copy``: Weibo,
WeChat, OA) get ``{base_url}/r/<code>`` instead of the page itself; ``GET /r/<code>`` counts a
click for that channel account and redirects to the page (``publisher/web/tracked.py``).

A code is ``base62(notice id)`` followed by 9 base62 characters of
``HMAC-SHA256(secret, notice id | account)`` truncated to 48 bits. Nothing is stored to make
one (a channel builds its link synchronously, before or after the notice exists), the same
(notice, account) always gives the same code (WeChat's reconcile compares links), and without
the installation's secret nobody can make a code for another notice or account: a guessed code
is a 404, so codes neither enumerate notices nor inflate counts. The notice id is readable in
the code, as it is in the page the link redirects to. The secret is random per installation,
kept in the credentials table (:func:`load_link_codes`) so every process agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:  # publisher.contract imports this module
    from publisher.contract import TokenStore

KEY_PARAM = "k"
"""The query parameter that carries a delivery's key in a link (WeChat finds its article by it)."""

TRACK_PREFIX = "/r/"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MAC_BITS = 48
MAC_CHARS = 9  # 62**9 > 2**48
MAX_ID = 2**63 - 1  # a row id (publisher.store.schema.MAX_ROW_ID)
CREDENTIAL_ACCOUNT = "_links"  # the credentials row holding the secret (not a channel account)
SECRET_NAME = "link_secret"
VISITOR_SALT_NAME = "visitor_salt"  # the salt of click visitor hashes, beside the secret


def notice_url(base_url: str, notice_id: int, key: str | None = None) -> str:
    """``{base_url}/portal/notices/{notice_id}``, with ``?k=<key>`` when a key is given."""
    url = f"{base_url.rstrip('/')}/portal/notices/{notice_id}"
    return url + _key_query(key)


def tracked_url(base_url: str, code: str, key: str | None = None) -> str:
    """``{base_url}/r/{code}``, with ``?k=<key>`` when a key is given."""
    return f"{base_url.rstrip('/')}{TRACK_PREFIX}{code}" + _key_query(key)


def _key_query(key: str | None) -> str:
    return "" if key is None else f"?{KEY_PARAM}={quote(key, safe='')}"


def _b62(value: int, width: int = 0) -> str:
    digits = []
    while value:
        value, rest = divmod(value, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(max(width, 1), ALPHABET[0])


def _from_b62(text: str) -> int | None:
    value = 0
    for char in text:
        digit = ALPHABET.find(char)
        if digit < 0:
            return None
        value = value * 62 + digit
    return value


def notice_of(code: str) -> int | None:
    """The notice id a code names, not yet verified (None: not a code's shape)."""
    if not (MAC_CHARS < len(code) <= MAC_CHARS + 11) or not code.isascii():
        return None
    notice_id = _from_b62(code[:-MAC_CHARS])
    if notice_id is None or not 1 <= notice_id <= MAX_ID or _b62(notice_id) != code[:-MAC_CHARS]:
        return None
    return notice_id


class LinkCodes:
    """Makes and checks tracked-link codes with the installation's secret.

    Built before the database is open (channels are built first, so a bad setting is refused
    before anything is written), and given its secret by :meth:`load` once it is: a code
    asked for before then is a programming error.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret

    def load(self, secret: bytes) -> None:
        self._secret = secret

    @property
    def loaded(self) -> bool:
        return self._secret is not None

    def _mac(self, notice_id: int, account: str) -> str:
        if self._secret is None:
            raise RuntimeError("tracked-link secret not loaded (Runtime.open loads it)")
        message = f"{notice_id}\x1f{account}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return _b62(int.from_bytes(digest[: MAC_BITS // 8], "big"), MAC_CHARS)

    def code(self, notice_id: int, account: str) -> str:
        """The code of the link from ``account``'s posts to notice ``notice_id``."""
        return _b62(notice_id) + self._mac(notice_id, account)

    def matches(self, code: str, notice_id: int, account: str) -> bool:
        """True when ``code`` is the code of (notice, account); constant-time."""
        return hmac.compare_digest(code.encode(), self.code(notice_id, account).encode())


async def load_link_codes(tokens: TokenStore, codes: LinkCodes | None = None) -> LinkCodes:
    """The installation's link codes: its secret read from the credentials, made on first use."""
    found = await tokens.get(CREDENTIAL_ACCOUNT, SECRET_NAME)
    if found is None:
        await tokens.put(CREDENTIAL_ACCOUNT, SECRET_NAME, secrets.token_hex(32), None)
        found = await tokens.get(CREDENTIAL_ACCOUNT, SECRET_NAME)
    if found is None:  # pragma: no cover - a store that forgets what it was just given
        raise RuntimeError("the tracked-link secret could not be stored")
    codes = codes or LinkCodes()
    codes.load(bytes.fromhex(found[0]))
    return codes
