"""The typed requests the wire's methods parse into: frozen values, one class per method.

:func:`switchboard.protocol.methods.parse_arguments` (through the checks of
:mod:`switchboard.protocol.arguments`) returns them; the server's session core and handlers, and
the server's account settings, read them. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from switchboard.protocol.ids import MailboxId, MessageId

__all__ = [
    "AckRequest",
    "ConnectRequest",
    "GetMailboxesRequest",
    "GetMessageListRequest",
    "GetMessagesRequest",
    "PlainAuth",
    "Request",
    "TokenType",
    "WatchAllRequest",
    "WatchMailboxesRequest",
    "XOAuth2Auth",
]


class TokenType(enum.StrEnum):
    """The kind of OAuth2 token given to ``connect``."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class PlainAuth:
    """``{"type": "plain", "username": U, "password": P}``: IMAP LOGIN."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class XOAuth2Auth:
    """``{"type": "xoauth2", "username": U, "token": {"type", "token", "provider"?}}``.

    ``provider`` names the server-side OAuth2 provider used to exchange a refresh token; an
    unknown provider is for the server to reject. The older ``url`` key is ignored.
    """

    username: str
    token_type: TokenType
    token: str = field(repr=False)
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """``connect``.

    ``ssl`` (default true: implicit TLS, the original's only mode) and ``starttls`` (default
    false) are our additions; ``ssl`` false and ``starttls`` false means plain IMAP, which the
    server may refuse. Both true is contradictory and refused.
    """

    host: str
    port: int
    auth: PlainAuth | XOAuth2Auth
    ssl: bool = True
    starttls: bool = False


@dataclass(frozen=True, slots=True)
class WatchAllRequest:
    """``watchAll``; ``since``/``group`` as in the module docstring."""

    since: int | None = None
    group: str | None = None
    visibility_timeout_s: float | None = None
    summary: bool = False


@dataclass(frozen=True, slots=True)
class WatchMailboxesRequest:
    """``watchMailboxes``: mailbox names, deduplicated in first-seen order."""

    names: tuple[str, ...]
    since: int | None = None
    group: str | None = None
    visibility_timeout_s: float | None = None
    summary: bool = False


@dataclass(frozen=True, slots=True)
class GetMailboxesRequest:
    """``getMailboxes``.

    ``state`` is the state the caller already has; ``None`` when absent or when it can match
    nothing. States are integers in ``0..2**53-1``, which a JavaScript client echoes exactly;
    an integral float is kept as its integer value (the original's 160-bit states came back
    as imprecise floats in its JavaScript client, and simply failed to match).
    """

    state: int | None = None


@dataclass(frozen=True, slots=True)
class GetMessageListRequest:
    """``getMessageList``."""

    mailbox_id: MailboxId


@dataclass(frozen=True, slots=True)
class GetMessagesRequest:
    """``getMessages``: ids in request order, properties deduplicated in request order."""

    ids: tuple[MessageId, ...]
    properties: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AckRequest:
    """``ack`` (issue 6): the event ids a group member has finished with, deduplicated."""

    event_ids: tuple[int, ...]


Request = (
    AckRequest
    | ConnectRequest
    | WatchAllRequest
    | WatchMailboxesRequest
    | GetMailboxesRequest
    | GetMessageListRequest
    | GetMessagesRequest
)
