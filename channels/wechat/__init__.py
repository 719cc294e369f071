"""WeChat Official Account (公众号/服务号): draft, publish, mass-send warnings, read reach.
The adapter lives in ``adapter.py`` (its options in ``options.py``); this package re-exports it.
"""

from channels.wechat.adapter import QUOTA_NOTE, WechatAdapter
from channels.wechat.options import WechatOptions

__all__ = ["QUOTA_NOTE", "WechatAdapter", "WechatOptions"]
