"""The threaded client with the API of switchboard-python 0.1.3: ``Client``.

The public face of a :class:`~switchboard.client.session.ClientSession` moved over the WebSocket
by the shell in ``client/syncshell.py`` (``Fetcher`` is in ``client/fetcher.py``). ``connect()``
opens the WebSocket and starts one daemon *reader thread*. Like the original, the hooks
(``opened``, ``closed``, ``received_unsolicited``) and the promise callbacks run **on the reader
thread**: while one runs, no other frame is delivered, so a hook that blocks on a reply it waits
for would deadlock — chain with ``then()`` instead of calling ``get()`` inside a hook.

Fixed from the original 0.1.3 client: finished command groups are forgotten; pending
promises are rejected with ``ConnectionClosed`` when the connection ends, or ``ResponseTimeout``
when a per-call timeout passes; unknown, untagged or malformed frames are logged or handed to
``received_unsolicited`` and never stop the reader thread; ``send_cmds()`` with no commands
settles at once with ``([], [])``.

Reliability (docs/reliability.md; the same rules as ``switchboard.aio``, from the same session):
a ``newMessage`` push is acknowledged once ``received_unsolicited`` returned without raising, and
``last_event_id`` is the highest event id at or below which every push handed to a hook was
acknowledged; pass it back as ``since=`` after a restart. With ``reconnect=True`` (off by
default, as in the original) a lost connection is opened again with backoff, the set-up commands
that succeeded are sent again (watches with ``since=last_event_id``), then ``reconnected()`` is
called. ``opened()`` runs only on the first connection, ``closed()`` once the client stops for good.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from websockets.sync.client import ClientConnection

from switchboard.client.promise import Promise
from switchboard.client.resume import DEFAULT_MAX_TRACKED_EVENTS, Backoff
from switchboard.client.session import DEFAULT_MAX_PENDING_GROUPS, ClientSession, Pushes
from switchboard.client.syncshell import Frames, SyncShell
from switchboard.client.wsoptions import (
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_PING_INTERVAL_S,
    HeadersLike,
    SslOptions,
    header_list,
    open_sync,
)
from switchboard.protocol.wirejson import JsonLike, JsonValue

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "DEFAULT_PING_INTERVAL_S", "Client", "Frames"]

logger = logging.getLogger("switchboard")


class Client:
    """A WebSocket connection to a Switchboard server, with the original client's API.

    Args:
        url: ``ws://host:port/workers`` (or ``/clients``, or ``wss://``). A ``?token=...``
            query in the URL is sent as is.
        protocols: WebSocket subprotocols to offer.
        extensions: ws4py-style extension names; only ``"permessage-deflate"`` is understood,
            and compression is off without it (the original server negotiates none).
        heartbeat_freq: seconds between keepalive pings (default ``DEFAULT_PING_INTERVAL_S``).
        ssl_options: for ``wss://``: an ``ssl.SSLContext``, or ws4py's dict of ``ssl`` options
            (``ca_certs``, ``certfile``, ``keyfile``, ``cert_reqs``).
        headers: extra HTTP headers for the upgrade request, a dict or ``(name, value)`` pairs.
        token: an auth token, sent as ``Authorization: Bearer <token>``.
        timeout_s: limit on the opening and the closing handshake.
        max_frame_bytes: largest frame accepted from the server.
        max_pending_groups: how many ``send_cmds`` calls may await replies at once.
        reconnect: open the connection again when it is lost, and resume (module docstring).
        since: the event id processed last (e.g. from a state file); watches resume after it.
        backoff: the delays between reconnection attempts.
        max_tracked_events: bound on the event ids the resume cursor keeps.
    """

    def __init__(self, url: str, protocols: Sequence[str] | None = None,
                 extensions: Sequence[str] | None = None, heartbeat_freq: float | None = None,
                 ssl_options: SslOptions | None = None, headers: HeadersLike | None = None, *,
                 token: str | None = None, timeout_s: float = 10.0,
                 max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 max_pending_groups: int = DEFAULT_MAX_PENDING_GROUPS, reconnect: bool = False,
                 since: int | None = None, backoff: Backoff | None = None,
                 max_tracked_events: int = DEFAULT_MAX_TRACKED_EVENTS) -> None:
        self.url = url
        self.protocols = list(protocols) if protocols else None
        self.extensions = list(extensions) if extensions else []
        self.heartbeat_freq, self.ssl_options = heartbeat_freq, ssl_options
        self.headers: list[tuple[str, str]] = header_list(headers)
        if token is not None:
            self.headers.append(("Authorization", f"Bearer {token}"))
        self.timeout_s, self.max_frame_bytes = timeout_s, max_frame_bytes
        session: ClientSession[Promise[Frames]] = ClientSession(
            since=since, max_pending_groups=max_pending_groups,
            max_tracked_events=max_tracked_events)
        self._shell = SyncShell(session, connect=self._open_ws, hooks=self, reconnect=reconnect,
                                backoff=backoff or Backoff())

    def connect(self) -> None:
        """Open the WebSocket and start the reader thread, which first calls ``opened()``.

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took longer than ``timeout_s``.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade (for instance
                ``InvalidStatus`` with HTTP 401 for a missing or wrong token).
        """
        self._shell.open()

    def _open_ws(self) -> ClientConnection:
        return open_sync(self.url, headers=self.headers, protocols=self.protocols,
                         deflate="permessage-deflate" in self.extensions,
                         ssl_options=self.ssl_options, timeout_s=self.timeout_s,
                         ping_interval_s=self.heartbeat_freq or DEFAULT_PING_INTERVAL_S,
                         max_frame_bytes=self.max_frame_bytes)

    def run_forever(self) -> None:
        """Block until the connection has ended and ``closed()`` has returned."""
        self._shell.join()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (and stop reconnecting); ``closed()`` follows."""
        self._shell.close(code, reason)

    @property
    def reconnect(self) -> bool:
        """Whether a lost connection is opened again."""
        return self._shell.reconnect

    @property
    def reconnects(self) -> int:
        """How many times the connection was opened again after it was lost."""
        return self._shell.reconnects

    @property
    def last_event_id(self) -> int | None:
        """The resume position: every push handed out at or below it was acknowledged."""
        with self._shell.lock:
            return self._shell.session.last_event_id

    @property
    def terminated(self) -> bool:
        """True once the connection has ended (the ws4py attribute of the same name)."""
        return self._shell.done.is_set()

    def ack(self, *event_ids: int) -> None:
        """Acknowledge pushes by event id (done automatically after the hooks return).

        A group member tells the server (``["ack", {"eventIds": [...]}]``, not waited for);
        a plain subscriber only moves ``last_event_id``. Already acknowledged ids are skipped.
        """
        self._shell.ack(event_ids)

    def send(self, payload: str | bytes, binary: bool = False) -> None:
        """Send one raw frame, bypassing tags and promises (inherited from ws4py in the original).

        Raises:
            ConnectionClosed: not connected, or the connection is closed.
        """
        self._shell.send_raw(payload if not binary or isinstance(payload, bytes)
                             else payload.encode())

    def send_cmds(self, *cmds: Sequence[JsonLike],
                  timeout_s: float | None = None) -> Promise[Frames]:
        """Send ``(method, args)`` commands as one tagged frame and return a promise of the reply.

        The promise is fulfilled with ``(cmds, resps)``: the tagged commands as sent
        (``[[method, args, tag], ...]``) and the reply frame. Error responses fulfil it too
        (use :func:`switchboard.errors_in`). No commands: fulfilled at once with ``([], [])``.

        Args:
            cmds: ``(method, args)`` pairs.
            timeout_s: reject with ``ResponseTimeout`` if no reply within this many seconds;
                ``None`` waits until the connection closes.

        Raises:
            ValueError: a command is not a ``(method, args)`` pair, e.g. a 3-tuple.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not connected, or the connection is already closed.
            TooManyPending: ``max_pending_groups`` calls already await replies.
        """
        return self._shell.send_group(cmds, timeout_s)

    # -- hooks (run on the reader thread) ---------------------------------------------------

    def opened(self) -> None:
        """Hook called on the reader thread once connected; send setup commands here."""
        logger.debug("connected to %s", self.url)

    def reconnected(self) -> None:
        """Hook called on the reader thread after a reconnection, once the watches were resent."""
        logger.info("reconnected to %s", self.url)

    def closed(self, code: int | None, reason: str | None = None) -> None:
        """Hook called on the reader thread once the connection ended, pending promises rejected.

        ``code`` is the close code (1000 normal, 1006 the peer vanished without a close frame).
        """
        logger.info("connection to %s closed: code %s reason %r", self.url, code, reason)

    def received_unsolicited(self, resps: list[list[JsonValue]]) -> None:
        """Hook called with every frame that answers no pending command: pushes such as
        ``[["newMessage", {...}]]``, and (logged first) replies with unknown tags.
        """
        logger.info("unsolicited: %r", resps)

    def _handle_pushes(self, pushes: Pushes) -> bool:
        """Hand a push frame to ``received_unsolicited``; ``True`` to acknowledge it now."""
        return self._shell.call_hook(self.received_unsolicited, pushes.to_json())
