"""The errors the engine raises to its caller (the server): the IMAP layer's never leave it.

Class tree::

    SwitchboardError
     └── EngineError
          ├── ConnectionFailed      TCP/TLS failure or timeout reaching the IMAP server, or the
          │                         connection broke while in use
          ├── AuthenticationFailed  the IMAP server refused the credentials (also an
          │    │                    imap.errors.AuthenticationFailed, for the engine's own code)
          │    └── OAuth2Rejected   the token endpoint refused the refresh token or client (the
          │                         user must act); also an OAuth2Error
          ├── MailboxNotFound       the reader's mailbox does not exist, or its name cannot be one
          ├── StaleMailbox          the reader's mailbox has another UIDVALIDITY now
          ├── ImapFailure           the IMAP server refused or garbled a command (its text)
          ├── NotSupported          the IMAP server lacks what a change needs (MOVE/UIDPLUS)
          ├── UnknownAccount        an account id the engine does not hold (also a KeyError)
          ├── InvalidTransition     our own bug: a forbidden state change (also imap InvalidState)
          └── OAuth2Error           the token endpoint could not give us an access token
               ├── OAuth2Rejected   (above)
               └── OAuth2Unavailable  network failure, timeout, 5xx or a malformed answer

Everything the engine's face (``Engine``, its reader) raises on purpose is one of these:
:func:`engine_errors` turns the IMAP layer's exceptions into them where they would leave.
No message here ever contains a password or token.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from switchboard.errors import SwitchboardError
from switchboard.imap import errors as imap
from switchboard.imap.responses import Status

__all__ = [
    "AuthenticationFailed",
    "ConnectionFailed",
    "EngineError",
    "ImapFailure",
    "InvalidTransition",
    "MailboxNotFound",
    "NotSupported",
    "OAuth2Error",
    "OAuth2Rejected",
    "OAuth2Unavailable",
    "StaleMailbox",
    "UnknownAccount",
    "engine_errors",
]


class EngineError(SwitchboardError):
    """Base of the engine's own errors."""


class ConnectionFailed(EngineError):  # noqa: N818 (names from the API contract)
    """The IMAP server could not be reached: refused, reset, TLS failure or timeout.

    Raised by ``Engine.verify``, ``Engine.watch``, ``Engine.command_connection`` and the
    reader; also when the connection broke while in use. The message names the host and port
    and the cause, never credentials.
    """

    type = "serverError"


class AuthenticationFailed(EngineError, imap.AuthenticationFailed):  # noqa: N818 (contract name)
    """The IMAP server refused the credentials (LOGIN or AUTHENTICATE answered NO).

    Also an ``imap.errors.AuthenticationFailed``, so the engine's watchers, which handle the
    IMAP layer's, handle this alike. Its text is the server's, never the credentials.
    """

    @classmethod
    def from_imap(cls, exc: imap.AuthenticationFailed) -> AuthenticationFailed:
        """The engine's error for the IMAP layer's (the same command, status, code and text)."""
        if isinstance(exc, AuthenticationFailed):
            return exc
        return cls(exc.command, exc.status, exc.code, exc.text)


class MailboxNotFound(EngineError):  # noqa: N818 (names from the API contract)
    """The mailbox named does not exist for this user, or no mailbox can have that name.

    Raised by the reader when the server refuses to open it as such (RFC 5530 NONEXISTENT,
    TRYCREATE, CANNOT, NOPERM, or a "not valid" text) or before asking, for a name holding a
    control character or over the length any server takes.

    Attributes:
        mailbox: the name as asked for.
        server_text: the IMAP server's reason, ``None`` when the server was not asked.
    """

    def __init__(self, message: str, *, mailbox: str, server_text: str | None = None) -> None:
        super().__init__(message)
        self.mailbox = mailbox
        self.server_text = server_text


class StaleMailbox(EngineError):  # noqa: N818 (names from the API contract)
    """The mailbox exists but its UIDVALIDITY changed: UIDs of the old one mean nothing here.

    Attributes:
        mailbox: the name as asked for.
        expected: the UIDVALIDITY the caller's UIDs belong to.
        actual: the mailbox's UIDVALIDITY now.
    """

    def __init__(self, mailbox: str, expected: int, actual: int) -> None:
        super().__init__(f"{mailbox!r} has UIDVALIDITY {actual}, not {expected}")
        self.mailbox = mailbox
        self.expected = expected
        self.actual = actual


class ImapFailure(EngineError):  # noqa: N818 (names from the API contract)
    """The IMAP server refused a command (NO, BAD) or sent what is not IMAP.

    Its text is the IMAP layer's: the command's name and the server's answer, never arguments.
    """


class NotSupported(EngineError):  # noqa: N818 (reads like its siblings)
    """The IMAP server lacks an extension a change needs; nothing was changed.

    Raised by the writer: a move needs MOVE (RFC 6851) or UIDPLUS (RFC 4315), a deletion
    needs UIDPLUS, because plain EXPUNGE would also remove other clients' deleted messages.
    """


class UnknownAccount(EngineError, KeyError):  # noqa: N818 (names from the API contract)
    """The engine holds no account with this id (``add_account`` was not called)."""

    def __str__(self) -> str:
        # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class InvalidTransition(EngineError, imap.InvalidState):  # noqa: N818 (names from the API contract)
    """A watcher tried a state change the transition table forbids: a bug here.

    It is an ``imap.errors.InvalidState`` (hence an ``AssertionError``) so one ``except``
    catches every misuse.
    """


class OAuth2Error(EngineError):
    """Refreshing an OAuth2 access token failed."""


class OAuth2Rejected(OAuth2Error, AuthenticationFailed):  # noqa: N818 (names from the API contract)
    """The token endpoint refused the refresh token or client credentials (``invalid_grant``).

    Retrying will not help until the user authorises again, so it is also an
    :class:`AuthenticationFailed`: callers that handle refused credentials handle this.
    """

    def __init__(self, text: str) -> None:
        super().__init__("AUTHENTICATE", Status.NO, None, text)


class OAuth2Unavailable(OAuth2Error):  # noqa: N818 (names from the API contract)
    """The token endpoint could not be reached, timed out, failed (5xx) or answered garbage."""


@contextmanager
def engine_errors(host: str, port: int) -> Iterator[None]:
    """Turn the IMAP layer's exceptions raised inside into the engine's.

    Args:
        host, port: the IMAP server, named in a :class:`ConnectionFailed` message.

    Raises:
        AuthenticationFailed: for ``imap.errors.AuthenticationFailed``.
        ConnectionFailed: for ``ConnectionLost`` and ``ImapTimeout``.
        ImapFailure: for any other ``ImapError`` but ``InvalidState`` (our own bug: it passes
            through unchanged, as do the engine's own errors).
    """
    try:
        yield
    except EngineError:
        raise
    except imap.AuthenticationFailed as exc:
        raise AuthenticationFailed.from_imap(exc) from exc
    except (imap.ConnectionLost, imap.ImapTimeout) as exc:
        raise ConnectionFailed(f"{host}:{port}: {type(exc).__name__}: {exc}") from exc
    except imap.InvalidState:
        raise
    except imap.ImapError as exc:
        raise ImapFailure(str(exc)) from exc
