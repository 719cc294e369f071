"""The bureau's own OA system, reached through a generic JSON webhook.

Everything — request, reply, idempotency, errors — is the generic webhook's
(``channels.webhook``); see its docstring. What differs: the type name ``oa_webhook``, so the
texts come from ``templates/oa_webhook/`` (written for colleagues reading an OA notice
board: markdown with real tables, since an OA that accepts markdown usually renders them;
the table also travels as data in ``table``), and one more field in the JSON body:

    "portal_url": the full text on the public portal
                  (``fields.portal_url`` when given, else ``ctx.notice_url(id)``)

Sandbox: the generic webhook receiver, ``url = "{base_url}/_sandbox/webhook/receive"``.
"""

from __future__ import annotations

from typing import Any

from channels.oa.common import portal_url
from channels.webhook import WebhookAdapter, WebhookOptions
from publisher.contract import OutgoingPost


class OaWebhookOptions(WebhookOptions):
    type: str = "oa_webhook"


class OaWebhookAdapter(WebhookAdapter):
    type_name = "oa_webhook"
    Options = OaWebhookOptions

    def _payload(self, post: OutgoingPost) -> dict[str, Any]:
        return {**super()._payload(post), "portal_url": portal_url(self.ctx, post.notice)}
