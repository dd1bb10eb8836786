"""Exceptions the Python client library raises when a command cannot be answered or failed.

The tree (all derive from :class:`switchboard.errors.SwitchboardError`)::

    SwitchboardError
     ├── ConnectionClosed     the WebSocket closed while commands were waiting for replies
     ├── ResponseTimeout      no reply arrived within the per-call timeout
     ├── CommandError         the server answered a command with an ["error", {...}, tag] response
     ├── TooManyPending       too many command groups await replies (max_pending_groups)
     └── InvalidState         a client shell moved its session along no legal transition (a bug)
"""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.errors import SwitchboardError
from switchboard.protocol.messages import Response
from switchboard.protocol.wirejson import JsonValue

__all__ = [
    "CommandError",
    "ConnectionClosed",
    "InvalidState",
    "ResponseTimeout",
    "TooManyPending",
    "errors_in",
]


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
    arrives later is treated as unmatched (see ``switchboard.client.session``).
    """

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"no reply within {timeout_s:g} s")
        self.timeout_s = timeout_s


class CommandError(SwitchboardError):
    """An ``["error", {...}, tag]`` response, as a value or raised by ``switchboard.aio``.

    ``call()`` raises it when the server answers with an error response. ``type`` is the wire
    error type (``"mailboxDoesNotExist"``, ``"noAccount"`` …; docs/protocol.md, "Errors");
    ``method``, ``arguments`` and ``description`` are copied from the error response.
    """

    def __init__(
        self,
        type: str | None,
        *,
        method: JsonValue = None,
        arguments: JsonValue = None,
        description: str | None = None,
    ) -> None:
        text = f"{method} failed: {type}"
        if description:
            text += f" ({description})"
        super().__init__(text, type=type)
        self.method = method
        self.arguments = arguments
        self.description = description

    @classmethod
    def from_response(cls, response: Response) -> CommandError | None:
        """The error an ``error`` response stands for; ``None`` for any other response."""
        if response.name != "error":
            return None
        args = response.args if isinstance(response.args, dict) else {}
        error_type, description = args.get("type"), args.get("description")
        return cls(
            error_type if isinstance(error_type, str) else None,
            method=args.get("method"),
            arguments=args.get("arguments"),
            description=description if isinstance(description, str) else None,
        )


class TooManyPending(SwitchboardError, RuntimeError):  # noqa: N818 - websockets-style name
    """Raised by ``send_cmds`` when ``max_pending_groups`` command groups already await replies.

    It is our caller's fault, not the server's: the program sends faster than replies come back
    (or never waits for them). It also subclasses ``RuntimeError`` like other misuse errors.
    """


class InvalidState(SwitchboardError, AssertionError):  # noqa: N818 - websockets-style name
    """Raised when a client shell asks its session for a move its state table forbids.

    It is a bug in the shell, never the server's doing; like websockets' error of the same name
    it is also an ``AssertionError``.
    """


def errors_in(resps: Iterable[object]) -> list[list[JsonValue]]:
    """Return the ``["error", {...}, tag?]`` responses of a reply frame, in order.

    Error responses fulfil a ``send_cmds`` promise like any other reply (the original's
    contract); this finds them: ``cmds, resps = promise.get(); if errors_in(resps): ...``.
    """
    return [r for r in resps if isinstance(r, list) and len(r) >= 2 and r[0] == "error"]
