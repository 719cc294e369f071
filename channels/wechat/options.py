"""A WeChat account's options (validated from config); the adapter is ``adapter.py``.

Mass send (``mass_send*``, issue 11 part D; the policy is ``policy.py``): a notice of a kind in
``mass_send_kinds`` is pushed to followers if it is a warning of a colour in
``mass_send_colors`` (default red only: the day's one send is kept for the red) and not a
follow-up (update, lift, withdrawal) unless ``mass_send_followups``; within the day's
(``mass_sends_per_day``, 订阅号 1) and, if set, the month's (``mass_sends_per_month``, 服务号 4)
quota. ``recall``: a withdrawal deletes the original article (``withdraw.py``).
"""

from __future__ import annotations

import base64
from pathlib import Path

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator

from publisher.contract import AccountOptions, HttpUrl
from publisher.kinds import LEVELS, Kind

REAL_API = "https://api.weixin.qq.com"
KIND_NAMES = frozenset(Kind)  # StrEnum members hash as their names: a name is found here
COLOURS = tuple(LEVELS)  # 蓝色 黄色 橙色 红色


class WechatOptions(AccountOptions):
    type: str = "wechat"
    appid: str = Field(min_length=1, max_length=64)
    secret: SecretStr
    api_base: HttpUrl = REAL_API
    author: str = Field(default="", max_length=16)
    callback_token: SecretStr | None = None  # 服务器配置 Token: enables /callbacks/wechat/<name>
    encoding_aes_key: SecretStr | None = None  # 43 characters; safe-mode pushes
    mass_send: bool = True
    mass_send_kinds: tuple[str, ...] = (Kind.WEATHER_WARNING,)
    mass_send_tag_id: int | None = None  # None: every follower (is_to_all)
    mass_sends_per_day: int = Field(default=1, ge=1, le=100)
    # -- issue 11: which warnings reach followers, follow-ups, the month's quota, withdrawals
    mass_send_colors: tuple[str, ...] = ("红色",)  # warning colours pushed; orange: opt in
    mass_send_followups: bool = False  # push updates/lifts/withdrawals of pushed kinds too
    mass_sends_per_month: int | None = Field(default=None, ge=1, le=100)  # 服务号: 4
    recall: bool = True  # a withdrawal deletes the original (freepublish/delete, mass/delete)
    send_ignore_reprint: bool = True  # warnings go out even if judged a reprint
    need_open_comment: bool = False
    covers: dict[str, FilePath] = Field(default_factory=dict)  # kind or "_default" -> image
    stats_lag_days: int = Field(default=1, ge=0, le=7)  # 0 only against the sandbox
    max_concurrency: int = Field(default=2, ge=1, le=8)
    max_attempts: int = Field(default=8, ge=1)
    timeout: float = Field(default=20.0, gt=0)
    # After a submit whose outcome is unknown: how long its draft may stay in the draft box, or
    # stay taken without its article showing, before lookup submits it again / asks a person.
    reconcile_wait_seconds: float = Field(default=600.0, ge=0, le=86_400)
    # while a submitted article may still appear, ask again this often
    reconcile_recheck_seconds: float = Field(default=30.0, gt=0, le=3600)

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        key = value.get_secret_value()
        try:
            valid = len(key) == 43 and len(base64.b64decode(key + "=", validate=True)) == 32
        except ValueError:
            valid = False
        if not valid:
            raise ValueError("EncodingAESKey 应为微信公众平台上显示的 43 个字符")
        return value

    @field_validator("covers")
    @classmethod
    def _cover_kinds(cls, value: dict[str, Path]) -> dict[str, Path]:
        for kind in value:
            if kind != "_default" and kind not in KIND_NAMES:
                raise ValueError(f"未知的通知类型 {kind!r}")
        return value

    @field_validator("mass_send_colors")
    @classmethod
    def _colours(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for colour in value:
            if colour not in COLOURS:
                raise ValueError(f"未知的预警颜色 {colour!r}（可选：{'、'.join(COLOURS)}）")
        return value

    @field_validator("mass_send_kinds")
    @classmethod
    def _mass_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if kind not in KIND_NAMES:
                raise ValueError(f"未知的通知类型 {kind!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WechatOptions:
        if self.encoding_aes_key is not None and self.callback_token is None:
            raise ValueError("设置 encoding_aes_key 时也要设置 callback_token")
        if self.sandbox and self.api_base.rstrip("/") == REAL_API:
            raise ValueError(
                '沙箱账号不能使用真实的微信接口；请设置 api_base = "{base_url}/_sandbox/wechat"'
            )
        return self
