"""The Switchboard server: wires store, engine, hub and sessions together and serves HTTP/WebSocket.

``SwitchboardServer`` owns everything that lives as long as the process: the store (SQLite),
the engine (IMAP watchers), the hub (fan-out) and the account registry. ``start()`` opens the
store, starts the engine, restores the accounts workers had connected, then listens;
``stop()`` closes every WebSocket (1001), logs out of every IMAP connection and closes the store.

With ``store_url`` set the server is a cluster node (docs/scaling.md): the store is the
shared PostgreSQL, the engine's sink is a ``NullSink`` (the cluster's event tail publishes every
event, local or not, to the hub once), and a :class:`~switchboard.server.cluster.ClusterLink`
decides which pinned accounts this node's engine watches. Without it nothing of that runs.

HTTP routes live in ``server.http``, the token check in ``server.auth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve

from switchboard import __version__
from switchboard.cluster.tail import NullSink
from switchboard.engine.engine import Engine
from switchboard.engine.model import EventSink
from switchboard.engine.settings import EngineSettings
from switchboard.imap.tls import default_ssl_context
from switchboard.server.accounts import AccountRegistry
from switchboard.server.auth import Authenticator, redacted_logger
from switchboard.server.cluster import ClusterLink
from switchboard.server.config import ServerSettings
from switchboard.server.groups import GroupRegistry
from switchboard.server.handlers import Handlers
from switchboard.server.http import INTERFACES, HttpRoutes
from switchboard.server.hub import Hub
from switchboard.server.session import Session
from switchboard.store.base import Store
from switchboard.store.crypto import SecretBox, load_or_create_key
from switchboard.store.postgres import PostgresStore
from switchboard.store.sqlite import SqliteStore

__all__ = ["ServerContext", "SwitchboardServer"]

logger = logging.getLogger("switchboard.server")


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
    cluster: ClusterLink | None = None
    """This node's lease loop and event tail; ``None`` on a single node (SQLite)."""

    def __post_init__(self) -> None:
        self.handlers = Handlers(self)
        self.groups = GroupRegistry(self.store, max_in_flight=self.settings.group_max_in_flight)
        self.hub.add_listener(self.groups.on_events)
        self.authenticator = Authenticator(self.settings.tokens, self.store)

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
        """Open the store, start the engine, restore accounts, listen."""
        settings = self.settings
        settings.check()
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        box = SecretBox(load_or_create_key(settings.data_dir, settings.secret_key))
        store: Store
        if settings.store_url is not None:
            self.node_id = settings.resolved_node_id()
            # record() is then fenced by this node's leases (store.postgres.LeaseLost).
            store = await PostgresStore.open(settings.store_url, box, node_id=self.node_id)
        else:
            store = await SqliteStore.open(settings.data_dir / "switchboard.db", box)
        try:
            # Stored tokens count as configured, so this check waits for the store.
            settings.check_listen(store_has_tokens=await store.has_active_tokens())
        except BaseException:
            await store.close()
            raise
        hub = Hub()
        registry_ref: list[AccountRegistry] = []

        async def credentials_changed(config: Any) -> None:
            await registry_ref[0].credentials_changed(config)

        # In a cluster every event reaches the hub through the event tail, local ones too.
        sink: EventSink = hub if self.node_id is None else NullSink()
        engine = Engine(
            store,
            sink,
            settings=self._engine_settings,
            ssl_context_factory=default_ssl_context,
            on_credentials_changed=credentials_changed,
        )
        await engine.start()
        cluster = None
        if settings.store_url is not None and self.node_id is not None:
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
        self._context = ServerContext(settings, store, engine, hub, registry, cluster=cluster)
        try:
            restored = await registry.restore()
            if cluster is not None:
                # Refuses (NodeIdTaken) when a live process already uses this node id.
                await cluster.start(registry, is_leased=registry.is_pinned)
            # A frame may be a little over max_frame_bytes and still get a proper error
            # response; far beyond it, the WebSocket layer closes with 1009 before buffering.
            self._server = await serve(
                self._handle,
                settings.host,
                settings.port,
                process_request=HttpRoutes(self._context),
                max_size=settings.max_frame_bytes * 4,
                compression=None,
                server_header=f"Switchboard/{__version__}",
                # websockets logs frames and headers at DEBUG: through a redacting logger.
                logger=redacted_logger(),
            )
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
