"""Which methods each interface offers, and the checks that turn raw arguments into requests.

How it works: the server looks a method name up with :func:`lookup_method` (``None`` means
``unknownMethod``, after the worker account checks of docs/protocol.md, "Commands"), splits
``account`` off worker pass-through commands with :func:`split_account`, and calls the method's
``validate_…`` function (or :func:`parse_arguments`, which picks it) to get a typed, frozen request
or the :class:`~switchboard.protocol.errors.WireError` to answer with.
Nothing here knows about connection state (``notConnected``/``alreadyConnected``) or accounts;
that is the session's job.

The requests are :mod:`switchboard.protocol.requests`, the checks
:mod:`switchboard.protocol.arguments` (with the argument rules); both are re-exported here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from switchboard.protocol.arguments import (
    MAX_ACK_IDS,
    MAX_GROUP_NAME_CHARS,
    MAX_SECRET_CHARS,
    MAX_USERNAME_CHARS,
    MAX_VISIBILITY_TIMEOUT_S,
    SUPPORTED_PROPERTIES,
    validate_ack,
    validate_connect,
    validate_get_mailboxes,
    validate_get_message_list,
    validate_get_messages,
    validate_watch_all,
    validate_watch_mailboxes,
)
from switchboard.protocol.errors import NoAccount
from switchboard.protocol.redaction import redact_arguments
from switchboard.protocol.requests import (
    AckRequest,
    ConnectRequest,
    GetMailboxesRequest,
    GetMessageListRequest,
    GetMessagesRequest,
    PlainAuth,
    Request,
    TokenType,
    WatchAllRequest,
    WatchMailboxesRequest,
    XOAuth2Auth,
)

__all__ = [
    "MAX_ACK_IDS",
    "MAX_GROUP_NAME_CHARS",
    "MAX_SECRET_CHARS",
    "MAX_USERNAME_CHARS",
    "MAX_VISIBILITY_TIMEOUT_S",
    "METHOD_ALIASES",
    "SUPPORTED_PROPERTIES",
    "AckRequest",
    "ConnectRequest",
    "GetMailboxesRequest",
    "GetMessageListRequest",
    "GetMessagesRequest",
    "Interface",
    "Method",
    "PlainAuth",
    "Request",
    "TokenType",
    "WatchAllRequest",
    "WatchMailboxesRequest",
    "XOAuth2Auth",
    "is_known_method",
    "lookup_method",
    "methods_of",
    "parse_arguments",
    "redact_arguments",
    "split_account",
    "validate_ack",
    "validate_connect",
    "validate_get_mailboxes",
    "validate_get_message_list",
    "validate_get_messages",
    "validate_watch_all",
    "validate_watch_mailboxes",
]


class Interface(enum.Enum):
    """The two WebSocket endpoints."""

    WORKERS = "/workers"
    CLIENTS = "/clients"


class Method(enum.Enum):
    """Every method the server implements, by its canonical wire name."""

    CONNECT = "connect"
    WATCH_ALL = "watchAll"
    WATCH_MAILBOXES = "watchMailboxes"
    GET_MAILBOXES = "getMailboxes"
    GET_MESSAGE_LIST = "getMessageList"
    GET_MESSAGES = "getMessages"
    ACK = "ack"


_ACCOUNT_METHODS: Final = frozenset(
    {Method.WATCH_MAILBOXES, Method.GET_MAILBOXES, Method.GET_MESSAGE_LIST, Method.GET_MESSAGES}
)

# watchAll exists only for workers; everything else exists on both interfaces.
_METHODS: Final[Mapping[Interface, frozenset[Method]]] = MappingProxyType(
    {
        Interface.WORKERS: frozenset(
            {Method.CONNECT, Method.WATCH_ALL, Method.ACK} | _ACCOUNT_METHODS
        ),
        Interface.CLIENTS: frozenset({Method.CONNECT, Method.ACK} | _ACCOUNT_METHODS),
    }
)

METHOD_ALIASES: Final[Mapping[str, Method]] = MappingProxyType({"idle": Method.WATCH_MAILBOXES})
"""Extra names accepted for a method (see the module docstring)."""


def methods_of(interface: Interface) -> frozenset[Method]:
    """Return the methods ``interface`` offers (aliases not included)."""
    return _METHODS[interface]


def lookup_method(interface: Interface, name: str) -> Method | None:
    """Return the method ``name`` means on ``interface``, or ``None`` when it has none.

    Names are case-sensitive. ``watchAll`` on ``/clients`` is ``None``.
    """
    method: Method | None
    try:
        method = Method(name)
    except ValueError:
        method = METHOD_ALIASES.get(name)
    return method if method in _METHODS[interface] else None


def is_known_method(interface: Interface, name: str) -> bool:
    """Tell whether ``name`` (or an alias of it) is a method of ``interface``."""
    return lookup_method(interface, name) is not None


def split_account(args: Any) -> tuple[str, dict[str, Any]]:
    """Split ``account`` off the args of a ``/workers`` pass-through command.

    Returns the account name and a *copy* of ``args`` without ``account``; ``args`` itself is
    untouched, so errors can still echo the arguments as sent.

    Raises:
        NoAccount: ``args`` is not an object, or has no ``account``, or it is not a string.
    """
    if not isinstance(args, dict) or "account" not in args:
        raise NoAccount("missing account")
    account = args["account"]
    if not isinstance(account, str):
        raise NoAccount("account must be a string")
    return account, {key: value for key, value in args.items() if key != "account"}


_PARSERS: Final[Mapping[Method, Callable[[Any], Request]]] = MappingProxyType(
    {
        Method.ACK: validate_ack,
        Method.CONNECT: validate_connect,
        Method.WATCH_ALL: validate_watch_all,
        Method.WATCH_MAILBOXES: validate_watch_mailboxes,
        Method.GET_MAILBOXES: validate_get_mailboxes,
        Method.GET_MESSAGE_LIST: validate_get_message_list,
        Method.GET_MESSAGES: validate_get_messages,
    }
)


def parse_arguments(method: Method, args: Any) -> Request:
    """Check ``args`` for ``method`` and return the typed request.

    On ``/workers``, pass the args *after* :func:`split_account`. The returned request's type
    follows ``method`` (``Method.CONNECT`` gives a :class:`ConnectRequest`, and so on).

    Raises:
        InvalidArguments: args are not an object (``[]`` excepted), or a field is missing or
            ill-typed; ``description`` names the field.
        BadArgs: ``watchAll`` args other than an object of optional ``since``/``group``.
        NoList, EmptyList, BadList: ``watchMailboxes`` without a usable ``list``.
        UnknownProperty: ``getMessages`` asked for an unsupported property.
        MailboxDoesNotExist: ``getMessageList`` with a malformed ``mailboxId``.
        MessageDoesNotExist: ``getMessages`` with a malformed id in ``ids``.
        Anything else is a bug.
    """
    return _PARSERS[method](args)
