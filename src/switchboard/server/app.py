"""The Switchboard server: opens the store, starts the parts in order and serves HTTP/WebSocket.

One port serves everything (:mod:`switchboard.server.listener`): WebSocket upgrades to
``/workers``, ``/clients`` and ``/jmap/ws`` go to the WebSocket library, every other request
to the HTTP layer (:mod:`switchboard.server.httpconn`) and the routes of ``server.http``;
with ``tls_cert``/``tls_key`` all of it over TLS.

``SwitchboardServer`` owns everything that lives as long as the process: the store, the engine
(IMAP watchers), the hub (fan-out), the account registry and the sessions, built and connected by
:func:`~switchboard.server.wiring.build_parts`. ``start()`` opens the store, starts the engine,
restores the accounts workers had connected, starts the placement, then listens; ``stop()``
closes every WebSocket (1001), logs out of every IMAP connection and closes the store.

Where pinned accounts are watched is the :class:`~switchboard.server.placement.AccountPlacement`
given to the constructor: this process alone by default. A cluster node (docs/scaling.md) gets
the cluster's placement from whoever builds it (``switchboard serve`` with ``store_url``:
:func:`switchboard.cli.serve.build_server`), and its store is the shared PostgreSQL; this module
imports neither the cluster nor asyncpg (the ``postgres`` extra) for that.

HTTP routes live in ``server.http``, the token check in ``server.auth``, JMAP in
``server.jmap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import NegotiationError
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from switchboard import __version__
from switchboard.engine.settings import EngineSettings
from switchboard.errors import SwitchboardError
from switchboard.extras import require
from switchboard.model.store import Store
from switchboard.server.auth import redacted_logger
from switchboard.server.config import DATABASE_FILE, ConfigError, ServerSettings
from switchboard.server.http import INTERFACES
from switchboard.server.httpconn import HttpConnections, HttpLimits
from switchboard.server.httpwire import AnyResponse, HttpRequest, text_response
from switchboard.server.jmap.service import WEBSOCKET_PATH
from switchboard.server.jmap.states import epoch_for_key
from switchboard.server.listener import ListenerFront, open_listener
from switchboard.server.listentls import server_ssl_context
from switchboard.server.placement import AccountPlacement, LocalPlacement
from switchboard.server.session import Session
from switchboard.server.sessioncore import SessionCore
from switchboard.server.wiring import ServerParts, build_parts
from switchboard.server.wslog import quiet_peer_faults
from switchboard.store.crypto import SecretBox, load_or_create_key
from switchboard.store.sqlite import SqliteStore

__all__ = ["ListenError", "SwitchboardServer"]

logger = logging.getLogger("switchboard.server")


class ListenError(SwitchboardError):
    """The server cannot listen on its address: the port is taken, the host unknown…

    Attributes:
        errno: the ``OSError``'s error number (``errno.EADDRINUSE`` for a port in use).
    """

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        self.errno = cause.errno
        # os.strerror gives "Address already in use" where the event loop wraps it in
        # "error while attempting to bind on address (...)"; getaddrinfo errors are negative.
        reason = cause.strerror
        if cause.errno is not None and cause.errno > 0:
            reason = os.strerror(cause.errno)
        reason = (reason or str(cause) or type(cause).__name__).lower()
        super().__init__(f"cannot listen on {host}:{port}: {reason}")


class SwitchboardServer:
    """The running server. Use ``async with SwitchboardServer(settings) as server:``.

    Args:
        settings: the server's settings.
        engine_settings: the engine's; by default what ``settings`` call for.
        placement: where pinned accounts are watched; by default this process alone. A
            ``store_url`` needs a placement that names this node (the cluster's).
    """

    def __init__(
        self,
        settings: ServerSettings,
        *,
        engine_settings: EngineSettings | None = None,
        placement: AccountPlacement | None = None,
    ) -> None:
        self.settings = settings
        self._engine_settings = engine_settings or settings.engine_settings()
        self._placement: AccountPlacement = placement or LocalPlacement()
        self._parts: ServerParts | None = None
        self._server: Server | None = None
        self._front: ListenerFront | None = None
        self._history_load: asyncio.Task[None] | None = None
        self._placement_started = False
        self.node_id: str | None = self._placement.node_id
        """This node's name in a cluster (``None`` on a single node)."""

    @property
    def parts(self) -> ServerParts:
        """The server's parts; only valid between ``start`` and ``stop``."""
        if self._parts is None:
            raise RuntimeError("the server is not started")
        return self._parts

    @property
    def secure(self) -> bool:
        """Whether the listener speaks TLS (``wss://``, ``https://``)."""
        return self.settings.tls_cert is not None

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with ``port=0``)."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        sockname = next(iter(self._server.sockets)).getsockname()
        return int(sockname[1])

    async def start(self) -> None:
        """Check the settings, bind, open the store, start the engine, restore, accept.

        Nothing is created on disk before the settings passed every check that can be made
        without the store and the port was bound: a refused start leaves no data directory or
        key file behind.

        Raises:
            ConfigError: unsafe or impossible settings (a public address without tokens, a
                shared store without a cluster placement, a TLS certificate or key that cannot
                be used…).
            ListenError: the address cannot be bound (port in use, unknown host…).
        """
        settings = self.settings
        settings.check()
        if (settings.store_url is None) != (self.node_id is None):
            raise ConfigError(
                "a shared store (store_url) needs a cluster node's placement and a cluster "
                "placement needs store_url: build the server with "
                "switchboard.cli.serve.build_server, as `switchboard serve` does"
            )
        if settings.store_url is not None:
            require("asyncpg", "the PostgreSQL store (--store postgresql://…)")
        if settings.store_url is None and not (settings.data_dir / DATABASE_FILE).exists():
            # No store yet, so no stored token: the loopback rule can be checked right away.
            settings.check_listen(store_has_tokens=False)
        ssl_context: ssl.SSLContext | None = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            ssl_context = server_ssl_context(settings.tls_cert, settings.tls_key)
        server = await self._bind(ssl_context)
        try:
            await self._open(server)
        except BaseException:
            server.close()
            await server.wait_closed()
            self._server = None
            raise

    async def _bind(self, ssl_context: ssl.SSLContext | None) -> Server:
        """Bind the listening socket without accepting yet (``start_serving=False``)."""
        settings = self.settings
        self._front = ListenerFront(
            app=self._http_app,
            connections=HttpConnections(HttpLimits()),
            websocket_paths=frozenset((*INTERFACES, WEBSOCKET_PATH)),
            server_header=f"Switchboard/{__version__}",
        )
        try:
            # A frame may be a little over max_frame_bytes and still get a proper error
            # response; far beyond it, the WebSocket layer closes with 1009 before buffering it.
            self._server = await open_listener(
                self._front,
                self._handle,
                host=settings.host,
                port=settings.port,
                ssl_context=ssl_context,
                process_request=self._process_request,
                select_subprotocol=self._select_subprotocol,
                max_size=settings.max_frame_bytes * 4,
                # websockets logs frames and headers at DEBUG: through a redacting logger; a
                # peer's failed handshake is one line, not a traceback (server.wslog).
                logger=quiet_peer_faults(redacted_logger()),
            )
        except OSError as exc:
            raise ListenError(settings.host, settings.port, exc) from None
        return self._server

    async def _open(self, server: Server) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = load_or_create_key(settings.data_dir, settings.secret_key)
        box = SecretBox(key)
        store: Store
        if settings.store_url is not None and self.node_id is not None:
            from switchboard.store.postgres import PostgresStore

            # record() is then fenced by this node's leases (store.postgres.LeaseLost).
            store = await PostgresStore.open(settings.store_url, box, node_id=self.node_id)
        else:
            store = await SqliteStore.open(settings.data_dir / DATABASE_FILE, box)
        try:
            # Stored tokens count as configured, so this check waits for the store.
            settings.check_listen(store_has_tokens=await store.has_active_tokens())
            # Events up to this id are read from the log in the background; the hub counts
            # the rest.
            horizon = await store.last_event_id()
            parts = build_parts(
                settings,
                self._engine_settings,
                store,
                self._placement,
                history_horizon=horizon,
                jmap_epoch=epoch_for_key(key),
            )
        except BaseException:
            await store.close()
            raise
        self._parts = parts
        try:
            await parts.engine.start()
            self._history_load = asyncio.create_task(
                parts.history.load(store), name="event-history"
            )
            restored = await parts.accounts.restore()
            # A cluster's placement refuses (NodeIdTaken) when a live process uses this node id.
            self._placement_started = True
            await self._placement.start(parts.placement_parts())
            parts.revocations.start()
            await server.start_serving()
        except BaseException:
            # Whatever was started stops, so the caller sees just the error.
            await self.stop()
            raise
        logger.info(
            "listening on %s:%d (%d stored account(s) %s)",
            settings.host,
            self.port,
            restored,
            "restored" if self.node_id is None else f"in the cluster; this is node {self.node_id}",
        )

    async def stop(self) -> None:
        """Close every session, log out of every IMAP connection, close the store."""
        parts = self._parts
        if parts is not None:
            await parts.revocations.stop()
        if self._front is not None:
            # HTTP connections end first (idle ones at once, EventSource streams cancelled,
            # requests in progress once answered): the WebSocket server's close waits for them.
            self._front.stopping.set()
            await self._front.connections.close_all()
        if self._server is not None:
            self._server.close(close_connections=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=10)
            self._server = None
        if parts is not None:
            await parts.groups.stop()
            if self._placement_started:
                # Leases go back only once their accounts stopped; the tail stops after them.
                self._placement_started = False
                await self._placement.stop()
            await parts.jmap_others.close()  # background CONDSTORE marks, before the engine
            await parts.engine.stop()
            if self._history_load is not None:
                self._history_load.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._history_load
                self._history_load = None
            await parts.store.close()
            self._parts = None

    async def __aenter__(self) -> SwitchboardServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        assert self._server is not None
        await self._server.serve_forever()

    # -- entry points ---------------------------------------------------------------------

    async def _http_app(self, request: HttpRequest) -> AnyResponse:
        if self._parts is None:  # only between stop() and the last connection's end
            return text_response(503, "The server is stopping.\n")
        return await self._parts.routes(request)

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        path = urlsplit(connection.request.path if connection.request else "/").path
        if path != WEBSOCKET_PATH:
            return None  # the 2014 interfaces use none, whatever a client offers
        chosen = self.parts.jmap.subprotocol(tuple(offered))
        if chosen is None:
            # websockets answers 400 with this text.
            raise NegotiationError("RFC 8887: offer the jmap subprotocol")
        return Subprotocol(chosen)

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        # The socket is bound before the parts exist, but accepts only once they do.
        if self._parts is None:  # only between stop() and the last connection's end
            return connection.respond(503, "The server is stopping.\n")
        return await self._parts.routes.upgrade(connection, request)

    async def _handle(self, websocket: ServerConnection) -> None:
        parts = self.parts
        path = urlsplit(websocket.request.path if websocket.request else "/").path
        if path == WEBSOCKET_PATH:
            await parts.jmap.serve_websocket(websocket)
            return
        interface = INTERFACES[path]
        authenticator = parts.authenticator
        principal = authenticator.principal_of(websocket)
        if principal is None and websocket.request is not None:
            # HttpRoutes checks every upgrade; should a route ever skip it, check here too.
            principal = await authenticator.authenticate(websocket.request)
        if principal is None or not principal.may_open(path):
            await websocket.close(1008, "not authorized")
            return
        session = Session(SessionCore(interface, principal), websocket, parts.services)
        parts.sessions.add(session)
        await session.run()
