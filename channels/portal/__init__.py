"""The public portal: publisher's own web server publishes every notice as a page. The adapter
lives in ``adapter.py``; this package re-exports it.
"""

from channels.portal.adapter import PortalAdapter, PortalOptions

__all__ = ["PortalAdapter", "PortalOptions"]
