"""The states of watchers and accounts, their legal transitions, and the status snapshots.

Rules of this module:

- Every watcher state change goes through :class:`StateMachine` and the :data:`TRANSITIONS`
  table below; nothing else assigns a state. An illegal change raises
  :class:`~switchboard.engine.errors.InvalidTransition` naming both states.
- An account's state is *derived*: the worst of its watchers' states (and of its own command
  connection's condition), by :data:`SEVERITY`. It is never stored separately.

How it works: a watcher starts in CONNECTING and loops
CONNECTING → AUTHENTICATING → SYNCING → IDLE ⇄ SYNCING. A network failure leads to BACKOFF, a
refused login to AUTH_FAILED (its slower backoff), anything else (protocol error, store
failure) to ERROR; each of those waits and returns to CONNECTING. STOPPED is final.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from switchboard.engine.errors import InvalidTransition

__all__ = [
    "SEVERITY",
    "TRANSITIONS",
    "AccountState",
    "AccountStatus",
    "MailboxStatus",
    "StateMachine",
    "worst_state",
]


class AccountState(enum.Enum):
    """What a watcher (or, as the worst of its watchers, an account) is doing now."""

    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    SYNCING = "syncing"
    IDLE = "idle"
    BACKOFF = "backoff"
    AUTH_FAILED = "authFailed"
    ERROR = "error"
    STOPPED = "stopped"


_S = AccountState
_FAILURES = frozenset({_S.BACKOFF, _S.AUTH_FAILED, _S.ERROR, _S.STOPPED})

TRANSITIONS: Mapping[AccountState, frozenset[AccountState]] = MappingProxyType(
    {
        _S.CONNECTING: frozenset({_S.AUTHENTICATING}) | _FAILURES,
        _S.AUTHENTICATING: frozenset({_S.SYNCING}) | _FAILURES,
        _S.SYNCING: frozenset({_S.IDLE}) | _FAILURES,
        # IDLE -> SYNCING: new mail (EXISTS) or a refresh round.
        _S.IDLE: frozenset({_S.SYNCING}) | _FAILURES,
        _S.BACKOFF: frozenset({_S.CONNECTING, _S.STOPPED}),
        _S.AUTH_FAILED: frozenset({_S.CONNECTING, _S.STOPPED}),
        _S.ERROR: frozenset({_S.CONNECTING, _S.STOPPED}),
        _S.STOPPED: frozenset(),
    }
)
"""state -> the states it may move to."""

SEVERITY: Mapping[AccountState, int] = MappingProxyType(
    {
        _S.STOPPED: 0,
        _S.IDLE: 1,
        _S.SYNCING: 2,
        _S.AUTHENTICATING: 3,
        _S.CONNECTING: 4,
        _S.BACKOFF: 5,
        _S.ERROR: 6,
        _S.AUTH_FAILED: 7,
    }
)
"""How bad a state is for the dashboard; an account shows its worst watcher's state."""


def worst_state(states: list[AccountState], default: AccountState) -> AccountState:
    """Return the most severe of ``states``, or ``default`` when there are none."""
    return max(states, key=SEVERITY.__getitem__, default=default)


class StateMachine:
    """One watcher's current state, changed only along :data:`TRANSITIONS`.

    Args:
        initial: the starting state.
    """

    __slots__ = ("_state",)

    def __init__(self, initial: AccountState = AccountState.CONNECTING) -> None:
        self._state = initial

    @property
    def state(self) -> AccountState:
        """The current state."""
        return self._state

    def can_move(self, new: AccountState) -> bool:
        """Whether moving to ``new`` is legal now (staying put always is)."""
        return new is self._state or new in TRANSITIONS[self._state]

    def move(self, new: AccountState) -> None:
        """Move to ``new``; moving to the current state is a no-op.

        Raises:
            InvalidTransition: the table forbids ``current -> new``.
        """
        if new is self._state:
            return
        if new not in TRANSITIONS[self._state]:
            raise InvalidTransition(f"cannot go from {self._state.value} to {new.value}")
        self._state = new


@dataclass(frozen=True, slots=True)
class MailboxStatus:
    """A snapshot of one watcher, for the dashboard and metrics."""

    name: str
    state: AccountState
    uidvalidity: int | None
    last_uid: int | None
    last_event_at: float | None  # Unix time of the last announced event
    last_error: str | None  # free of secrets
    retry_at: float | None = None  # Unix time of the next attempt while failing (backoff)


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """A snapshot of one account.

    ``state`` is the worst of its watchers' states (see :data:`SEVERITY`) and of its command
    connection's condition; an account without watchers that works shows IDLE. ``counters``
    hold monotonically increasing totals (connects, auth failures, events announced...).
    ``retry_at`` is the earliest next attempt of a watcher waiting out its backoff (Unix time).
    """

    account_id: str
    host: str
    port: int
    state: AccountState
    last_error: str | None
    mailboxes: tuple[MailboxStatus, ...]
    counters: Mapping[str, int] = field(default_factory=dict)
    last_event_at: float | None = None
    retry_at: float | None = None
