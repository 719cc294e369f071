"""Optional push of each portal page to an external CMS (TRS WCM, Hanweb JCMS, a bureau's own).

Neither TRS nor Hanweb publishes a REST interface (reference 5: TRS documents SOAP and a
Java/.NET DataExchange API for customers only [S70][S71]; Hanweb nothing public), so this is
the reference's generic ``http_push`` transport: a configured URL, method and auth header,
a JSON body from a Jinja2 template, and dotted paths to the article id and url in the reply.

``cms_body_template`` is a Jinja2 template *string* in the account's configuration, rendered
in a sandbox without autoescaping; use ``|tojson`` for every value. Variables: ``title``,
``body`` (the page's HTML), ``url`` (our page), ``kind``, ``kind_label``, ``notice_id``,
``published_at`` (ISO 8601), ``fields``, ``idempotency_key``. Without a template the body is
``{"title", "body", "url", "kind", "kind_label", "notice_id", "published_at",
"idempotency_key"}``. The request carries ``Idempotency-Key``.

Replies: 2xx -> posted (ids read with ``cms_id_path``/``cms_url_path``); 409 -> the CMS has
this key already (``Duplicate``); 429 -> wait ``Retry-After``; 5xx/408 -> retry; 401/403 ->
``CredentialsInvalid``; other 4xx -> ``PermanentError`` with the CMS's own message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import jinja2
from jinja2.sandbox import SandboxedEnvironment

from publisher.errors import CredentialsInvalid, Duplicate, PermanentError
from publisher.http_errors import dig, raise_for_server_trouble

_ENV = SandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)


def compile_body_template(source: str) -> jinja2.Template:
    """Compile (and so check) a body template; raises ValueError naming the line."""
    try:
        return _ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"cms_body_template 第 {exc.lineno} 行: {exc.message}") from None


def body(template: str | None, values: Mapping[str, Any]) -> Any:
    """The JSON document to send."""
    if not template:
        keys = (
            "title",
            "body",
            "url",
            "kind",
            "kind_label",
            "notice_id",
            "published_at",
            "idempotency_key",
        )
        return {k: values[k] for k in keys}
    try:
        text = compile_body_template(template).render(dict(values))
    except (jinja2.TemplateError, ValueError) as exc:
        raise PermanentError(f"cms_body_template: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PermanentError(
            f"cms_body_template 生成的不是 JSON (第 {exc.lineno} 行: {exc.msg})；取值请用 |tojson"
        ) from None


def response_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def reason(response: httpx.Response, data: Any) -> str:
    detail = None
    if isinstance(data, dict):
        detail = data.get("error") or data.get("message") or data.get("msg") or data.get("detail")
    text = detail or response.text[:300] or response.reason_phrase
    return f"CMS 返回 HTTP {response.status_code}: {text}"


def outcome(response: httpx.Response, id_path: str, url_path: str | None) -> dict[str, Any]:
    """The CMS's id and url for the article, or the error its reply means."""
    raise_for_server_trouble(response)
    data = response_json(response)
    found = {"cms_id": dig(data, id_path), "cms_url": dig(data, url_path)}
    found = {k: None if v is None else str(v) for k, v in found.items()}
    if response.status_code == 409:
        raise Duplicate(
            reason(response, data), remote_id=found["cms_id"], url=found["cms_url"], code=409
        )
    if response.status_code in (401, 403):
        raise CredentialsInvalid(reason(response, data), code=response.status_code)
    if response.status_code >= 400:
        raise PermanentError(reason(response, data), code=response.status_code)
    return found
