"""The sans-I/O wire protocol: frames, commands and responses, ids, argument checks, wire errors.

Nothing in this package does I/O or keeps state between calls; the server and the client feed it
text and get values back (``docs/protocol.md`` is the protocol). The pieces:

* :mod:`.frames` — :func:`decode_frame` / :func:`encode_frame` / :func:`encode_push`;
* :mod:`.messages` — :class:`Command` and :class:`Response`;
* :mod:`.ids` — :class:`MailboxId` / :class:`MessageId` and their parsers;
* :mod:`.methods` — the method table per :class:`Interface` and :func:`parse_arguments`;
* :mod:`.errors` — :class:`WireError` and one subclass per error type;
* :mod:`.redaction` — :func:`redact_arguments`;
* :mod:`.wirejson` — the compact JSON codec.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Each name -> the module that defines it, imported on first use (PEP 562).
_HOME = {
    "ERROR_TYPES": "switchboard.protocol.errors",
    "SUPPORTED_PROPERTIES": "switchboard.protocol.methods",
    "AccountConflict": "switchboard.protocol.errors",
    "AlreadyConnected": "switchboard.protocol.errors",
    "AuthenticationFailed": "switchboard.protocol.errors",
    "BadArgs": "switchboard.protocol.errors",
    "BadList": "switchboard.protocol.errors",
    "CannotCalculateChanges": "switchboard.protocol.errors",
    "Command": "switchboard.protocol.messages",
    "ConnectRequest": "switchboard.protocol.methods",
    "ConnectionFailed": "switchboard.protocol.errors",
    "DecodedFrame": "switchboard.protocol.frames",
    "EmptyList": "switchboard.protocol.errors",
    "GetMailboxesRequest": "switchboard.protocol.methods",
    "GetMessageListRequest": "switchboard.protocol.methods",
    "GetMessagesRequest": "switchboard.protocol.methods",
    "InactiveAccount": "switchboard.protocol.errors",
    "Interface": "switchboard.protocol.methods",
    "InvalidArguments": "switchboard.protocol.errors",
    "InvalidCommand": "switchboard.protocol.errors",
    "InvalidJson": "switchboard.protocol.errors",
    "MailboxDoesNotExist": "switchboard.protocol.errors",
    "MailboxId": "switchboard.protocol.ids",
    "MessageDoesNotExist": "switchboard.protocol.errors",
    "MessageId": "switchboard.protocol.ids",
    "Method": "switchboard.protocol.methods",
    "NoAccount": "switchboard.protocol.errors",
    "NoList": "switchboard.protocol.errors",
    "NotAuthorized": "switchboard.protocol.errors",
    "NotConnected": "switchboard.protocol.errors",
    "PlainAuth": "switchboard.protocol.methods",
    "RateLimited": "switchboard.protocol.errors",
    "Request": "switchboard.protocol.methods",
    "Response": "switchboard.protocol.messages",
    "ServerError": "switchboard.protocol.errors",
    "TokenType": "switchboard.protocol.methods",
    "TooLarge": "switchboard.protocol.errors",
    "UnknownMethod": "switchboard.protocol.errors",
    "UnknownProperty": "switchboard.protocol.errors",
    "WatchAllRequest": "switchboard.protocol.methods",
    "WatchMailboxesRequest": "switchboard.protocol.methods",
    "WireError": "switchboard.protocol.errors",
    "XOAuth2Auth": "switchboard.protocol.methods",
    "decode_frame": "switchboard.protocol.frames",
    "encode_frame": "switchboard.protocol.frames",
    "encode_push": "switchboard.protocol.frames",
    "error_response": "switchboard.protocol.errors",
    "is_known_method": "switchboard.protocol.methods",
    "lookup_method": "switchboard.protocol.methods",
    "methods_of": "switchboard.protocol.methods",
    "parse_arguments": "switchboard.protocol.methods",
    "parse_mailbox_id": "switchboard.protocol.ids",
    "parse_message_id": "switchboard.protocol.ids",
    "redact_arguments": "switchboard.protocol.redaction",
    "split_account": "switchboard.protocol.methods",
    "validate_connect": "switchboard.protocol.methods",
    "validate_get_mailboxes": "switchboard.protocol.methods",
    "validate_get_message_list": "switchboard.protocol.methods",
    "validate_get_messages": "switchboard.protocol.methods",
    "validate_watch_all": "switchboard.protocol.methods",
    "validate_watch_mailboxes": "switchboard.protocol.methods",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
