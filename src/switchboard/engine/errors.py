"""Errors the engine raises to its caller (the server), beyond the IMAP layer's own.

Class tree::

    SwitchboardError
     └── EngineError
          ├── ConnectionFailed      TCP/TLS failure or timeout reaching the IMAP server
          ├── UnknownAccount        an account id the engine does not hold (also a KeyError)
          ├── InvalidTransition     our own bug: a forbidden state change (also imap InvalidState)
          └── OAuth2Error           the token endpoint could not give us an access token
               ├── OAuth2Rejected   it refused the refresh token or client (the user must act);
               │                    also an imap.errors.AuthenticationFailed
               └── OAuth2Unavailable  network failure, timeout, 5xx or a malformed answer

The server also sees ``imap.errors.AuthenticationFailed`` (the IMAP server refused the
credentials). No message here ever contains a password or token.
"""

from __future__ import annotations

from switchboard.errors import SwitchboardError
from switchboard.imap.errors import AuthenticationFailed, InvalidState
from switchboard.imap.responses import Status

__all__ = [
    "ConnectionFailed",
    "EngineError",
    "InvalidTransition",
    "OAuth2Error",
    "OAuth2Rejected",
    "OAuth2Unavailable",
    "UnknownAccount",
]


class EngineError(SwitchboardError):
    """Base of the engine's own errors."""


class ConnectionFailed(EngineError):  # noqa: N818 (names from the API contract)
    """The IMAP server could not be reached: refused, reset, TLS failure or timeout.

    Raised by ``Engine.verify`` and ``Engine.command_connection``. The message names the host
    and port and the cause, never credentials.
    """

    type = "serverError"


class UnknownAccount(EngineError, KeyError):  # noqa: N818 (names from the API contract)
    """The engine holds no account with this id (``add_account`` was not called)."""

    def __str__(self) -> str:
        # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class InvalidTransition(EngineError, InvalidState):  # noqa: N818 (names from the API contract)
    """A watcher tried a state change the transition table forbids: a bug here.

    It is an ``imap.errors.InvalidState`` (hence an ``AssertionError``) so one ``except``
    catches every misuse.
    """


class OAuth2Error(EngineError):
    """Refreshing an OAuth2 access token failed."""


class OAuth2Rejected(OAuth2Error, AuthenticationFailed):  # noqa: N818 (names from the API contract)
    """The token endpoint refused the refresh token or client credentials (``invalid_grant``).

    Retrying will not help until the user authorises again, so it is also an
    ``imap.errors.AuthenticationFailed``: callers that handle refused credentials handle this.
    """

    def __init__(self, text: str) -> None:
        super().__init__("AUTHENTICATE", Status.NO, None, text)


class OAuth2Unavailable(OAuth2Error):  # noqa: N818 (names from the API contract)
    """The token endpoint could not be reached, timed out, failed (5xx) or answered garbage."""
