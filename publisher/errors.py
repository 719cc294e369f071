"""Every failure publisher raises, in one tree.

The *class* of an error decides what happens next; nobody returns ``False``.

    PublisherError
     ├── InputError                 bad notice or file: nothing is written (CLI exit 2, HTTP 422)
     │    ├── NoticeFormatError     not JSON/YAML/TOML, not UTF-8, wrong field types, unknown kind
     │    │    └── CapFormatError   not a safe, schema-valid CAP 1.2 document (HTTP 400)
     │    ├── CapRefused            a valid CAP message that is not published (expired, drill)
     │    ├── UnknownChannelError   a target names no configured channel account
     │    ├── LimitViolationError   rendered content breaks a channel's declared limits
     │    ├── TemplateError         a template is missing or fails (names template and line)
     │    ├── PersonalDataFound     ID, mobile or bank card numbers in the content (with where)
     │    ├── ContentCheckFailed    a misspelt protected name, a forbidden word, a bad attachment
     │    ├── IdempotencyConflict   the key was used before for a different notice
     │    ├── UnknownHolidayYear    a date in a year whose holidays chinesecalendar does not know
     │    └── DuplicateNotice       the same content was submitted within 24 hours (HTTP 409)
     ├── ConfigError                a bad setting or channel account; stops start-up
     ├── StoreError                 the database cannot be used
     │    ├── DatabaseUnavailable   cannot connect at all
     │    └── DatabaseBusy          another writer held the lock too long (503 + Retry-After)
     ├── NotFoundError              no notice or delivery with that id
     ├── StateError                 the requested transition is not allowed now (retry a posted one)
     └── ChannelError               raised by adapters; the worker reads the class:
          ├── TransientError        retry with backoff (network trouble, 5xx, system busy)
          │    └── RateLimited      wait ``retry_after`` seconds, then retry
          ├── OutcomeUnknown        the request may have arrived: reconcile, never blindly re-post
          ├── AuthExpired           refresh the credential once, then retry at once
          ├── PermanentError        give up now; keep the channel's own message for the user
          │    └── CredentialsInvalid  the account's credentials are wrong (``doctor`` says so)
          └── Duplicate             the channel already has this post: treat as posted
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class PublisherError(Exception):
    """Base of every error publisher raises on purpose."""


class InputError(PublisherError):
    """The user's input is wrong; nothing was written."""


class NoticeFormatError(InputError):
    """A notice file or request body cannot be read as a notice."""


class CapFormatError(NoticeFormatError):
    """A CAP document is unsafe, not UTF-8, too large, or not valid against the CAP 1.2 schema."""


class CapRefused(InputError):
    """A valid CAP message that is not published: expired, a drill, a Cancel, not Chinese."""


class UnknownChannelError(InputError):
    """A notice targets a channel account that is not configured."""


@dataclass(frozen=True)
class Violation:
    """One rule of one channel that a notice breaks."""

    account: str
    part: str
    rule: str
    measured: float | None = None
    limit: float | None = None

    def __str__(self) -> str:
        return f"{self.account}: {self.part}: {self.rule}"


class LimitViolationError(InputError):
    """Rendered content does not fit one or more target channels."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        super().__init__("；".join(str(v) for v in self.violations))


class PersonalDataFound(InputError):
    """The notice contains personal data (ID, mobile or bank card numbers) and asked no masking."""

    def __init__(self, locations: Sequence[str]) -> None:
        self.locations = list(locations)
        super().__init__(
            "发现个人信息 (如需打码后发布，请设置 pii: mask): " + "；".join(self.locations)
        )


class ContentCheckFailed(InputError):
    """The content checks (``publisher.checks``) found errors: one line per finding."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("内容检查未通过:\n" + "\n".join(f"  {line}" for line in self.lines))


class TemplateError(InputError):
    """A message template is missing or failed to render."""


class IdempotencyConflict(InputError):
    """An idempotency key was reused with different content."""


class UnknownHolidayYear(InputError):
    """Working days were asked of a year the holiday calendar does not cover: refused, since
    a guessed deadline is worse than none (``publisher.obligations.workdays``)."""

    def __init__(self, message: str, *, year: int) -> None:
        self.year = year
        super().__init__(message)


class DuplicateNotice(InputError):
    """The same kind, title and body were submitted recently without an idempotency key."""

    def __init__(self, message: str, notice_id: int) -> None:
        self.notice_id = notice_id
        super().__init__(message)


class ConfigError(PublisherError):
    """A setting or channel account configuration is invalid."""


class StoreError(PublisherError):
    """The database could not be used."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached."""


class DatabaseBusy(StoreError):
    """Another connection held the database's write lock past the busy timeout; nothing was
    written. Worth trying again shortly."""

    retry_after = 5  # seconds a client is told to wait


class NotFoundError(PublisherError):
    """No record with that id."""


class StateError(PublisherError):
    """The requested change is not allowed in the record's current state."""


class ChannelError(PublisherError):
    """Raised by a channel adapter. The subclass decides what the worker does next.

    ``code`` is the channel's own error code (if any) and the message is the channel's own
    words, kept so a user sees why the platform refused.
    """

    label = "渠道错误"  # what a person reads in a delivery's history

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        self.code = code
        super().__init__(message)


class TransientError(ChannelError):
    """Temporary trouble: retry later with backoff."""

    label = "暂时性错误"


class RateLimited(TransientError):
    """The channel asked us to slow down."""

    label = "渠道限流"

    def __init__(
        self, message: str, *, retry_after: float = 60.0, code: str | int | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, code=code)


class OutcomeUnknown(ChannelError):
    """The request may or may not have reached the channel (timeout after sending, lost reply)."""

    label = "结果未知"


class AuthExpired(ChannelError):
    """The access token expired or was invalidated: refresh once and retry."""

    label = "凭据过期"


class PermanentError(ChannelError):
    """The channel refused for good; retrying cannot help."""

    label = "永久性错误"


class CredentialsInvalid(PermanentError):
    """The account's credentials are wrong or revoked."""

    label = "凭据无效"


class Duplicate(ChannelError):
    """The channel already holds this post; the delivery counts as posted."""

    label = "重复发布"

    def __init__(
        self,
        message: str = "duplicate",
        *,
        remote_id: str | None = None,
        url: str | None = None,
        code: str | int | None = None,
    ) -> None:
        self.remote_id = remote_id
        self.url = url
        super().__init__(message, code=code)
