"""The asyncio client: ``async with connect(url) as sb``, ``await sb.call(...)``, ``async for``.

The public face of a :class:`~switchboard.client.session.ClientSession` (protocol, resume, acks)
and a :class:`~switchboard.client.pushqueue.PushQueue` moved over the WebSocket by the shell in
``client/aioshell.py``; docs/reliability.md says what ``last_event_id`` and ``reconnect``
guarantee::

    async with switchboard.aio.connect(url, token=T, reconnect=True, since=saved) as sb:
        await sb.call("connect", {"host": H, "port": 993, "auth": {...}})
        await sb.watch_all(summary=True)         # or watch_all(group="apns")
        async for push in sb.events():           # push.new_message: account, eventId, summary …
            await handle(push)
            save(sb.last_event_id)               # acked once the loop asks for the next one
"""

from __future__ import annotations

import logging
import ssl as ssl_module
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType

from switchboard.client.aioshell import DEFAULT_MAX_FRAME_BYTES, AsyncShell, Handle
from switchboard.client.pushqueue import DEFAULT_MAX_QUEUE, END, PushQueue
from switchboard.client.resume import DEFAULT_MAX_TRACKED_EVENTS, Backoff
from switchboard.client.session import DEFAULT_MAX_PENDING_GROUPS, ClientSession, Push, errors_of
from switchboard.protocol.wirejson import JsonLike, JsonValue

__all__ = ["DEFAULT_MAX_QUEUE", "AsyncClient", "Backoff", "Push", "connect"]

logger = logging.getLogger("switchboard.aio")


class AsyncClient:
    """One logical connection to a Switchboard server; create it with :func:`connect`.

    Args:
        url: ``ws://host:port/workers`` or ``/clients`` (``?token=`` in the URL is sent as is).
        token: an auth token, sent as ``Authorization: Bearer <token>``.
        timeout_s: default limit for each command's reply, and for opening and closing.
        max_queue: how many pushes wait for ``events()`` before new ones are dropped.
        max_frame_bytes: largest frame accepted from the server.
        max_pending_groups: how many ``send_cmds`` calls may await replies at once.
        ping_interval_s: keepalive ping interval; a server that stops answering is noticed.
        headers: extra HTTP headers for the upgrade request.
        ssl: TLS context for ``wss://`` (default: verify against the system store).
        reconnect: open the connection again when it is lost, and resume.
        since: the event id processed last (e.g. from a state file); watches resume after it.
        backoff: the delays between reconnection attempts.
        max_tracked_events: bound on the event ids the resume cursor keeps.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 30.0,
                 max_queue: int = DEFAULT_MAX_QUEUE,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS,
                 ping_interval_s: float | None = 20.0, headers: Mapping[str, str] | None = None,
                 ssl: ssl_module.SSLContext | None = None, reconnect: bool = False,
                 since: int | None = None, backoff: Backoff | None = None,
                 max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS) -> None:
        self.url, self.timeout_s = url, timeout_s
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        self._session: ClientSession[Handle] = ClientSession(
            since=since, max_pending_groups=max_pending_groups,
            max_tracked_events=max_tracked_events)
        self._queue = PushQueue(max_queue)
        self._shell = AsyncShell(
            url, session=self._session, queue=self._queue, headers=all_headers, tls=ssl,
            timeout_s=timeout_s, ping_interval_s=ping_interval_s,
            max_frame_bytes=max_frame_bytes, reconnect=reconnect, backoff=backoff or Backoff())

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once the connection ended, else ``None``."""
        return self._session.close_code

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every push handed out at or below it was acknowledged."""
        return self._session.last_event_id

    @property
    def group(self) -> str | None:
        """The consumer group this client joined, if any."""
        return self._session.group

    @property
    def dropped_pushes(self) -> int:
        """How many pushes were dropped because the queue held ``max_queue`` already."""
        return self._queue.dropped

    @property
    def reconnects(self) -> int:
        """How many times the connection was opened again after it was lost."""
        return self._shell.reconnects

    async def open(self) -> None:
        """Open the WebSocket and start reading; ``async with`` calls this.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade (e.g.
                ``InvalidStatus`` with HTTP 401 for a missing or wrong token).
        """
        await self._shell.open()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close (bounded by ``timeout_s``), stop reconnecting, and wait for the end.

        Pending calls fail with ``ConnectionClosed``; ``events()`` iterations end.
        """
        await self._shell.close(code, reason)

    async def __aenter__(self) -> AsyncClient:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def send_cmds(self, *cmds: Sequence[JsonLike],
                        timeout_s: float | None = None) -> list[list[JsonValue]]:
        """Send ``(method, args)`` commands as one frame; return the reply frame as received.

        Error responses are returned like any other (``call`` raises them); no commands return
        ``[]`` at once. Watches resume after ``last_event_id``; successful ``connect`` and
        watch commands are sent again after a reconnection.

        Raises:
            ValueError: a command is not a ``(method, args)`` pair.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not open, or the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            TooManyPending: ``max_pending_groups`` calls already await replies.
        """
        out = self._session.send(cmds, self._shell.future())
        return [response.to_json() for response in await self._shell.exchange(out, timeout_s)]

    async def call(self, method: str, args: JsonLike = None, *,
                   timeout_s: float | None = None) -> JsonValue:
        """Run one command and return its response's args (an object for every known response).

        Raises:
            CommandError: the server answered with an error response; ``.type`` is its type.
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s`` (default: the client's).
            ValueError: the reply is not one response.
        """
        out = self._session.send([(method, {} if args is None else args)], self._shell.future())
        responses = await self._shell.exchange(out, timeout_s)
        if len(responses) != 1:
            raise ValueError(f"expected one response to {method}, got {responses!r}")
        for error in errors_of(responses):
            raise error
        return responses[0].args

    async def watch_all(self, *, since: int | None = None, group: str | None = None,
                        visibility_timeout_s: float | None = None,
                        summary: bool = False) -> JsonValue:
        """Subscribe to every account's new mail (``/workers``); see :meth:`watch_mailboxes`.

        Raises:
            CommandError: the server refused (e.g. ``cannotCalculateChanges`` for a ``since``
                older than the event log keeps).
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s``.
        """
        return await self.call("watchAll", _watch({}, since, group, visibility_timeout_s, summary))

    async def watch_mailboxes(self, account: str | None, names: Iterable[str], *,
                              since: int | None = None, group: str | None = None,
                              visibility_timeout_s: float | None = None,
                              summary: bool = False) -> JsonValue:
        """Watch mailboxes by name and subscribe to their new mail.

        Args:
            account: the account (``/workers``), or ``None`` on ``/clients``.
            names: mailbox names such as ``"INBOX"``.
            since: resume after this event id (default: ``last_event_id``).
            group: join this consumer group: each event goes to one member, acked.
            visibility_timeout_s: for a group, how long an unacked event stays with us.
            summary: pushes carry the message's subject, sender, date and size.

        Raises:
            CommandError: the server refused the command.
            ConnectionClosed: the connection closed before the reply.
            ResponseTimeout: no reply within ``timeout_s``.
        """
        base: dict[str, JsonValue] = {} if account is None else {"account": account}
        base["list"] = list(names)
        args = _watch(base, since, group, visibility_timeout_s, summary)
        return await self.call("watchMailboxes", args)

    async def ack(self, *event_ids: int) -> None:
        """Acknowledge pushes: their handlers returned without raising.

        A group member tells the server (so that it does not redeliver them) and waits for its
        answer; a plain subscriber only moves ``last_event_id``. Ids acked before are skipped.

        Raises:
            ConnectionClosed: the connection closed before the server confirmed the ack; the
                server will deliver the events again, and they will not be handed out twice.
            ResponseTimeout: no confirmation within ``timeout_s``.
        """
        await self._shell.confirm(self._session.ack(event_ids, self._shell.future))

    async def events(self, *, auto_ack: bool = True) -> AsyncIterator[Push]:
        """Yield each unsolicited response as a :class:`Push`, until the connection ends.

        With ``auto_ack`` a ``newMessage`` push is acknowledged when the loop asks for the next
        one. Pushes already acknowledged (redelivered) are skipped. Meant for one consumer at a
        time; a push taken with a one-off ``anext(sb.events())`` is never auto-acked.

        Raises:
            CommandError: resuming after a reconnect failed (``cannotCalculateChanges``: the
                event log no longer holds events after ``last_event_id``).
        """
        while True:
            item = self._queue.get()
            if item is None:
                if self._queue.resync_due() and self._shell.reconnect:
                    logger.info("push queue overflowed; reconnecting to resume after the gap")
                    await self._shell.drop(1000, "client queue overflow; resuming")
                self._shell.arrived.clear()
                await self._shell.arrived.wait()
                continue
            if item is END:
                return
            if not isinstance(item, Push):
                raise item
            handout = self._session.hand_out((item,))
            if not handout.deliver:
                reack = self._session.reack(handout.redelivered, self._shell.future)
                if reack is not None:
                    await self._shell.confirm(reack, quiet=True)
                continue
            yield item
            if auto_ack and handout.event_ids:
                ack = self._session.ack(handout.event_ids, self._shell.future)
                if ack is not None:  # a group member's; a plain subscriber sends nothing
                    await self._shell.confirm(ack, quiet=True)


def _watch(args: dict[str, JsonValue], since: int | None, group: str | None,
           visibility_timeout_s: float | None, summary: bool) -> dict[str, JsonValue]:
    for key, value in (("since", since), ("group", group),
                       ("visibilityTimeout", visibility_timeout_s)):
        if value is not None:
            args[key] = value
    if summary:
        args["summary"] = True
    return args


def connect(url: str, token: str | None = None, **kwargs: object) -> AsyncClient:
    """Return an :class:`AsyncClient` for ``async with``; see its arguments for ``kwargs``.

    ``async with connect(url, token=T, reconnect=True, since=saved) as sb: ...``
    """
    return AsyncClient(url, token=token, **kwargs)  # type: ignore[arg-type]
