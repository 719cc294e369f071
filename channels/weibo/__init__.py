"""Sina Weibo: post a short status with the safe-domain link to the notice's portal copy. The
adapter lives in ``adapter.py``; this package re-exports it.
"""

from channels.weibo.adapter import WeiboAdapter, WeiboOptions

__all__ = ["WeiboAdapter", "WeiboOptions"]
