"""The IMAP connection's state machine and the sans-I/O rules around it.

Rules of this module: it imports no I/O (no asyncio, socket, ssl, time). It says which states
exist, which moves between them are legal (:data:`TRANSITIONS`), which untagged responses each
command collects, and how completed responses become results (:func:`select_info`). Only
``ImapConnection._set_state`` (in :mod:`switchboard.imap.connection`) changes a connection's
state, and it checks every move against :data:`TRANSITIONS` with :func:`check_transition`.

See Also:
    RFC 3501 §3 (state and flow diagram), RFC 2177 (IDLE).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from dataclasses import dataclass

from switchboard.imap.errors import (
    AuthenticationFailed,
    CommandFailed,
    ImapProtocolError,
    InvalidState,
)
from switchboard.imap.responses import (
    Exists,
    Expunge,
    Fetch,
    Flags,
    Recent,
    StatusResponse,
    TaggedResponse,
    Unknown,
    UntaggedResponse,
)

__all__ = [
    "ANY_OPEN",
    "AUTHED",
    "NOOP_CLAIMS",
    "SELECT_CLAIMS",
    "TRANSITIONS",
    "ConnectionState",
    "SelectInfo",
    "as_auth_failure",
    "check_transition",
    "sasl_error_detail",
    "select_info",
]


class ConnectionState(enum.Enum):
    """Where an IMAP connection stands (RFC 3501 §3, plus IDLING and CLOSED)."""

    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    IDLING = "idling"
    LOGOUT = "logout"
    CLOSED = "closed"


_S = ConnectionState
TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    _S.NOT_AUTHENTICATED: frozenset({_S.AUTHENTICATED, _S.LOGOUT, _S.CLOSED}),
    # SELECTED -> AUTHENTICATED: a failed SELECT closes the selected mailbox (RFC 3501 §6.3.1).
    _S.AUTHENTICATED: frozenset({_S.SELECTED, _S.IDLING, _S.LOGOUT, _S.CLOSED}),
    _S.SELECTED: frozenset({_S.AUTHENTICATED, _S.SELECTED, _S.IDLING, _S.LOGOUT, _S.CLOSED}),
    _S.IDLING: frozenset({_S.AUTHENTICATED, _S.SELECTED, _S.LOGOUT, _S.CLOSED}),
    _S.LOGOUT: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}
AUTHED = (_S.AUTHENTICATED, _S.SELECTED)
ANY_OPEN = (_S.NOT_AUTHENTICATED, _S.AUTHENTICATED, _S.SELECTED)

# Which untagged responses each command collects; the rest are unsolicited.
SELECT_CLAIMS = (Exists, Recent, Flags, StatusResponse)
NOOP_CLAIMS = (Exists, Recent, Expunge, Fetch, Flags, StatusResponse, Unknown)


@dataclass(frozen=True, slots=True)
class SelectInfo:
    """What SELECT or EXAMINE told us about a mailbox (RFC 3501 §6.3.1)."""

    mailbox: str
    exists: int
    uidvalidity: int
    uidnext: int | None
    readonly: bool
    flags: tuple[str, ...]
    highestmodseq: int | None


def check_transition(old: ConnectionState, new: ConnectionState) -> None:
    """Check that a connection may move from ``old`` to ``new``.

    Args:
        old: the current state.
        new: the wanted state (the same state is always allowed).

    Raises:
        InvalidState: the move is not in :data:`TRANSITIONS`.
    """
    if new is not old and new not in TRANSITIONS[old]:
        raise InvalidState(f"IMAP state cannot go from {old.name} to {new.name}")


def as_auth_failure(exc: CommandFailed) -> AuthenticationFailed:
    """Turn any failure of LOGIN/AUTHENTICATE into :class:`AuthenticationFailed`.

    Args:
        exc: the failure as :meth:`CommandFailed.from_response` built it.

    Returns:
        ``exc`` itself when it already is one, else an equivalent AuthenticationFailed.
    """
    if isinstance(exc, AuthenticationFailed):
        return exc
    # A BAD to LOGIN/AUTHENTICATE is still "these credentials did not work" to the caller.
    return AuthenticationFailed(exc.command, exc.status, exc.code, exc.text)


def sasl_error_detail(challenges: list[str]) -> str:
    """Decode an XOAUTH2 error challenge to ``status=... schemes=...`` (never a token).

    Args:
        challenges: the texts of the ``+`` challenges received after the initial response.

    Returns:
        The decoded fields, or ``""`` when no challenge was base64 JSON.
    """
    for text in challenges:
        try:
            error = json.loads(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            continue
        if isinstance(error, dict):
            return " ".join(
                f"{key}={error[key]}" for key in ("status", "schemes", "scope") if key in error
            )
    return ""


def select_info(
    mailbox: str, readonly: bool, tagged: TaggedResponse, untagged: list[UntaggedResponse]
) -> SelectInfo:
    """Build a :class:`SelectInfo` from a successful SELECT/EXAMINE.

    Args:
        mailbox: the name as selected.
        readonly: whether EXAMINE was used.
        tagged: the OK completion (``[READ-ONLY]`` marks a read-only mailbox).
        untagged: the responses the command collected.

    Returns:
        The mailbox information.

    Raises:
        ImapProtocolError: the server sent no UIDVALIDITY (RFC 3501 requires it).
    """
    exists = 0
    flags: tuple[str, ...] = ()
    codes: dict[str, int] = {}
    for response in untagged:
        if isinstance(response, Exists):
            exists = response.count
        elif isinstance(response, Flags):
            flags = response.flags
        elif (
            isinstance(response, StatusResponse)
            and response.code is not None
            and isinstance(response.code.value, int)
        ):
            codes[response.code.name] = response.code.value
    if "UIDVALIDITY" not in codes:
        raise ImapProtocolError(f"SELECT {mailbox!r} answered without UIDVALIDITY")
    code_name = tagged.code.name if tagged.code is not None else ""
    return SelectInfo(
        mailbox=mailbox,
        exists=exists,
        uidvalidity=codes["UIDVALIDITY"],
        uidnext=codes.get("UIDNEXT"),
        readonly=readonly or code_name == "READ-ONLY",
        flags=flags,
        highestmodseq=codes.get("HIGHESTMODSEQ"),
    )
