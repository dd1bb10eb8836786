"""The exceptions of Switchboard's IMAP client, and who is to blame for each.

The tree::

    SwitchboardError
     └── ImapError                     anything the IMAP layer raises on purpose
          ├── ImapProtocolError        the *server* sent bytes that are not IMAP (peer's fault)
          │    └── LimitExceeded       a line or literal over max_line_bytes / max_literal_bytes
          ├── CommandFailed            the server answered a command with NO or BAD
          │    ├── AuthenticationFailed   LOGIN / AUTHENTICATE refused
          │    └── MailboxNotFound        SELECT / EXAMINE / STATUS … on a missing mailbox
          ├── ConnectionLost           the connection closed or broke (possibly mid-response)
          ├── ImapTimeout              also a TimeoutError: the server was silent too long
          ├── InsecureConnection       plain text to a non-loopback host was refused
          └── InvalidState             also an AssertionError: our own API was misused

Blame is explicit (docs/architecture.md, "Conventions"): :class:`ImapProtocolError` means "log,
reconnect, back off"; :class:`CommandFailed` means the server understood and said no;
:class:`InvalidState` is a bug in the caller.

No message built here ever contains command arguments: :class:`CommandFailed` carries only
the command *name* (``"LOGIN"``), never its arguments, so passwords and tokens cannot leak
into logs through an exception.

The class names are a contract the connection codes against; they follow websockets'
naming (``InvalidState``, ``ConnectionClosed``) rather than ruff's N818 "Error" suffix.
"""

from __future__ import annotations

from switchboard.errors import SwitchboardError
from switchboard.imap.responses import ResponseCode, Status, TaggedResponse

__all__ = [
    "AuthenticationFailed",
    "CommandFailed",
    "ConnectionLost",
    "ImapError",
    "ImapProtocolError",
    "ImapTimeout",
    "InsecureConnection",
    "InvalidState",
    "LimitExceeded",
    "MailboxNotFound",
]

_MAILBOX_COMMANDS = frozenset({"SELECT", "EXAMINE", "STATUS"})
# Servers that answer a missing mailbox without RFC 5530's [NONEXISTENT] code, by their text:
# Dovecot 2.3 "NO Mailbox doesn't exist: X", Gmail "NO Unknown Mailbox: X (Failure)".
_MISSING_TEXTS = ("mailbox doesn't exist", "mailbox does not exist", "unknown mailbox")


class ImapError(SwitchboardError):
    """Base class of every exception the IMAP layer raises on purpose."""


class ImapProtocolError(ImapError):
    """The IMAP server sent something malformed; raised by the response parser.

    It is the peer's fault: the connection cannot be trusted any more and must be dropped.
    After raising it, a :class:`~switchboard.imap.parser.ResponseParser` refuses further use.
    """


class LimitExceeded(ImapProtocolError):  # noqa: N818 - contract name
    """A line or literal from the server exceeded the parser's configured limit.

    Attributes:
        limit_name: the constructor argument that set the limit, e.g. ``"max_line_bytes"``.
        limit: its value.
    """

    def __init__(self, message: str, *, limit_name: str, limit: int) -> None:
        super().__init__(message)
        self.limit_name = limit_name
        self.limit = limit


class CommandFailed(ImapError):  # noqa: N818 - contract name
    """The server completed a command with ``NO`` or ``BAD``.

    Attributes:
        command: the command name only, e.g. ``"UID FETCH"`` (never its arguments).
        status: :attr:`Status.NO` or :attr:`Status.BAD`.
        code: the response code, e.g. ``ResponseCode("TRYCREATE")``, or ``None``.
        text: the human-readable text the server sent.
    """

    def __init__(self, command: str, status: Status, code: ResponseCode | None, text: str) -> None:
        code_part = f" [{code.name}]" if code is not None else ""
        super().__init__(f"{command} failed: {status.value}{code_part} {text}".rstrip())
        self.command = command
        self.status = status
        self.code = code
        self.text = text

    @classmethod
    def from_response(cls, command: str, response: TaggedResponse) -> CommandFailed:
        """Build the most specific error for a failed tagged response.

        ``[AUTHENTICATIONFAILED]`` (RFC 5530) or a ``NO`` to LOGIN/AUTHENTICATE gives
        :class:`AuthenticationFailed`; ``[NONEXISTENT]`` (RFC 5530), or a ``NO`` to
        SELECT/EXAMINE/STATUS with ``[TRYCREATE]`` or a known "no such mailbox" text
        (Dovecot 2.3 sends no code) gives :class:`MailboxNotFound`; anything else this class.

        Args:
            command: the command name as sent (``"SELECT"``), never its arguments.
            response: the server's ``NO``/``BAD`` completion.

        Returns:
            The exception to raise (not raised here).
        """
        name = command.upper()
        code_name = response.code.name if response.code is not None else None
        kind: type[CommandFailed] = cls
        if code_name == "AUTHENTICATIONFAILED" or (
            response.status is Status.NO and name in {"LOGIN", "AUTHENTICATE"}
        ):
            kind = AuthenticationFailed
        elif code_name == "NONEXISTENT" or (
            name in _MAILBOX_COMMANDS
            and response.status is Status.NO
            and (
                code_name == "TRYCREATE"
                or (code_name is None and response.text.lower().startswith(_MISSING_TEXTS))
            )
        ):
            kind = MailboxNotFound
        return kind(command, response.status, response.code, response.text)


class AuthenticationFailed(CommandFailed):
    """The server refused our credentials (LOGIN or AUTHENTICATE answered ``NO``)."""


class MailboxNotFound(CommandFailed):
    """The mailbox a command named does not exist (``[NONEXISTENT]`` or equivalent)."""


class ConnectionLost(ImapError):  # noqa: N818 - contract name
    """The connection to the IMAP server closed or broke.

    The parser raises it when end-of-file arrives in the middle of a response.
    """


class ImapTimeout(ImapError, TimeoutError):  # noqa: N818 - contract name
    """The server did not answer within the configured ``timeout_s``.

    It is also a :class:`TimeoutError`, so code that catches the built-in (as
    ``asyncio.timeout`` raises it) also catches this one.
    """


class InsecureConnection(ImapError):  # noqa: N818 - contract name
    """A plain-text (non-TLS) connection to a non-loopback host was refused.

    Credentials must never travel unencrypted off the machine.
    """


class InvalidState(ImapError, AssertionError):  # noqa: N818 - contract name
    """Our own IMAP API was misused, e.g. data fed to a parser after end-of-file.

    A bug in the caller, not the server's fault; it is also an :class:`AssertionError`.
    """
