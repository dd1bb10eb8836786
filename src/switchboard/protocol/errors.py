"""The wire error tree: every failure a peer can be told about, each building its own reply.

Every class carries its ``type`` string (docs/protocol.md, "Errors") and turns itself into the
response ``["error", {"type", "method", "arguments", "description"?}, tag?]`` for the command that
failed. Arguments are echoed with secrets redacted::

    SwitchboardError
     └── WireError                    (abstract: never raised itself)
          ├── peer faults — the command or frame was wrong
          │    ├── InvalidJson            invalidJson
          │    ├── TooLarge               tooLarge
          │    ├── InvalidCommand         invalidCommand
          │    ├── InvalidArguments       invalidArguments
          │    ├── UnknownProperty        unknownProperty
          │    ├── UnknownMethod          unknownMethod
          │    ├── NoList / EmptyList / BadList / BadArgs
          │    ├── NoAccount / InactiveAccount / NotConnected / AlreadyConnected
          │    ├── NotAuthorized          notAuthorized
          │    ├── MailboxDoesNotExist / MessageDoesNotExist
          │    ├── AuthenticationFailed / AccountConflict
          │    ├── CannotCalculateChanges cannotCalculateChanges (resume from a too-old event id)
          │    └── RateLimited            rateLimited
          └── our or the mail server's fault
               ├── ConnectionFailed       connectionFailed
               └── ServerError            serverError

``tooLarge`` is our addition: the untagged whole-frame reply to a frame over ``max_frame_bytes``
or a batch over ``max_batch`` (see :func:`~switchboard.protocol.frames.decode_frame`). It has
the ``invalidJson`` shape (``method`` and ``arguments`` ``null``) so a client that only checks
for ``error`` still sees one.
"""

# The class names mirror the wire type strings (MailboxDoesNotExist ⇔ mailboxDoesNotExist),
# which reads better than an Error suffix on every one of them.
# ruff: noqa: N818

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from switchboard.errors import SwitchboardError
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.redaction import redact_arguments

__all__ = [
    "ERROR_TYPES",
    "AccountConflict",
    "AlreadyConnected",
    "AuthenticationFailed",
    "BadArgs",
    "BadList",
    "CannotCalculateChanges",
    "ConnectionFailed",
    "EmptyList",
    "InactiveAccount",
    "InvalidArguments",
    "InvalidCommand",
    "InvalidJson",
    "MailboxDoesNotExist",
    "MessageDoesNotExist",
    "NoAccount",
    "NoList",
    "NotAuthorized",
    "NotConnected",
    "RateLimited",
    "ServerError",
    "TooLarge",
    "UnknownMethod",
    "UnknownProperty",
    "WireError",
    "error_response",
]


def error_response(
    type: str,
    method: Any,
    arguments: Any,
    tag: Any = None,
    tagged: bool = False,
    description: str | None = None,
) -> Response:
    """Build an ``error`` response with its keys in the documented order (docs/protocol.md).

    ``arguments`` is echoed with secrets replaced by ``"***"``
    (:func:`~switchboard.protocol.redaction.redact_arguments`); it is copied, never mutated.
    ``description`` is left out of the object when ``None``.
    """
    body: dict[str, Any] = {
        "type": type,
        "method": method,
        "arguments": redact_arguments(arguments),
    }
    if description is not None:
        body["description"] = description
    return Response("error", body, tag, tagged)


class WireError(SwitchboardError):
    """Base of every error that is answered with an ``error`` response; never raised itself.

    Attributes:
        type: the wire error type string (a class attribute, one per subclass).
        description: optional human-readable detail, sent as ``description``; validators name
            the offending field here.
    """

    # Narrows SwitchboardError.type (str | None): a wire error always has its type string.
    type: str

    def __init__(self, description: str | None = None) -> None:
        if type(self) is WireError:
            raise TypeError("WireError is abstract; raise one of its subclasses")
        super().__init__(description or self.type)
        self.description = description

    def to_response(self, command: Command) -> Response:
        """Build the error response to ``command``: its method, its arguments, its tag."""
        return error_response(
            self.type, command.method, command.args, command.tag, command.tagged, self.description
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description!r})"


class InvalidJson(WireError):
    """The frame is not JSON, not UTF-8, or its top level is not an array."""

    type = "invalidJson"


class TooLarge(WireError):
    """The frame is over ``max_frame_bytes``, nested deeper than ``max_depth``, or the batch
    is longer than ``max_batch``; nothing in it runs."""

    type = "tooLarge"


class InvalidCommand(WireError):
    """A batch element is not ``[method: str, args, tag?]`` (2 or 3 elements)."""

    type = "invalidCommand"


class InvalidArguments(WireError):
    """Arguments are missing or of the wrong type; ``description`` names the field."""

    type = "invalidArguments"


class UnknownProperty(WireError):
    """``getMessages`` asked for a property this server does not support; named in
    ``description``."""

    type = "unknownProperty"


class NotConnected(WireError):
    """``/clients``: a known method sent before a successful ``connect``."""

    type = "notConnected"


class AlreadyConnected(WireError):
    """``/clients``: a second ``connect`` on a connection that already has its account."""

    type = "alreadyConnected"


class ConnectionFailed(WireError):
    """``connect`` could not reach the IMAP server (TCP or TLS failure, timeout)."""

    type = "connectionFailed"


class AuthenticationFailed(WireError):
    """The IMAP server or the OAuth2 provider rejected the credentials, or they do not match
    the existing account's."""

    type = "authenticationFailed"


class AccountConflict(WireError):
    """``connect`` named an existing account (username) with another host or port."""

    type = "accountConflict"


class NotAuthorized(WireError):
    """``/workers``: the account is outside the scope of this worker's credential."""

    type = "notAuthorized"


class MailboxDoesNotExist(WireError):
    """A mailboxId is unparsable, stale (UIDVALIDITY changed) or names no mailbox."""

    type = "mailboxDoesNotExist"


class MessageDoesNotExist(WireError):
    """A messageId is unparsable."""

    type = "messageDoesNotExist"


class UnknownMethod(WireError):
    """The method does not exist on this interface (``watchAll`` on ``/clients`` included)."""

    type = "unknownMethod"


class NoList(WireError):
    """``watchMailboxes`` without a ``list`` key."""

    type = "noList"


class EmptyList(WireError):
    """``watchMailboxes`` with ``"list": []``."""

    type = "emptyList"


class BadList(WireError):
    """``watchMailboxes`` with a ``list`` that is not an array of mailbox names."""

    type = "badList"


class BadArgs(WireError):
    """``watchAll`` with arguments other than ``{}`` (or its optional ``since``/``group``)."""

    type = "badArgs"


class NoAccount(WireError):
    """``/workers``: an account-scoped command without a string ``account`` key."""

    type = "noAccount"


class InactiveAccount(WireError):
    """``/workers``: ``account`` names no account this server manages."""

    type = "inactiveAccount"


class ServerError(WireError):
    """Our side failed: an IMAP error or timeout, a lost IMAP connection, an internal bug."""

    type = "serverError"


class CannotCalculateChanges(WireError):
    """A resume asked for events from before the retention horizon; the gap cannot be filled."""

    type = "cannotCalculateChanges"


class RateLimited(WireError):
    """The peer sent more than its allowance; retry later."""

    type = "rateLimited"


def _all_subclasses(cls: type[WireError]) -> list[type[WireError]]:
    found: list[type[WireError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


ERROR_TYPES: Mapping[str, type[WireError]] = MappingProxyType(
    {cls.type: cls for cls in _all_subclasses(WireError)}
)
"""Every wire error class by its ``type`` string, e.g. for a client turning replies back into
exceptions."""
