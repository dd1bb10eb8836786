"""Command dispatch and one handler per method, for both interfaces (docs/protocol.md, "Commands").

Dispatch order on ``/workers``: ``watchAll``, then ``connect``, then everything else is
pass-through — it needs an ``account`` (``noAccount``) that the server manages
(``inactiveAccount``) and then runs as on ``/clients`` for that account. On ``/clients``:
``connect`` first (``notConnected`` before it, ``alreadyConnected`` after it), ``watchAll``
does not exist.

``ack`` (issue 6) needs no account on either interface: a group member's ids go to its group,
anyone else gets ``acked`` as a no-op. ``group`` on ``watchAll``/``watchMailboxes`` joins a worker
group (``server.groups``) instead of subscribing to the live fan-out; ``since`` is then ignored.

Every failure becomes an ``error`` response echoing the arguments as sent with secrets masked
(docs/protocol.md, "Errors"); nothing escapes :meth:`Handlers.execute`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from switchboard.engine.errors import AuthenticationFailed as EngineAuthenticationFailed
from switchboard.engine.errors import ConnectionFailed as EngineConnectionFailed
from switchboard.engine.errors import ImapFailure
from switchboard.model.events import NewMessage
from switchboard.protocol import errors as wire
from switchboard.protocol.frames import Command, Response, encode_push
from switchboard.protocol.methods import (
    Interface,
    Method,
    lookup_method,
    split_account,
    validate_ack,
    validate_connect,
    validate_get_mailboxes,
    validate_get_message_list,
    validate_get_messages,
    validate_watch_all,
    validate_watch_mailboxes,
)
from switchboard.server import mailops
from switchboard.server.accounts import WORKERS
from switchboard.server.groups import GroupKind
from switchboard.server.hub import push_args
from switchboard.server.session import Session, SessionState
from switchboard.store.errors import StoreError

if TYPE_CHECKING:
    from switchboard.server.app import ServerContext

__all__ = ["Handlers"]

logger = logging.getLogger("switchboard.server")

# Events read from the log per query while replaying a resumed stream.
_REPLAY_PAGE = 500

Handler = Callable[[Session, str, Any], Awaitable[tuple[str, Any]]]


class Handlers:
    """The server's command table; ``execute`` turns any command into exactly one response."""

    def __init__(self, context: ServerContext) -> None:
        self._context = context
        self._account_methods: dict[Method, Handler] = {
            Method.WATCH_MAILBOXES: self._watch_mailboxes,
            Method.GET_MAILBOXES: self._get_mailboxes,
            Method.GET_MESSAGE_LIST: self._get_message_list,
            Method.GET_MESSAGES: self._get_messages,
        }

    async def execute(self, session: Session, command: Command) -> Response:
        """Run ``command`` for ``session``; every outcome, failure included, is a Response."""
        try:
            name, args = await self._dispatch(session, command)
            return Response.reply(command, name, args)
        except wire.WireError as exc:
            return self._error(command, exc)
        except EngineAuthenticationFailed:
            return self._error(
                command, wire.AuthenticationFailed("the IMAP server rejected the credentials")
            )
        except EngineConnectionFailed as exc:
            return self._error(command, wire.ConnectionFailed(str(exc)))
        except ImapFailure as exc:
            return self._error(command, wire.ServerError(f"IMAP: {exc}"))
        except StoreError as exc:
            # The database is unreachable (a cluster node during an outage) or refused: an
            # error reply, not a traceback per command. Store messages never hold secrets.
            logger.warning("command %s failed: %s", command.method, exc)
            return self._error(command, wire.ServerError(f"store: {exc}"))
        except Exception:
            logger.exception("command %s failed", command.method)
            return self._error(command, wire.ServerError("internal error"))

    def _error(self, command: Command, exc: wire.WireError) -> Response:
        return wire.error_response(
            exc.type,
            command.method,
            command.args,  # error_response masks secrets
            command.tag,
            command.tagged,
            description=exc.description,
        )

    async def _dispatch(self, session: Session, command: Command) -> tuple[str, Any]:
        method = lookup_method(session.interface, command.method)
        args = command.args
        if method is Method.ACK:
            return await self._ack(session, args)
        if session.interface is Interface.WORKERS:
            if method is Method.WATCH_ALL:
                watch_all = validate_watch_all(args)
                session.wants_summary |= watch_all.summary
                if watch_all.group is not None:
                    await self._join_group(
                        session, watch_all.group, GroupKind.ALL, watch_all.visibility_timeout_s
                    )
                    return "watchingAll", {}
                await self._check_since(watch_all.since)
                self._context.hub.subscribe_all(session)
                if watch_all.since is not None:
                    self._schedule_replay(session, watch_all.since, None)
                return "watchingAll", {}
            if method is Method.CONNECT:
                return await self._connect(session, args)
            account_id, rest = split_account(args)  # raises NoAccount
            if not await self._context.accounts.known(account_id):
                raise wire.InactiveAccount(f"{account_id!r} is not connected")
            handler = self._account_methods.get(method) if method else None
            if handler is None:
                raise wire.UnknownMethod(f"no method named {command.method!r}")
            return await handler(session, account_id, rest)
        # /clients
        if method is Method.CONNECT:
            if session.state is SessionState.READY:
                raise wire.AlreadyConnected("this connection is already connected to an account")
            return await self._connect(session, args)
        handler = self._account_methods.get(method) if method else None
        if handler is None:
            raise wire.UnknownMethod(f"no method named {command.method!r}")
        if session.state is not SessionState.READY or session.account_id is None:
            raise wire.NotConnected("send connect first")
        return await handler(session, session.account_id, args)

    async def _ack(self, session: Session, args: Any) -> tuple[str, Any]:
        request = validate_ack(args)
        group = self._context.groups.get(session.group) if session.group else None
        if group is None:
            return "acked", {"eventIds": list(request.event_ids)}
        acked, unknown = await group.ack(session, request.event_ids)
        reply: dict[str, Any] = {"eventIds": acked}
        if unknown:
            reply["unknown"] = unknown
        return "acked", reply

    async def _join_group(
        self,
        session: Session,
        name: str,
        kind: GroupKind,
        visibility_timeout_s: float | None,
        account_id: str | None = None,
        mailboxes: tuple[str, ...] = (),
    ) -> None:
        if session.group is not None and session.group != name:
            raise wire.InvalidArguments(
                f"this connection is in group {session.group!r}; one group per connection"
            )
        timeout = visibility_timeout_s or self._context.settings.group_visibility_timeout_s
        await self._context.groups.join(
            session,
            name,
            kind,
            visibility_timeout_s=timeout,
            account_id=account_id,
            mailboxes=mailboxes,
        )
        session.group = name

    async def _connect(self, session: Session, args: Any) -> tuple[str, Any]:
        request = validate_connect(args)
        principal = session.principal
        if principal is not None and not principal.may_connect(request.auth.username):
            raise wire.NotAuthorized("this token is bound to another account")
        outcome = await self._context.accounts.connect(
            request, by_worker=session.is_worker, holder=session
        )
        if not session.is_worker:
            session.account_id = outcome.account_id
            session.state = SessionState.READY
        return "connected", {}

    async def _check_since(self, since: int | None) -> None:
        """Refuse a resume point older than the log's retention horizon (no silent gap)."""
        if since is None:
            return
        oldest = await self._context.store.oldest_event_id()
        if oldest is not None and since < oldest - 1:
            raise wire.CannotCalculateChanges(
                f"events after {since} are no longer kept; the oldest available is {oldest}"
            )

    def _schedule_replay(self, session: Session, since: int, account_id: str | None) -> None:
        """After the reply, push every logged event after ``since`` the session would want."""
        store = self._context.store

        async def frames() -> AsyncIterator[tuple[bytes, int]]:
            after = since
            accounts = None if account_id is None else (account_id,)
            while True:
                page = await store.events_after(after, limit=_REPLAY_PAGE, account_ids=accounts)
                if not page:
                    return
                for stored in page:
                    after = stored.event_id
                    event = stored.event
                    if not isinstance(event, NewMessage):
                        continue
                    if account_id is None or session.wants(event):
                        args = push_args(
                            stored.event_id,
                            event,
                            with_account=session.is_worker,
                            with_summary=session.wants_summary,
                        )
                        yield encode_push("newMessage", args), stored.event_id

        session.after_reply(lambda: session.replay(frames()))

    async def _watch_mailboxes(
        self, session: Session, account_id: str, args: Any
    ) -> tuple[str, Any]:
        request = validate_watch_mailboxes(args)
        session.wants_summary |= request.summary
        if request.group is None:
            await self._check_since(request.since)
        holder = WORKERS if session.is_worker else session
        result = await self._context.accounts.set_watches(account_id, holder, request.names)
        failed = set(result.failed)
        # What the caller watches now: a failed name adds nothing and removes nothing.
        watching = list(self._context.accounts.watches(account_id, holder))
        reply: dict[str, Any] = {"list": watching}
        if request.group is not None:
            await self._join_group(
                session,
                request.group,
                GroupKind.MAILBOXES,
                request.visibility_timeout_s,
                account_id,
                tuple(watching),
            )
        else:
            if not session.is_worker:
                session.client_watches = frozenset(watching)
            self._context.hub.subscribe_account(session, account_id)
            if request.since is not None:
                self._schedule_replay(session, request.since, account_id)
        if failed:
            reply["failed"] = [name for name in request.names if name in failed]
        return "watchingMailboxes", reply

    async def _get_mailboxes(self, session: Session, account_id: str, args: Any) -> tuple[str, Any]:
        request = validate_get_mailboxes(args)
        return "mailboxes", await mailops.get_mailboxes(
            self._context.engine.reader, self._context.accounts, account_id, request.state
        )

    async def _get_message_list(
        self, session: Session, account_id: str, args: Any
    ) -> tuple[str, Any]:
        request = validate_get_message_list(args)
        return "messageList", await mailops.get_message_list(
            self._context.engine.reader, self._context.accounts, account_id, request.mailbox_id
        )

    async def _get_messages(self, session: Session, account_id: str, args: Any) -> tuple[str, Any]:
        request = validate_get_messages(args)
        return "messages", await mailops.get_messages(
            self._context.engine.reader,
            self._context.accounts,
            account_id,
            request.ids,
            request.properties,
        )
