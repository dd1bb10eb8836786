"""The capabilities this server announces, with the limits it really enforces.

RFC 8620 §2 lists capabilities in the Session resource, twice: server-wide under
``capabilities`` (the core limits, the WebSocket URL) and per account under
``accountCapabilities`` (the mail limits). Each capability here is a frozen value that checks
its own numbers and renders its own JSON, so the Session and the request parser read the same
limits: what we announce is what :mod:`~switchboard.jmap.request` enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from switchboard.jmap.datatypes import is_unsigned_int
from switchboard.jmap.emailquery import SORT_PROPERTIES
from switchboard.jmap.jsonvalue import JsonObject

__all__ = [
    "CORE",
    "MAIL",
    "SUBMISSION",
    "WEBSOCKET",
    "CoreCapability",
    "MailCapability",
    "WebSocketCapability",
]

CORE: Final = "urn:ietf:params:jmap:core"
"""RFC 8620 §2: always present; Core/echo and the limits."""

MAIL: Final = "urn:ietf:params:jmap:mail"
"""RFC 8621 §1.3.1: Mailbox, Thread, Email and SearchSnippet."""

SUBMISSION: Final = "urn:ietf:params:jmap:submission"
"""RFC 8621 §1.3.2: Identity and EmailSubmission. Not announced yet; named because jmapc and
jmap-jam put it in ``using`` for Identity/get."""

WEBSOCKET: Final = "urn:ietf:params:jmap:websocket"
"""RFC 8887 §4: JMAP over WebSocket."""


def _check_unsigned(owner: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(owner, name)
        if not is_unsigned_int(value):
            raise ValueError(f"{name} must be an UnsignedInt, not {value!r}")


@dataclass(frozen=True, slots=True)
class CoreCapability:
    """The ``urn:ietf:params:jmap:core`` limits (RFC 8620 §2).

    The defaults are what a single Switchboard node serves comfortably; the server passes its
    configured values.

    Attributes:
        max_size_upload: largest upload in octets. 0: there is no upload endpoint (Email
            creation is not supported), so nothing larger than nothing is accepted.
        max_concurrent_upload: concurrent uploads per account; announced as at least 1 since
            jmapc requires the member.
        max_size_request: largest request body (HTTP) or message (WebSocket), in octets;
            :func:`~switchboard.jmap.request.parse_request` enforces it.
        max_concurrent_requests: concurrent API requests per authenticated user.
        max_calls_in_request: method calls in one request; enforced by the parser.
        max_objects_in_get: ids in one /get; enforced by
            :mod:`~switchboard.jmap.arguments`.
        max_objects_in_set: creates + updates + destroys in one /set.
        collation_algorithms: collations /query sorts accept. IMAP SORT (RFC 5256 §3) and
            SEARCH compare with ``i;ascii-casemap``, so that is the one we can promise.

    Raises:
        ValueError: a limit is not an UnsignedInt, or a limit that must be positive is 0.
    """

    max_size_upload: int = 0
    max_concurrent_upload: int = 1
    max_size_request: int = 1_048_576
    max_concurrent_requests: int = 4
    max_calls_in_request: int = 16
    max_objects_in_get: int = 500
    max_objects_in_set: int = 500
    collation_algorithms: tuple[str, ...] = ("i;ascii-casemap",)

    def __post_init__(self) -> None:
        _check_unsigned(
            self,
            (
                "max_size_upload",
                "max_concurrent_upload",
                "max_size_request",
                "max_concurrent_requests",
                "max_calls_in_request",
                "max_objects_in_get",
                "max_objects_in_set",
            ),
        )
        for name in ("max_size_request", "max_concurrent_requests", "max_calls_in_request"):
            if getattr(self, name) == 0:
                raise ValueError(f"{name} must be positive")

    def to_json(self) -> JsonObject:
        """The capability object, with the RFC's member names."""
        return {
            "maxSizeUpload": self.max_size_upload,
            "maxConcurrentUpload": self.max_concurrent_upload,
            "maxSizeRequest": self.max_size_request,
            "maxConcurrentRequests": self.max_concurrent_requests,
            "maxCallsInRequest": self.max_calls_in_request,
            "maxObjectsInGet": self.max_objects_in_get,
            "maxObjectsInSet": self.max_objects_in_set,
            "collationAlgorithms": list(self.collation_algorithms),
        }


@dataclass(frozen=True, slots=True)
class MailCapability:
    """The ``urn:ietf:params:jmap:mail`` account capability (RFC 8621 §1.3.1).

    Server-wide, the mail capability is an empty object; these values go in each account's
    ``accountCapabilities``.

    Attributes:
        max_mailboxes_per_email: an IMAP message lives in exactly one mailbox, so 1.
        max_mailbox_depth: ``None``: no limit of our own (the IMAP server may have one).
        max_size_mailbox_name: octets of UTF-8 in a mailbox name; the RFC's floor is 100.
        max_size_attachments_per_email: 0: Emails cannot be created through JMAP yet.
        email_query_sort_options: the sorts Email/query accepts, from the same table
            :mod:`~switchboard.jmap.emailquery` translates with.
        may_create_top_level_mailbox: ``False`` until Mailbox/set exists.

    Raises:
        ValueError: a number is not an UnsignedInt, or the name limit is below 100.
    """

    max_mailboxes_per_email: int | None = 1
    max_mailbox_depth: int | None = None
    max_size_mailbox_name: int = 255
    max_size_attachments_per_email: int = 0
    email_query_sort_options: tuple[str, ...] = field(default=SORT_PROPERTIES)
    may_create_top_level_mailbox: bool = False

    def __post_init__(self) -> None:
        _check_unsigned(self, ("max_size_mailbox_name", "max_size_attachments_per_email"))
        for name in ("max_mailboxes_per_email", "max_mailbox_depth"):
            value = getattr(self, name)
            if value is not None and (not is_unsigned_int(value) or value == 0):
                raise ValueError(f"{name} must be a positive UnsignedInt or None")
        if self.max_size_mailbox_name < 100:
            raise ValueError("RFC 8621 §1.3.1: maxSizeMailboxName MUST be at least 100")

    def to_json(self) -> JsonObject:
        """The account capability object, with the RFC's member names."""
        return {
            "maxMailboxesPerEmail": self.max_mailboxes_per_email,
            "maxMailboxDepth": self.max_mailbox_depth,
            "maxSizeMailboxName": self.max_size_mailbox_name,
            "maxSizeAttachmentsPerEmail": self.max_size_attachments_per_email,
            "emailQuerySortOptions": list(self.email_query_sort_options),
            "mayCreateTopLevelMailbox": self.may_create_top_level_mailbox,
        }


@dataclass(frozen=True, slots=True)
class WebSocketCapability:
    """The ``urn:ietf:params:jmap:websocket`` capability (RFC 8887 §4).

    Attributes:
        url: the absolute ``wss://`` (or ``ws://``) URL of the JMAP WebSocket endpoint.
        supports_push: whether WebSocketPushEnable is honoured.

    Raises:
        ValueError: ``url`` is not a ws:// or wss:// URL.
    """

    url: str
    supports_push: bool = True

    def __post_init__(self) -> None:
        if not self.url.startswith(("wss://", "ws://")):
            raise ValueError(f"the WebSocket URL must be ws:// or wss://, not {self.url!r}")

    def to_json(self) -> JsonObject:
        """The capability object."""
        return {"url": self.url, "supportsPush": self.supports_push}
