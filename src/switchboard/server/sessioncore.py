"""A server session's protocol state with no I/O: which command is legal when, what it changed.

How it works
------------

The asyncio :class:`~switchboard.server.session.Session` owns the WebSocket, the outbox and the
write loop. For each command of a request frame it asks one :class:`SessionCore`, and does what
the core answers:

=====================================  ===================================================
the session calls                      the core answers
=====================================  ===================================================
``admit(command)``                     a :class:`Call` for the handlers (the typed request,
                                       the account it is for), or the ``error`` response
                                       to send at once (:data:`RULES`, then the arguments)
``apply(outcome)``, once the handlers  the effects only the shell can carry out, in order:
returned an :class:`Outcome`           :class:`Subscribed` (the hub), :class:`ReplayFrom`
                                       (a replay from the log after the reply)
``close()``                            nothing; the session is CLOSED from then on
=====================================  ===================================================

:data:`RULES` says, per interface, state and method, whether a command runs and for which
account — ``connect``, ``watchAll`` and ``ack`` need none; on ``/workers`` the others name theirs
(``noAccount`` without it; the handlers then check the server manages it, ``inactiveAccount``);
on ``/clients`` they run for the account ``connect`` chose — or which error refuses it
(``notConnected``, ``alreadyConnected``, ``unknownMethod``; docs/protocol.md, "Commands"). An
unknown method on ``/workers`` is refused only after the account checks, as the original did.
The arguments are parsed once, through :func:`~switchboard.protocol.methods.parse_arguments`'s
table, after the account checks: a bad argument never hides a missing account.

The handlers never change a session: they return an :class:`Outcome`, the reply plus its
effects (:class:`Connected`, :class:`WantsSummary`, :class:`JoinedGroup`,
:class:`ClientWatches`, and the shell's two), and :meth:`SessionCore.apply` makes the changes.
A command that failed has no effect.

Rules of this module: it imports no I/O, no clock and no asyncio. Only :meth:`SessionCore._move`
changes ``state``, always along :data:`TRANSITIONS`; only :meth:`SessionCore.apply` changes the
account, the watch set, the group and the summary flag. Nothing a peer sends makes it raise;
anything it raises is a bug.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from switchboard.errors import SwitchboardError
from switchboard.model.events import NewMessage
from switchboard.protocol import errors as wire
from switchboard.protocol.messages import Command, Response
from switchboard.protocol.methods import (
    Interface,
    Method,
    Request,
    lookup_method,
    methods_of,
    parse_arguments,
    split_account,
)

if TYPE_CHECKING:  # a value the core keeps for the handlers; auth itself does I/O
    from switchboard.server.auth import Principal

__all__ = [
    "RULES",
    "TRANSITIONS",
    "AccountSource",
    "Call",
    "ClientWatches",
    "Connected",
    "Effect",
    "InvalidState",
    "JoinedGroup",
    "Outcome",
    "ReplayFrom",
    "Rule",
    "SessionCore",
    "SessionState",
    "ShellEffect",
    "Subscribed",
    "WantsSummary",
]


class InvalidState(SwitchboardError, AssertionError):  # noqa: N818 (named like imap's)
    """A move the state table does not allow: a bug of the server, never the peer's doing."""


class SessionState(enum.Enum):
    """Where a session stands. Workers are READY from the start; clients after ``connect``."""

    AWAITING_CONNECT = "awaitingConnect"
    READY = "ready"
    CLOSED = "closed"


_S = SessionState
TRANSITIONS: Final[Mapping[SessionState, frozenset[SessionState]]] = MappingProxyType(
    {
        _S.AWAITING_CONNECT: frozenset({_S.READY, _S.CLOSED}),
        _S.READY: frozenset({_S.CLOSED}),
        _S.CLOSED: frozenset(),
    }
)
"""The legal moves: a client's ``connect`` makes it READY; any session may close, once."""

INITIAL_STATES: Final[Mapping[Interface, SessionState]] = MappingProxyType(
    {Interface.WORKERS: _S.READY, Interface.CLIENTS: _S.AWAITING_CONNECT}
)
"""Where a session starts: a worker's commands each name their account."""


# -- the legality table -----------------------------------------------------------------------


class AccountSource(enum.Enum):
    """Which account a command runs for."""

    NONE = "none"
    """None: ``connect``, ``watchAll``, ``ack``."""
    NAMED = "named"
    """The one its ``account`` argument names (``/workers``); it must be managed."""
    CONNECTED = "connected"
    """The one ``connect`` chose for this connection (``/clients``)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What happens to one method in one state: it runs, or the error that refuses it.

    Attributes:
        account: which account the command is for; checked before any refusal.
        refuse: the error that answers it (after the account checks), ``None`` when it runs.
        description: the refusal's ``description``; ``{method}`` is the name as sent.
    """

    account: AccountSource = AccountSource.NONE
    refuse: type[wire.WireError] | None = None
    description: str = ""


_RUN = Rule()
_UNKNOWN = Rule(refuse=wire.UnknownMethod, description="no method named {method!r}")
_ACCOUNT_METHODS: Final = (
    Method.WATCH_MAILBOXES,
    Method.GET_MAILBOXES,
    Method.GET_MESSAGE_LIST,
    Method.GET_MESSAGES,
)


def _closed_row(interface: Interface) -> dict[Method | None, Rule]:
    # A session closed by us (revoked token, slow consumer) runs nothing more of its frame.
    closed = Rule(refuse=wire.NotConnected, description="this connection is closed")
    return {m: closed for m in (*methods_of(interface), None)}


RULES: Final[Mapping[tuple[Interface, SessionState], Mapping[Method | None, Rule]]] = (
    MappingProxyType(
        {
            (Interface.WORKERS, _S.READY): {
                Method.CONNECT: _RUN,
                Method.WATCH_ALL: _RUN,
                Method.ACK: _RUN,
                **{m: Rule(AccountSource.NAMED) for m in _ACCOUNT_METHODS},
                # Unknown names are refused after the account checks (docs/protocol.md).
                None: Rule(AccountSource.NAMED, wire.UnknownMethod, _UNKNOWN.description),
            },
            (Interface.WORKERS, _S.CLOSED): _closed_row(Interface.WORKERS),
            (Interface.CLIENTS, _S.AWAITING_CONNECT): {
                Method.CONNECT: _RUN,
                Method.ACK: _RUN,
                **{
                    m: Rule(refuse=wire.NotConnected, description="send connect first")
                    for m in _ACCOUNT_METHODS
                },
                None: _UNKNOWN,  # watchAll too: it is not a /clients method
            },
            (Interface.CLIENTS, _S.READY): {
                Method.CONNECT: Rule(
                    refuse=wire.AlreadyConnected,
                    description="this connection is already connected to an account",
                ),
                Method.ACK: _RUN,
                **{m: Rule(AccountSource.CONNECTED) for m in _ACCOUNT_METHODS},
                None: _UNKNOWN,
            },
            (Interface.CLIENTS, _S.CLOSED): _closed_row(Interface.CLIENTS),
        }
    )
)
"""(interface, state) -> method (``None``: a name the interface does not have) -> rule."""


# -- what the handlers get and give back --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """A command the handlers are to run.

    Attributes:
        command: the command as sent (errors echo its method, arguments and tag).
        method: the method it names; ``None`` only with a ``refusal`` (an unknown name).
        account_id: the account it is for (``None``: ``connect``, ``watchAll``, ``ack``).
        check_account: whether the handlers must check the server manages ``account_id``
            (``inactiveAccount``) before anything else: the ``/workers`` pass-through rule.
        request: the typed arguments; ``None`` when ``refusal`` is set.
        refusal: the error to answer with once the account checked out (an unknown method,
            ill-typed arguments).
    """

    command: Command
    method: Method | None
    account_id: str | None
    check_account: bool
    request: Request | None
    refusal: wire.WireError | None = None


@dataclass(frozen=True, slots=True)
class Connected:
    """``connect`` succeeded: a ``/clients`` session is now bound to ``account_id``."""

    account_id: str


@dataclass(frozen=True, slots=True)
class WantsSummary:
    """A watch asked for ``"summary": true``: pushes carry the summary from now on."""


@dataclass(frozen=True, slots=True)
class JoinedGroup:
    """The session joined the worker group ``name`` (one group per connection)."""

    name: str


@dataclass(frozen=True, slots=True)
class ClientWatches:
    """A ``/clients`` session's watch set is now ``names`` (its pushes are filtered by it)."""

    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The shell subscribes the session to the live fan-out: one account, or every one."""

    account_id: str | None
    """``None``: every account (``watchAll``)."""


@dataclass(frozen=True, slots=True)
class ReplayFrom:
    """The shell replays the log after event ``since``, once the reply is queued (resume)."""

    since: int
    account_id: str | None
    """The account whose events are replayed; ``None``: every account's."""


ShellEffect = Subscribed | ReplayFrom
Effect = Connected | WantsSummary | JoinedGroup | ClientWatches | ShellEffect


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running a command gave: the response to send and what it changed (in order)."""

    response: Response
    effects: tuple[Effect, ...] = ()


# -- the core -----------------------------------------------------------------------------------


class SessionCore:
    """One connection's state: interface, state, account, watch set, group, summary flag.

    Args:
        interface: the endpoint the socket opened.
        principal: who opened it (``None``: no auth configured, loopback only).
    """

    def __init__(self, interface: Interface, principal: Principal | None = None) -> None:
        self.interface = interface
        self.principal = principal
        self.is_worker = interface is Interface.WORKERS
        """Whether this is a ``/workers`` session (its pushes carry ``account``)."""
        self.state = INITIAL_STATES[interface]
        self.account_id: str | None = None
        """``/clients``: the account ``connect`` chose; ``/workers``: ``None``."""
        self.client_watches: frozenset[str] = frozenset()
        """``/clients``: the mailboxes this connection watches."""
        self.group: str | None = None
        """The worker group this session joined, if any."""
        self.wants_summary = False
        """Whether pushes carry the summary object (a watch asked for it)."""

    def wants(self, event: NewMessage) -> bool:
        """Workers take all of a subscribed account's mail; clients only their watch set's."""
        return self.is_worker or event.mailbox in self.client_watches

    def admit(self, command: Command) -> Call | Response:
        """The call to run for ``command``, or the error response that refuses it now."""
        method = lookup_method(self.interface, command.method)
        rule = RULES[(self.interface, self.state)][method]
        args = command.args
        account_id: str | None = None
        if rule.account is AccountSource.NAMED:
            try:
                account_id, args = split_account(args)
            except wire.NoAccount as exc:
                return exc.to_response(command)
        elif rule.account is AccountSource.CONNECTED:
            account_id = self.account_id
        named = rule.account is AccountSource.NAMED
        refusal: wire.WireError | None = None
        request: Request | None = None
        if rule.refuse is not None:
            refusal = rule.refuse(rule.description.format(method=command.method))
        else:
            assert method is not None  # every rule that runs names a method
            try:
                request = parse_arguments(method, args)
            except wire.WireError as exc:
                refusal = exc
        if refusal is not None and not named:
            return refusal.to_response(command)
        return Call(command, method, account_id, named, request, refusal)

    def apply(self, outcome: Outcome) -> tuple[ShellEffect, ...]:
        """Make the changes ``outcome`` carries; return the ones for the shell, in order.

        A session closed while its command ran changes no more and subscribes to nothing.

        Raises:
            InvalidState: a change the state table does not allow (a bug).
        """
        if self.state is SessionState.CLOSED:
            return ()
        shell: list[ShellEffect] = []
        for effect in outcome.effects:
            if isinstance(effect, Subscribed | ReplayFrom):
                shell.append(effect)
            elif isinstance(effect, Connected):
                if not self.is_worker:  # a worker's commands name their account each time
                    self._move(SessionState.READY)
                    self.account_id = effect.account_id
            elif isinstance(effect, WantsSummary):
                self.wants_summary = True
            elif isinstance(effect, JoinedGroup):
                self.group = effect.name
            else:
                self.client_watches = effect.names
        return tuple(shell)

    def close(self) -> None:
        """Move to CLOSED (nothing more is run or sent); does nothing when already closed."""
        if self.state is not SessionState.CLOSED:
            self._move(SessionState.CLOSED)

    def _move(self, new: SessionState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise InvalidState(f"a session cannot go from {self.state.value} to {new.value}")
        self.state = new
