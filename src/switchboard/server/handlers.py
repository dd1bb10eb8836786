"""One handler per method, for both interfaces (docs/protocol.md, "Commands").

The session core (:mod:`switchboard.server.sessioncore`) decides whether a command runs and
parses its arguments; :meth:`Handlers.execute` runs the
:class:`~switchboard.server.sessioncore.Call` it admitted and returns an
:class:`~switchboard.server.sessioncore.Outcome`: the response, and the effects the session core
applies (a client bound to its account, a subscription, a group…).
A handler reads the session it runs for (its interface, principal, group) and hands it to the
account registry and the groups as the holder or member it is, but never changes it.

On ``/workers`` a command that names an account first needs one the server manages
(``inactiveAccount``, asked of the registry, which in a cluster may look it up in the store);
only then is an unknown method or a bad argument answered.

``ack`` (issue 6) needs no account on either interface: a group member's ids go to its group,
anyone else gets ``acked`` as a no-op. ``group`` on ``watchAll``/``watchMailboxes`` joins a worker
group (``server.groups``) instead of subscribing to the live fan-out; ``since`` is then ignored.

Every failure becomes an ``error`` response echoing the arguments as sent with secrets masked
(docs/protocol.md, "Errors"); nothing escapes :meth:`Handlers.execute`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from switchboard.engine.errors import AuthenticationFailed as EngineAuthenticationFailed
from switchboard.engine.errors import ConnectionFailed as EngineConnectionFailed
from switchboard.engine.errors import ImapFailure
from switchboard.protocol import errors as wire
from switchboard.protocol.messages import Response
from switchboard.protocol.methods import (
    AckRequest,
    ConnectRequest,
    GetMailboxesRequest,
    GetMessageListRequest,
    GetMessagesRequest,
    Interface,
    Method,
    Request,
    WatchAllRequest,
    WatchMailboxesRequest,
)
from switchboard.server import mailops
from switchboard.server.accountbook import WORKERS
from switchboard.server.accountconfig import ImapPolicy, account_config
from switchboard.server.accounts import AccountRegistry
from switchboard.server.auth import Principal
from switchboard.server.groups import GroupKind, GroupMember, GroupRegistry
from switchboard.server.sessioncore import (
    Call,
    ClientWatches,
    Connected,
    Effect,
    JoinedGroup,
    Outcome,
    ReplayFrom,
    Subscribed,
    WantsSummary,
)
from switchboard.store.errors import StoreError

__all__ = ["Caller", "Handlers", "LogHorizon"]

logger = logging.getLogger("switchboard.server")

_R = TypeVar("_R", bound=Request)


class Caller(GroupMember, Protocol):
    """The session a command runs for, as the handlers see it: read, never written."""

    @property
    def interface(self) -> Interface:
        """The endpoint the socket opened."""
        ...

    @property
    def principal(self) -> Principal | None:
        """Who opened the socket (``None``: no auth configured)."""
        ...

    @property
    def group(self) -> str | None:
        """The worker group the session joined, if any."""
        ...

    def __hash__(self) -> int:
        """Sessions are keys: of watch sets, of an account's holders, of a group's members."""
        ...


class LogHorizon(Protocol):
    """The one store query resuming needs: where the kept log begins."""

    async def oldest_event_id(self) -> int | None:
        """The oldest event id still in the log (``None``: the log is empty)."""
        ...


@dataclass(frozen=True, slots=True)
class _Reply:
    name: str
    args: Any
    effects: tuple[Effect, ...] = ()


_Handler = Callable[[Caller, Call], Awaitable[_Reply]]


class Handlers:
    """The server's command table; ``execute`` turns any admitted call into one outcome.

    Args:
        accounts: the account registry (lifetime, watch sets; the read commands' accounts).
        reader: the engine's reader, which the read commands run on.
        groups: the worker groups.
        log: where the event log begins, to refuse a resume point older than that.
        imap_policy: how ``connect`` requests become account settings.
        group_visibility_timeout_s: a group member's default visibility timeout.
    """

    def __init__(
        self,
        *,
        accounts: AccountRegistry,
        reader: mailops.Reader,
        groups: GroupRegistry,
        log: LogHorizon,
        imap_policy: ImapPolicy,
        group_visibility_timeout_s: float,
    ) -> None:
        self._accounts = accounts
        self._reader = reader
        self._groups = groups
        self._log = log
        self._policy = imap_policy
        self._visibility_timeout_s = group_visibility_timeout_s
        self._table: Mapping[Method, _Handler] = {
            Method.ACK: self._ack,
            Method.CONNECT: self._connect,
            Method.WATCH_ALL: self._watch_all,
            Method.WATCH_MAILBOXES: self._watch_mailboxes,
            Method.GET_MAILBOXES: self._get_mailboxes,
            Method.GET_MESSAGE_LIST: self._get_message_list,
            Method.GET_MESSAGES: self._get_messages,
        }

    async def execute(self, caller: Caller, call: Call) -> Outcome:
        """Run ``call`` for ``caller``; every outcome, failure included, has a response."""
        command = call.command
        try:
            if call.check_account:
                assert call.account_id is not None  # a named account is split off first
                if not await self._accounts.known(call.account_id):
                    raise wire.InactiveAccount(f"{call.account_id!r} is not connected")
            if call.refusal is not None:
                raise call.refusal
            assert call.method is not None  # only a refused call has no method
            reply = await self._table[call.method](caller, call)
            return Outcome(Response.reply(command, reply.name, reply.args), reply.effects)
        except wire.WireError as exc:
            return Outcome(exc.to_response(command))
        except EngineAuthenticationFailed:
            failed = wire.AuthenticationFailed("the IMAP server rejected the credentials")
            return Outcome(failed.to_response(command))
        except EngineConnectionFailed as exc:
            return Outcome(wire.ConnectionFailed(str(exc)).to_response(command))
        except ImapFailure as exc:
            return Outcome(wire.ServerError(f"IMAP: {exc}").to_response(command))
        except StoreError as exc:
            # The database is unreachable (a cluster node during an outage) or refused: an
            # error reply, not a traceback per command. Store messages never hold secrets.
            logger.warning("command %s failed: %s", command.method, exc)
            return Outcome(wire.ServerError(f"store: {exc}").to_response(command))
        except Exception:
            logger.exception("command %s failed", command.method)
            return Outcome(wire.ServerError("internal error").to_response(command))

    # -- methods without an account ----------------------------------------------------------

    async def _ack(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, AckRequest)
        group = self._groups.get(caller.group) if caller.group else None
        if group is None:
            return _Reply("acked", {"eventIds": list(request.event_ids)})
        acked, unknown = await group.ack(caller, request.event_ids)
        reply: dict[str, Any] = {"eventIds": acked}
        if unknown:
            reply["unknown"] = unknown
        return _Reply("acked", reply)

    async def _connect(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, ConnectRequest)
        principal = caller.principal
        if principal is not None and not principal.may_connect(request.auth.username):
            raise wire.NotAuthorized("this token is bound to another account")
        wanted = account_config(request, self._policy)
        outcome = await self._accounts.connect(
            wanted, by_worker=caller.is_worker, holder=caller
        )
        return _Reply("connected", {}, (Connected(outcome.account_id),))

    async def _watch_all(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, WatchAllRequest)
        effects: list[Effect] = [WantsSummary()] if request.summary else []
        if request.group is not None:
            await self._join_group(
                caller, request.group, GroupKind.ALL, request.visibility_timeout_s
            )
            effects.append(JoinedGroup(request.group))
            return _Reply("watchingAll", {}, tuple(effects))
        await self._check_since(request.since)
        effects.append(Subscribed(None))
        if request.since is not None:
            effects.append(ReplayFrom(request.since, None))
        return _Reply("watchingAll", {}, tuple(effects))

    async def _join_group(
        self,
        caller: Caller,
        name: str,
        kind: GroupKind,
        visibility_timeout_s: float | None,
        account_id: str | None = None,
        mailboxes: tuple[str, ...] = (),
    ) -> None:
        if caller.group is not None and caller.group != name:
            raise wire.InvalidArguments(
                f"this connection is in group {caller.group!r}; one group per connection"
            )
        await self._groups.join(
            caller,
            name,
            kind,
            visibility_timeout_s=visibility_timeout_s or self._visibility_timeout_s,
            account_id=account_id,
            mailboxes=mailboxes,
        )

    async def _check_since(self, since: int | None) -> None:
        """Refuse a resume point older than the log's retention horizon (no silent gap)."""
        if since is None:
            return
        oldest = await self._log.oldest_event_id()
        if oldest is not None and since < oldest - 1:
            raise wire.CannotCalculateChanges(
                f"events after {since} are no longer kept; the oldest available is {oldest}"
            )

    # -- methods for an account ---------------------------------------------------------------

    async def _watch_mailboxes(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, WatchMailboxesRequest)
        account_id = _account(call)
        effects: list[Effect] = [WantsSummary()] if request.summary else []
        if request.group is None:
            await self._check_since(request.since)
        holder = WORKERS if caller.is_worker else caller
        result = await self._accounts.set_watches(account_id, holder, request.names)
        failed = set(result.failed)
        # What the caller watches now: a failed name adds nothing and removes nothing.
        watching = list(self._accounts.watches(account_id, holder))
        reply: dict[str, Any] = {"list": watching}
        if request.group is not None:
            await self._join_group(
                caller,
                request.group,
                GroupKind.MAILBOXES,
                request.visibility_timeout_s,
                account_id,
                tuple(watching),
            )
            effects.append(JoinedGroup(request.group))
        else:
            if not caller.is_worker:
                effects.append(ClientWatches(frozenset(watching)))
            effects.append(Subscribed(account_id))
            if request.since is not None:
                effects.append(ReplayFrom(request.since, account_id))
        if failed:
            reply["failed"] = [name for name in request.names if name in failed]
        return _Reply("watchingMailboxes", reply, tuple(effects))

    async def _get_mailboxes(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, GetMailboxesRequest)
        return _Reply(
            "mailboxes",
            await mailops.get_mailboxes(
                self._reader, self._accounts, _account(call), request.state
            ),
        )

    async def _get_message_list(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, GetMessageListRequest)
        return _Reply(
            "messageList",
            await mailops.get_message_list(
                self._reader, self._accounts, _account(call), request.mailbox_id
            ),
        )

    async def _get_messages(self, caller: Caller, call: Call) -> _Reply:
        request = _request(call, GetMessagesRequest)
        return _Reply(
            "messages",
            await mailops.get_messages(
                self._reader, self._accounts, _account(call), request.ids, request.properties
            ),
        )


def _request(call: Call, kind: type[_R]) -> _R:
    """The call's typed request; the session core parsed it with the method's validator."""
    request = call.request
    assert isinstance(request, kind), f"{call.method} parsed as {type(request).__name__}"
    return request


def _account(call: Call) -> str:
    """The account an account method runs for (the core admits none without one)."""
    assert call.account_id is not None
    return call.account_id
