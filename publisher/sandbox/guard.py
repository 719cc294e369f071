"""The sandbox's control routes behind the API token.

The sandbox's control routes change how the imitated channels behave (``PUT /faults``,
``PUT /secrets``) or erase what they received (``DELETE /posts``). Whenever an API token is
set, and always when the server listens beyond loopback (where ``serve`` requires one), these
take the same ``Authorization: Bearer <PUBLISHER_API_TOKEN>`` as ``/api`` (compared in constant
time). The channel endpoints the publisher itself calls, and reading ``GET /posts``, stay open:
they are what a sandbox is for.
"""

from __future__ import annotations

import hmac
import re

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.web.limits import refuse

# Relative to the mount: /<type>/faults, /<type>/secrets (any method), DELETE /<type>/posts.
CONTROL = re.compile(r"^/[^/]+/(faults|secrets)/?$")
POSTS = re.compile(r"^/[^/]+/posts/?$")
REFUSED = "沙箱控制接口需要 API 令牌 (Authorization: Bearer <PUBLISHER_API_TOKEN>)"
UNSET = "沙箱控制接口在监听非本机地址时需要设置 PUBLISHER_API_TOKEN"


def is_control(method: str, path: str) -> bool:
    return bool(CONTROL.match(path)) or (method == "DELETE" and bool(POSTS.match(path)))


class SandboxGuard:
    """ASGI wrapper of the sandbox app: 401 on a control route without the token.

    ``token`` None and ``beyond_loopback`` False: nothing is guarded (a sandbox on this host
    only, as the tests and the demo run it). ``token`` None and ``beyond_loopback`` True:
    every control route is refused, since nobody could prove who they are.
    """

    def __init__(self, app: ASGIApp, token: SecretStr | None, beyond_loopback: bool) -> None:
        self.app = app
        self.token = token.get_secret_value().encode() if token is not None else None
        self.beyond_loopback = beyond_loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._refused(scope):
            await _deny(send, REFUSED if self.token is not None else UNSET)
            return
        await self.app(scope, receive, send)

    def _refused(self, scope: Scope) -> bool:
        if self.token is None and not self.beyond_loopback:
            return False
        if not is_control(scope["method"], _relative_path(scope)):
            return False
        if self.token is None:
            return True
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
        scheme, _, credential = given.partition(b" ")
        good = hmac.compare_digest(credential.strip(), self.token)
        return scheme.lower() != b"bearer" or not good


def _relative_path(scope: Scope) -> str:
    """The path below the mount (Starlette passes the full path with ``root_path`` set)."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


async def _deny(send: Send, message: str) -> None:
    await refuse(send, 401, {"error": message}, [(b"www-authenticate", b"Bearer")])
