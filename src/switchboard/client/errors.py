"""Exceptions the Python client library raises when a command cannot be answered or failed.

The tree (all derive from :class:`switchboard.errors.SwitchboardError`)::

    SwitchboardError
     ├── ConnectionClosed     the WebSocket closed while commands were waiting for replies
     ├── ResponseTimeout      no reply arrived within the per-call timeout
     ├── CommandError         the server answered a command with an ["error", {...}, tag] response
     └── TooManyPending       too many command groups await replies (max_pending_groups)
"""

from __future__ import annotations

from typing import Any

from switchboard.errors import SwitchboardError

__all__ = ["CommandError", "ConnectionClosed", "ResponseTimeout", "TooManyPending"]


class ConnectionClosed(SwitchboardError):  # noqa: N818 - name fixed by the API brief
    """Raised (or used to reject a pending promise) when the connection closes before a reply.

    ``code`` is the WebSocket close code (1006 when the peer vanished without a close frame) and
    ``reason`` the close reason, both as the closing handshake gave them.
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        detail = f"connection closed (code {code}{', ' + repr(reason) if reason else ''})"
        super().__init__(detail)
        self.code = code
        self.reason = reason


class ResponseTimeout(SwitchboardError):  # noqa: N818 - name fixed by the API brief
    """Raised (or used to reject a pending promise) when a reply did not arrive in time.

    ``timeout_s`` is the limit that passed. The command may still run on the server; a reply that
    arrives later is treated as unmatched (see ``switchboard.client.core``).
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no reply within {timeout_s:g} s")
        self.timeout_s = timeout_s


class CommandError(SwitchboardError):
    """Raised by ``switchboard.aio`` ``call()`` when the server answers with an error response.

    ``type`` is the wire error type (``"mailboxDoesNotExist"``, ``"noAccount"`` …; docs/protocol.md,
    "Errors"); ``method``, ``arguments`` and ``description`` are copied from the error response.
    """

    def __init__(
        self,
        type: str | None,
        *,
        method: Any = None,
        arguments: Any = None,
        description: str | None = None,
    ) -> None:
        text = f"{method} failed: {type}"
        if description:
            text += f" ({description})"
        super().__init__(text, type=type)
        self.method = method
        self.arguments = arguments
        self.description = description


class TooManyPending(SwitchboardError, RuntimeError):  # noqa: N818 - websockets-style name
    """Raised by ``send_cmds`` when ``max_pending_groups`` command groups already await replies.

    It is our caller's fault, not the server's: the program sends faster than replies come back
    (or never waits for them). It also subclasses ``RuntimeError`` like other misuse errors.
    """
