"""The Switchboard server: wires store, engine, hub and sessions together and serves HTTP/WebSocket.

``SwitchboardServer`` owns everything that lives as long as the process: the store (SQLite),
the engine (IMAP watchers), the hub (fan-out) and the account registry. ``start()`` opens the
store, starts the engine, restores the accounts workers had connected, then listens;
``stop()`` closes every WebSocket (1001), logs out of every IMAP connection and closes the store.

With ``store_url`` set the server is a cluster node (docs/scaling.md): the store is the
shared PostgreSQL, the engine's sink is a ``NullSink`` (the cluster's event tail publishes every
event, local or not, to the hub once), and a :class:`~switchboard.server.cluster.ClusterLink`
decides which pinned accounts this node's engine watches. Without it nothing of that runs, and
asyncpg (the ``postgres`` extra) is never imported.

HTTP routes live in ``server.http``, the token check in ``server.auth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from switchboard import __version__
from switchboard.engine.engine import Engine
from switchboard.engine.settings import EngineSettings
from switchboard.errors import SwitchboardError
from switchboard.extras import require
from switchboard.model.store import EventSink, Store
from switchboard.server.accounts import AccountRegistry
from switchboard.server.auth import Authenticator, redacted_logger
from switchboard.server.config import DATABASE_FILE, ServerSettings
from switchboard.server.groups import GroupRegistry
from switchboard.server.handlers import Handlers
from switchboard.server.history import EventHistory
from switchboard.server.http import INTERFACES, HttpRoutes
from switchboard.server.hub import Hub
from switchboard.server.metrics import ServerMetrics
from switchboard.server.revocation import RevocationWatch
from switchboard.server.session import Session
from switchboard.server.wslog import quiet_peer_faults
from switchboard.store.crypto import SecretBox, load_or_create_key
from switchboard.store.sqlite import SqliteStore

if TYPE_CHECKING:  # asyncpg (the ``postgres`` extra) is imported only when store_url is set
    from switchboard.server.cluster import ClusterLink

__all__ = ["ListenError", "ServerContext", "SwitchboardServer"]

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


@dataclass(eq=False)
class ServerContext:
    """What sessions and handlers share; one per server."""

    settings: ServerSettings
    store: Store
    engine: Engine
    hub: Hub
    accounts: AccountRegistry
    handlers: Handlers = field(init=False)
    sessions: set[Session] = field(default_factory=set)
    groups: GroupRegistry = field(init=False)
    authenticator: Authenticator = field(init=False)
    metrics: ServerMetrics = field(init=False)
    cluster: ClusterLink | None = None
    """This node's lease loop and event tail; ``None`` on a single node (SQLite)."""
    history: EventHistory = field(default_factory=lambda: EventHistory(0))
    """Each account's events in the log, for ``/api/accounts`` (survives restarts)."""

    def __post_init__(self) -> None:
        self.handlers = Handlers(self)
        self.groups = GroupRegistry(self.store, max_in_flight=self.settings.group_max_in_flight)
        self.hub.add_listener(self.groups.on_events)
        self.authenticator = Authenticator(self.settings.tokens, self.store)
        self.metrics = ServerMetrics(
            statuses=self.engine.statuses,
            sessions=lambda: tuple(self.sessions),
            events_announced=lambda: self.hub.published,
        )
        self.hub.latency.add_observer(self.metrics.observe_latency)

    async def session_closed(self, session: Session) -> None:
        """Forget a closed session: its subscriptions, its groups, its holds on accounts."""
        self.sessions.discard(session)
        self.hub.remove(session)
        await self.groups.leave(session)
        await self.accounts.release(session)


class SwitchboardServer:
    """The running server. Use ``async with SwitchboardServer(settings) as server:``."""

    def __init__(self, settings: ServerSettings, *, engine_settings: EngineSettings | None = None):
        self.settings = settings
        self._engine_settings = engine_settings or settings.engine_settings()
        self._context: ServerContext | None = None
        self._server: Server | None = None
        self._routes: HttpRoutes | None = None
        self._history_load: asyncio.Task[None] | None = None
        self._revocations: RevocationWatch | None = None
        self.node_id: str | None = None
        """This node's name in a cluster (``None`` on a single node); set by ``start``."""

    @property
    def context(self) -> ServerContext:
        """The shared state; only valid between ``start`` and ``stop``."""
        if self._context is None:
            raise RuntimeError("the server is not started")
        return self._context

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
            ConfigError: unsafe or impossible settings (a public address without tokens…).
            ListenError: the address cannot be bound (port in use, unknown host…).
        """
        settings = self.settings
        settings.check()
        if settings.store_url is not None:
            require("asyncpg", "the PostgreSQL store (--store postgresql://…)")
        if settings.store_url is None and not (settings.data_dir / DATABASE_FILE).exists():
            # No store yet, so no stored token: the loopback rule can be checked right away.
            settings.check_listen(store_has_tokens=False)
        server = await self._bind()
        try:
            await self._open(server)
        except BaseException:
            server.close()
            await server.wait_closed()
            self._server = None
            raise

    async def _bind(self) -> Server:
        """Bind the listening socket without accepting yet (``start_serving=False``)."""
        settings = self.settings
        try:
            # A frame may be a little over max_frame_bytes and still get a proper error
            # response; far beyond it, the WebSocket layer closes with 1009 before buffering it.
            self._server = await serve(
                self._handle,
                settings.host,
                settings.port,
                process_request=self._process_request,
                max_size=settings.max_frame_bytes * 4,
                compression=None,
                server_header=f"Switchboard/{__version__}",
                # websockets logs frames and headers at DEBUG: through a redacting logger; a
                # peer's failed handshake is one line, not a traceback (server.wslog).
                logger=quiet_peer_faults(redacted_logger()),
                start_serving=False,
            )
        except OSError as exc:
            raise ListenError(settings.host, settings.port, exc) from None
        return self._server

    async def _open(self, server: Server) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        box = SecretBox(load_or_create_key(settings.data_dir, settings.secret_key))
        store: Store
        if settings.store_url is not None:
            from switchboard.store.postgres import PostgresStore

            self.node_id = settings.resolved_node_id()
            # record() is then fenced by this node's leases (store.postgres.LeaseLost).
            store = await PostgresStore.open(settings.store_url, box, node_id=self.node_id)
        else:
            store = await SqliteStore.open(settings.data_dir / DATABASE_FILE, box)
        try:
            # Stored tokens count as configured, so this check waits for the store.
            settings.check_listen(store_has_tokens=await store.has_active_tokens())
        except BaseException:
            await store.close()
            raise
        # Events up to this id are read from the log in the background; the hub counts the rest.
        history = EventHistory(await store.last_event_id())
        hub = Hub()
        hub.add_listener(history.on_events)
        registry_ref: list[AccountRegistry] = []

        async def credentials_changed(config: Any) -> None:
            await registry_ref[0].credentials_changed(config)

        # In a cluster every event reaches the hub through the event tail, local ones too.
        sink: EventSink = hub
        if self.node_id is not None:
            from switchboard.cluster.tail import NullSink

            sink = NullSink()
        engine = Engine(
            store,
            sink,
            settings=self._engine_settings,
            on_credentials_changed=credentials_changed,
        )
        await engine.start()
        cluster = None
        if settings.store_url is not None and self.node_id is not None:
            from switchboard.server.cluster import ClusterLink

            cluster = ClusterLink(
                settings.store_url,
                self.node_id,
                store,
                engine,
                hub,
                lease_ttl_s=settings.lease_ttl_s,
            )
        registry = AccountRegistry(engine, store, settings, cluster=cluster)
        registry_ref.append(registry)
        self._context = ServerContext(
            settings, store, engine, hub, registry, cluster=cluster, history=history
        )
        try:
            self._history_load = asyncio.create_task(history.load(store), name="event-history")
            restored = await registry.restore()
            if cluster is not None:
                # Refuses (NodeIdTaken) when a live process already uses this node id.
                await cluster.start(registry, is_leased=registry.is_pinned)
            self._routes = HttpRoutes(self._context)
            # Sockets of a token revoked while they are open are closed within seconds.
            context = self._context
            self._revocations = RevocationWatch(store, lambda: tuple(context.sessions))
            self._revocations.start()
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
            "restored" if cluster is None else f"in the cluster; this is node {self.node_id}",
        )

    async def stop(self) -> None:
        """Close every session, log out of every IMAP connection, close the store."""
        if self._revocations is not None:
            await self._revocations.stop()
            self._revocations = None
        if self._server is not None:
            self._server.close(close_connections=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=10)
            self._server = None
        if self._context is not None:
            await self._context.groups.stop()
            if self._context.cluster is not None:
                # Leases go back only once their accounts stopped; the tail stops after them.
                await self._context.cluster.stop()
            await self._context.engine.stop()
            if self._history_load is not None:
                self._history_load.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._history_load
                self._history_load = None
            await self._context.store.close()
            self._context = None

    async def __aenter__(self) -> SwitchboardServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        assert self._server is not None
        await self._server.serve_forever()

    # -- WebSocket entry point ------------------------------------------------------------

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        # The socket is bound before the context exists, but accepts only once it does.
        assert self._routes is not None
        return await self._routes(connection, request)

    async def _handle(self, websocket: ServerConnection) -> None:
        path = urlsplit(websocket.request.path if websocket.request else "/").path
        interface = INTERFACES[path]
        authenticator = self.context.authenticator
        principal = authenticator.principal_of(websocket)
        if principal is None and websocket.request is not None:
            # HttpRoutes checks every upgrade; should a route ever skip it, check here too.
            principal = await authenticator.authenticate(websocket.request)
        if principal is None or not principal.may_open(path):
            await websocket.close(1008, "not authorized")
            return
        session = Session(interface, websocket, self.context, principal)
        self.context.sessions.add(session)
        await session.run()
