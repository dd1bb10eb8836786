"""The checks that turn one method's raw arguments into its typed request, or a wire error.

Each ``validate_…`` function takes the arguments as the peer sent them (JSON values) and returns
the frozen request of :mod:`switchboard.protocol.requests`, or raises the
:class:`~switchboard.protocol.errors.WireError` to answer with;
:func:`switchboard.protocol.methods.parse_arguments` picks the one a method needs.

Argument rules (docs/protocol.md, "Frames", "Commands" and "Errors"):

* ``[]`` counts as ``{}``, except for ``watchAll``, which wants exactly an object;
  a string, number, boolean, ``null`` or non-empty array is ``invalidArguments``.
* Unknown keys are ignored, except for ``watchAll``, where any key but ``since``/``group`` is
  ``badArgs``.
* ``since`` (an integer event id in ``0..2**53-1``, resume after it), ``group`` (a non-empty
  string naming a consumer group) and ``visibilityTimeout`` (seconds, a number in
  ``(0, MAX_VISIBILITY_TIMEOUT_S]``, only with ``group``) are optional on ``watchAll`` and
  ``watchMailboxes``; their meaning belongs to the server.
* ``ack`` (issue 6) takes ``{"eventIds": [int, ...]}`` (each in ``1..2**53-1``) on both
  interfaces; it needs no account.
* Every number has a range, checked here: an event id the server sent is never above
  :data:`~switchboard.protocol.wirejson.MAX_SAFE_INTEGER`, so a larger one (``2**63``,
  ``10**30``, a 4,000-digit number) is the client's mistake, answered like any other
  ill-typed argument, and never reaches the store.
* ``idle`` is accepted as an alias of ``watchMailboxes`` on both interfaces: a
  guide's Ruby example still sends it, and no client could rely on it failing. ``idling`` stays
  unknown, as every other name the original never had.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final

from switchboard.protocol.errors import (
    BadArgs,
    BadList,
    EmptyList,
    InvalidArguments,
    NoList,
    UnknownProperty,
)
from switchboard.protocol.ids import parse_mailbox_id, parse_message_id
from switchboard.protocol.requests import (
    AckRequest,
    ConnectRequest,
    GetMailboxesRequest,
    GetMessageListRequest,
    GetMessagesRequest,
    PlainAuth,
    TokenType,
    WatchAllRequest,
    WatchMailboxesRequest,
    XOAuth2Auth,
)
from switchboard.protocol.wirejson import MAX_SAFE_INTEGER

__all__ = [
    "MAX_ACK_IDS",
    "MAX_GROUP_NAME_CHARS",
    "MAX_SECRET_CHARS",
    "MAX_USERNAME_CHARS",
    "MAX_VISIBILITY_TIMEOUT_S",
    "SUPPORTED_PROPERTIES",
    "validate_ack",
    "validate_connect",
    "validate_get_mailboxes",
    "validate_get_message_list",
    "validate_get_messages",
    "validate_watch_all",
    "validate_watch_mailboxes",
]

SUPPORTED_PROPERTIES: Final = frozenset(
    {
        "messageId", "mailboxId", "raw", "from", "to", "cc", "bcc", "replyTo", "subject",
        "date", "size", "textBody", "htmlBody", "preview", "isUnread", "unread", "isFlagged",
        "isDraft", "isAnswered", "hasAttachment", "attachments", "headers",
    }
)  # fmt: skip
"""``getMessages`` property names (docs/protocol.md, "getMessages properties"); ``body``,
``rawUrl``, ``labels`` and any other name are ``unknownProperty``."""


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but true is not port 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _object(args: Any) -> dict[str, Any]:
    if isinstance(args, dict):
        return args
    if args == [] and isinstance(args, list):
        return {}  # the JS client sends [] for getMailboxes
    raise InvalidArguments("arguments must be an object")


def _string(obj: dict[str, Any], key: str, where: str = "") -> str:
    name = f"{where}{key}"
    if key not in obj:
        raise InvalidArguments(f"missing {name}")
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise InvalidArguments(f"{name} must be a non-empty string")
    return value


def _flag(obj: dict[str, Any], key: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise InvalidArguments(f"{key} must be a boolean")
    return value


# Longest username and secret accepted: an address is at most 254 characters (RFC 5321
# §4.5.3.1.3) and OAuth2 tokens run to a few kilobytes. Longer ones would only fail later, as a
# login the IMAP server drops, which looks like the server's fault.
MAX_USERNAME_CHARS: Final = 1024
MAX_SECRET_CHARS: Final = 16_384

# Characters no IMAP server can receive in a credential: NUL cannot travel in an IMAP string
# (RFC 3501 §4.3) and separates SASL PLAIN's fields (RFC 4616 §2); ^A separates XOAUTH2's.
_PLAIN_SEPARATORS: Final = "\x00"
_XOAUTH2_SEPARATORS: Final = "\x00\x01"


def _credential(value: str, name: str, limit: int, separators: str) -> str:
    # The description names the field, never the value: it may be a secret.
    if len(value) > limit:
        raise InvalidArguments(f"{name} is longer than {limit} characters")
    found = sorted({f"U+{ord(c):04X}" for c in value if c in separators})
    if found:
        raise InvalidArguments(f"{name} must not contain {' or '.join(found)}")
    return value


def _parse_auth(obj: dict[str, Any]) -> PlainAuth | XOAuth2Auth:
    if "auth" not in obj:
        raise InvalidArguments("missing auth")
    auth = obj["auth"]
    if not isinstance(auth, dict):
        raise InvalidArguments("auth must be an object")
    kind = auth.get("type")
    if kind == "plain":
        username = _string(auth, "username", "auth.")
        return PlainAuth(
            _credential(username, "auth.username", MAX_USERNAME_CHARS, _PLAIN_SEPARATORS),
            _credential(_password(auth), "auth.password", MAX_SECRET_CHARS, _PLAIN_SEPARATORS),
        )
    if kind == "xoauth2":
        username = _string(auth, "username", "auth.")
        _credential(username, "auth.username", MAX_USERNAME_CHARS, _XOAUTH2_SEPARATORS)
        token = auth.get("token")
        if not isinstance(token, dict):
            raise InvalidArguments("auth.token must be an object")
        raw_type = token.get("type")
        if not isinstance(raw_type, str) or raw_type not in {t.value for t in TokenType}:
            raise InvalidArguments("auth.token.type must be access or refresh")
        token_type = TokenType(raw_type)
        provider = token.get("provider")
        if provider is not None and (not isinstance(provider, str) or not provider):
            raise InvalidArguments("auth.token.provider must be a non-empty string")
        secret = _string(token, "token", "auth.token.")
        _credential(secret, "auth.token.token", MAX_SECRET_CHARS, _XOAUTH2_SEPARATORS)
        return XOAuth2Auth(username, token_type, secret, provider)
    raise InvalidArguments("auth.type must be plain or xoauth2")


def _password(auth: dict[str, Any]) -> str:
    # An empty password is a string the IMAP server may accept; only the type is ours to check.
    if "password" not in auth:
        raise InvalidArguments("missing auth.password")
    if not isinstance(auth["password"], str):
        raise InvalidArguments("auth.password must be a string")
    return str(auth["password"])


# A host name once IDNA-encoded (RFC 5890): letters, digits, hyphens, dots; underscores too, which
# resolvers accept in internal names. At most 253 characters (RFC 1035 §2.3.4).
_HOST_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,253}", re.ASCII)


def _host(obj: dict[str, Any]) -> str:
    """``host``: an IP address, or a host name that can be looked up (IDNA names included).

    Anything else (NUL, spaces, ``/``, a 300-character label, ``[::1]``) could only fail later,
    deep in the resolver or the TLS layer, as something that looks like our fault.
    """
    host = _string(obj, "host")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    try:
        # The stdlib codec checks label lengths (1..63) and maps Unicode names to xn-- form.
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    if _HOST_NAME.fullmatch(ascii_name) is None:
        raise InvalidArguments("host must be a host name or an IP address")
    return host


def validate_connect(args: Any) -> ConnectRequest:
    """Check ``connect`` args: ``host``, ``port``, ``auth``, optional TLS flags.

    Raises:
        InvalidArguments: a missing or ill-typed field (named in ``description``): ``host`` not
            an IP address or a host name (see :func:`_host`); ``port`` not an integer (booleans
            excluded) in 1..65535; ``auth`` not an object, of unknown ``type``, or (xoauth2)
            with an unknown token type; a username over :data:`MAX_USERNAME_CHARS` or a
            password/token over :data:`MAX_SECRET_CHARS` characters, or one holding a character
            its SASL mechanism uses as a separator (NUL; ^A for xoauth2);
            ``ssl``/``starttls`` not booleans or both true.
    """
    obj = _object(args)
    host = _host(obj)
    if "port" not in obj:
        raise InvalidArguments("missing port")
    port = obj["port"]
    if not _is_int(port) or not 1 <= port <= 65535:
        raise InvalidArguments("port must be an integer in 1..65535")
    auth = _parse_auth(obj)
    ssl, starttls = _flag(obj, "ssl", True), _flag(obj, "starttls", False)
    if ssl and starttls:
        raise InvalidArguments("ssl and starttls cannot both be true")
    return ConnectRequest(host, port, auth, ssl, starttls)


# Group names are map keys, log fields and database text (PostgreSQL text cannot hold NUL):
# short, and without control characters.
MAX_GROUP_NAME_CHARS: Final = 200
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")

MAX_VISIBILITY_TIMEOUT_S: Final = 86_400.0
"""Longest ``visibilityTimeout`` a group member may ask for: one day. An event held longer is
lost work, not work in progress; and the bound keeps the deadline arithmetic in range."""


def _event_id(value: Any, lowest: int) -> bool:
    """Whether ``value`` is an integer event id in ``lowest..MAX_SAFE_INTEGER``."""
    return _is_int(value) and lowest <= value <= MAX_SAFE_INTEGER


def _since_group(
    obj: dict[str, Any], error: type[BadArgs | InvalidArguments]
) -> tuple[int | None, str | None, float | None]:
    since = obj.get("since")
    if since is not None and not _event_id(since, 0):
        raise error(f"since must be an integer in 0..{MAX_SAFE_INTEGER}")
    group = obj.get("group")
    if group is not None and (
        not isinstance(group, str)
        or not group
        or len(group) > MAX_GROUP_NAME_CHARS
        or _CONTROL.search(group) is not None
    ):
        raise error(
            f"group must be a non-empty string of at most {MAX_GROUP_NAME_CHARS} chars,"
            " without control characters"
        )
    timeout = obj.get("visibilityTimeout")
    if timeout is not None:
        if group is None:
            raise error("visibilityTimeout needs group")
        # Compared before float(): a 400-digit integer does not convert.
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_VISIBILITY_TIMEOUT_S
        ):
            raise error(
                "visibilityTimeout must be a number of seconds > 0 "
                f"and at most {MAX_VISIBILITY_TIMEOUT_S:g}"
            )
        timeout = float(timeout)
    return since, group, timeout


def _summary(obj: dict[str, Any], error: type[BadArgs | InvalidArguments]) -> bool:
    """The optional ``summary`` flag: pushes then carry subject, from, date and size."""
    summary = obj.get("summary", False)
    if not isinstance(summary, bool):
        raise error("summary must be true or false")
    return summary


def validate_watch_all(args: Any) -> WatchAllRequest:
    """Check ``watchAll`` args: an object with at most ``since``, ``group``, ``summary``.

    Raises:
        BadArgs: args are not an object (``[]`` included), hold another key, or ``since`` /
            ``group`` / ``visibilityTimeout`` / ``summary`` are ill-typed or out of range.
    """
    if not isinstance(args, dict):
        raise BadArgs("arguments must be {}")
    extra = sorted(set(args) - {"since", "group", "visibilityTimeout", "summary"})
    if extra:
        raise BadArgs(f"unexpected key {extra[0]}")
    return WatchAllRequest(*_since_group(args, BadArgs), summary=_summary(args, BadArgs))


def validate_watch_mailboxes(args: Any) -> WatchMailboxesRequest:
    """Check ``watchMailboxes`` args; names are deduplicated keeping first-seen order.

    Raises:
        InvalidArguments: args are not an object (nor ``[]``), or ``since`` / ``group`` /
            ``visibilityTimeout`` / ``summary`` are ill-typed or out of range.
        NoList: no ``list`` key.
        BadList: ``list`` is not an array of non-empty strings.
        EmptyList: ``list`` is ``[]``.
    """
    obj = _object(args)
    if "list" not in obj:
        raise NoList("missing list")
    names = obj["list"]
    if not isinstance(names, list):
        raise BadList("list must be an array of mailbox names")
    if not names:
        raise EmptyList("list is empty")
    if not all(isinstance(name, str) and name for name in names):
        raise BadList("list entries must be non-empty strings")
    return WatchMailboxesRequest(
        tuple(dict.fromkeys(names)),
        *_since_group(obj, InvalidArguments),
        summary=_summary(obj, InvalidArguments),
    )


def validate_get_mailboxes(args: Any) -> GetMailboxesRequest:
    """Check ``getMailboxes`` args: an optional integer ``state``.

    A number no state can equal (fractional, negative, above ``2**53-1``) is kept as ``None``:
    the caller simply gets the full list, as for a stale state.

    Raises:
        InvalidArguments: args are not an object (nor ``[]``), or ``state`` is not a number.
    """
    state = _object(args).get("state")
    if isinstance(state, float) and state.is_integer():
        state = int(state)  # a JS client's echo of an integer
    if state is None or _event_id(state, 0):
        return GetMailboxesRequest(state)
    if _is_int(state) or isinstance(state, float):
        return GetMailboxesRequest(None)
    raise InvalidArguments("state must be an integer")


def validate_get_message_list(args: Any) -> GetMessageListRequest:
    """Check ``getMessageList`` args and parse the ``mailboxId``.

    Raises:
        InvalidArguments: args are not an object (nor ``[]``); ``mailboxId`` missing or not a
            string.
        MailboxDoesNotExist: ``mailboxId`` is malformed.
    """
    obj = _object(args)
    if "mailboxId" not in obj:
        raise InvalidArguments("missing mailboxId")
    if not isinstance(obj["mailboxId"], str):
        raise InvalidArguments("mailboxId must be a string")
    return GetMessageListRequest(parse_mailbox_id(obj["mailboxId"]))


def validate_get_messages(args: Any) -> GetMessagesRequest:
    """Check ``getMessages`` args, parse every id and check every property name.

    Checks run in this order: the shape of ``ids``, the shape of ``properties``, each property
    name, then each id.

    Raises:
        InvalidArguments: args are not an object (nor ``[]``); ``ids`` missing or not an array
            of strings; ``properties`` missing, not an array of strings, or empty.
        UnknownProperty: a property outside :data:`SUPPORTED_PROPERTIES` (named).
        MessageDoesNotExist: a malformed id in ``ids``.
    """
    obj = _object(args)
    if "ids" not in obj:
        raise InvalidArguments("missing ids")
    ids = obj["ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidArguments("ids must be an array of messageId strings")
    if "properties" not in obj:
        raise InvalidArguments("missing properties")
    properties = obj["properties"]
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise InvalidArguments("properties must be an array of strings")
    if not properties:
        raise InvalidArguments("properties is empty")
    for name in properties:
        if name not in SUPPORTED_PROPERTIES:
            raise UnknownProperty(f"unknown property {name}")
    return GetMessagesRequest(
        tuple(parse_message_id(i) for i in ids), tuple(dict.fromkeys(properties))
    )


# More ids than this in one ack is a client bug, not a batch worth holding in memory.
MAX_ACK_IDS: Final = 10_000


def validate_ack(args: Any) -> AckRequest:
    """Check ``ack`` args: ``{"eventIds": [int, ...]}``, deduplicated in first-seen order.

    Raises:
        InvalidArguments: args are not an object (nor ``[]``); ``eventIds`` missing, not an
            array of integers in ``1..2**53-1``, or longer than :data:`MAX_ACK_IDS`.
    """
    obj = _object(args)
    if "eventIds" not in obj:
        raise InvalidArguments("missing eventIds")
    ids = obj["eventIds"]
    if not isinstance(ids, list) or not all(_event_id(i, 1) for i in ids):
        raise InvalidArguments(f"eventIds must be an array of integers in 1..{MAX_SAFE_INTEGER}")
    if len(ids) > MAX_ACK_IDS:
        raise InvalidArguments(f"at most {MAX_ACK_IDS} eventIds per ack")
    return AckRequest(tuple(dict.fromkeys(ids)))
