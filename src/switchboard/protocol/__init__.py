"""The sans-I/O wire protocol: frames, commands and responses, ids, argument checks, wire errors.

Nothing in this package does I/O or keeps state between calls; the server and the client feed it
text and get values back (see protocol.md and design.md). The pieces:

* :mod:`.frames` — :func:`decode_frame` / :func:`encode_frame` / :func:`encode_push`;
* :mod:`.messages` — :class:`Command` and :class:`Response`;
* :mod:`.ids` — :class:`MailboxId` / :class:`MessageId` and their parsers;
* :mod:`.methods` — the method table per :class:`Interface` and :func:`parse_arguments`;
* :mod:`.errors` — :class:`WireError` and one subclass per error type;
* :mod:`.redaction` — :func:`redact_arguments`;
* :mod:`.wirejson` — the compact JSON codec.
"""

from __future__ import annotations

from switchboard.protocol.errors import (
    ERROR_TYPES,
    AccountConflict,
    AlreadyConnected,
    AuthenticationFailed,
    BadArgs,
    BadList,
    CannotCalculateChanges,
    ConnectionFailed,
    EmptyList,
    InactiveAccount,
    InvalidArguments,
    InvalidCommand,
    InvalidJson,
    MailboxDoesNotExist,
    MessageDoesNotExist,
    NoAccount,
    NoList,
    NotAuthorized,
    NotConnected,
    RateLimited,
    ServerError,
    TooLarge,
    UnknownMethod,
    UnknownProperty,
    WireError,
    error_response,
)
from switchboard.protocol.frames import DecodedFrame, decode_frame, encode_frame, encode_push
from switchboard.protocol.ids import (
    MailboxId,
    MessageId,
    parse_mailbox_id,
    parse_message_id,
)
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.methods import (
    SUPPORTED_PROPERTIES,
    ConnectRequest,
    GetMailboxesRequest,
    GetMessageListRequest,
    GetMessagesRequest,
    Interface,
    Method,
    PlainAuth,
    Request,
    TokenType,
    WatchAllRequest,
    WatchMailboxesRequest,
    XOAuth2Auth,
    is_known_method,
    lookup_method,
    methods_of,
    parse_arguments,
    split_account,
    validate_connect,
    validate_get_mailboxes,
    validate_get_message_list,
    validate_get_messages,
    validate_watch_all,
    validate_watch_mailboxes,
)
from switchboard.protocol.redaction import redact_arguments

__all__ = [
    "ERROR_TYPES",
    "SUPPORTED_PROPERTIES",
    "AccountConflict",
    "AlreadyConnected",
    "AuthenticationFailed",
    "BadArgs",
    "BadList",
    "CannotCalculateChanges",
    "Command",
    "ConnectRequest",
    "ConnectionFailed",
    "DecodedFrame",
    "EmptyList",
    "GetMailboxesRequest",
    "GetMessageListRequest",
    "GetMessagesRequest",
    "InactiveAccount",
    "Interface",
    "InvalidArguments",
    "InvalidCommand",
    "InvalidJson",
    "MailboxDoesNotExist",
    "MailboxId",
    "MessageDoesNotExist",
    "MessageId",
    "Method",
    "NoAccount",
    "NoList",
    "NotAuthorized",
    "NotConnected",
    "PlainAuth",
    "RateLimited",
    "Request",
    "Response",
    "ServerError",
    "TokenType",
    "TooLarge",
    "UnknownMethod",
    "UnknownProperty",
    "WatchAllRequest",
    "WatchMailboxesRequest",
    "WireError",
    "XOAuth2Auth",
    "decode_frame",
    "encode_frame",
    "encode_push",
    "error_response",
    "is_known_method",
    "lookup_method",
    "methods_of",
    "parse_arguments",
    "parse_mailbox_id",
    "parse_message_id",
    "redact_arguments",
    "split_account",
    "validate_connect",
    "validate_get_mailboxes",
    "validate_get_message_list",
    "validate_get_messages",
    "validate_watch_all",
    "validate_watch_mailboxes",
]
