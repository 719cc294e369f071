"""Generic JSON webhook: POST the notice as JSON to a configured URL. The adapter lives in
``adapter.py``; this package re-exports it.
"""

from channels.webhook.adapter import WebhookAdapter, WebhookOptions

__all__ = ["WebhookAdapter", "WebhookOptions"]
