"""The one place that builds the server's parts and hands each its collaborators.

Every part gets what it works with as constructor arguments — often a narrow Protocol of another
part (a session sees the hub as ``Subscriptions``, the handlers see the store as ``LogHorizon``) —
so no part reaches for a shared bag of everything, and no server module needs this one but
:mod:`switchboard.server.app`. The order of construction is the order of need:

1. the hub (the engine's sink, or the placement's tail's) and the event history on it;
2. the account book, and the keeper of rotated OAuth2 tokens the engine calls back;
3. the engine, publishing where the placement says;
4. the account registry (book, engine, store, placement), the groups, the handlers;
5. the open sessions (a closed one releases what it held), the metrics, the HTTP routes and
   the revocation watch, all reading the open sessions;
6. JMAP: the accounts' states (a hub listener, so push runs on the same wake as
   ``newMessage``), the method registry — where JMAP methods are registered — the blob
   source downloads read, the JMAP authentication and endpoints, handed to the HTTP routes.

Nothing here starts anything: :class:`~switchboard.server.app.SwitchboardServer` starts and
stops the parts in their order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from switchboard.engine.engine import Engine
from switchboard.engine.jmapreader import JmapReader
from switchboard.engine.settings import EngineSettings
from switchboard.jmap.capabilities import CoreCapability
from switchboard.jmap.state import StateCodec
from switchboard.model.store import Store
from switchboard.server.accountbook import AccountBook
from switchboard.server.accountconfig import ImapPolicy
from switchboard.server.accounts import AccountRegistry
from switchboard.server.auth import Authenticator
from switchboard.server.config import ServerSettings
from switchboard.server.credentials import RotatedCredentials
from switchboard.server.groups import GroupRegistry
from switchboard.server.handlers import Handlers
from switchboard.server.history import EventHistory
from switchboard.server.http import HttpRoutes
from switchboard.server.hub import Hub
from switchboard.server.jmap.blobs import ImapBlobs
from switchboard.server.jmap.callers import JmapAuthenticator
from switchboard.server.jmap.mail import register_mail_reads
from switchboard.server.jmap.mailbase import MailServices
from switchboard.server.jmap.mailsync import MailSync
from switchboard.server.jmap.otherclients import OtherClients
from switchboard.server.jmap.registry import BlobSource, MethodRegistry
from switchboard.server.jmap.routes import JmapRoutes
from switchboard.server.jmap.service import JmapService
from switchboard.server.jmap.states import LogStates, journal_epoch
from switchboard.server.jmap.streams import OpenStreams
from switchboard.server.metrics import ServerMetrics
from switchboard.server.placement import AccountPlacement, PlacementParts
from switchboard.server.revocation import RevocationWatch
from switchboard.server.session import Session, SessionLimits, SessionServices

__all__ = ["OpenSessions", "ServerParts", "build_parts"]


class OpenSessions:
    """The server's open sessions; one that closes gives back what it held.

    Args:
        hub: forgets its subscriptions.
        groups: take it out of its group (what it held goes to another member).
        accounts: drop its watches and holds (an account nobody holds stops).
    """

    def __init__(self, hub: Hub, groups: GroupRegistry, accounts: AccountRegistry) -> None:
        self._hub = hub
        self._groups = groups
        self._accounts = accounts
        self._sessions: set[Session] = set()

    def add(self, session: Session) -> None:
        """A session opened."""
        self._sessions.add(session)

    def __iter__(self) -> Iterator[Session]:
        return iter(tuple(self._sessions))

    def __len__(self) -> int:
        return len(self._sessions)

    async def closed(self, session: Session) -> None:
        """Forget a closed session: its subscriptions, its groups, its holds on accounts."""
        self._sessions.discard(session)
        self._hub.remove(session)
        await self._groups.leave(session)
        await self._accounts.release(session)


@dataclass(eq=False, slots=True)
class ServerParts:
    """Everything one server is made of, as :func:`build_parts` connected it.

    The server starts and stops them; tests and benchmarks may look at them. No part is given
    this object.
    """

    settings: ServerSettings
    store: Store
    placement: AccountPlacement
    hub: Hub
    history: EventHistory
    engine: Engine
    accounts: AccountRegistry
    groups: GroupRegistry
    handlers: Handlers
    authenticator: Authenticator
    sessions: OpenSessions
    services: SessionServices
    metrics: ServerMetrics
    routes: HttpRoutes
    revocations: RevocationWatch
    jmap_states: LogStates
    jmap_methods: MethodRegistry
    jmap_others: OtherClients
    jmap: JmapRoutes

    def placement_parts(self) -> PlacementParts:
        """What the placement works with once it starts."""
        return PlacementParts(self.store, self.engine, self.hub, self.accounts)


def build_parts(
    settings: ServerSettings,
    engine_settings: EngineSettings,
    store: Store,
    placement: AccountPlacement,
    *,
    history_horizon: int,
    jmap_epoch: str,
    blobs: BlobSource | None = None,
) -> ServerParts:
    """Build and connect every part of a server over an open ``store``; start nothing.

    Args:
        settings: the server's settings.
        engine_settings: the engine's.
        store: the open store.
        placement: where pinned accounts are watched.
        history_horizon: the store's last event id: the history reads the log up to it.
        jmap_epoch: the name of this event log in JMAP state strings
            (:func:`~switchboard.server.jmap.states.epoch_for_key`).
        blobs: where JMAP downloads come from; by default the accounts' IMAP servers.
    """
    hub = Hub()
    history = EventHistory(history_horizon)
    hub.add_listener(history.on_events)

    book = AccountBook()
    engine = Engine(
        store,
        placement.engine_sink(hub),
        settings=engine_settings,
        on_credentials_changed=RotatedCredentials(book, store, placement),
    )
    accounts = AccountRegistry(book, engine, store, placement)
    groups = GroupRegistry(store, max_in_flight=settings.group_max_in_flight)
    hub.add_listener(groups.on_events)
    handlers = Handlers(
        accounts=accounts,
        reader=engine.reader,
        groups=groups,
        log=store,
        imap_policy=ImapPolicy.of(settings),
        group_visibility_timeout_s=settings.group_visibility_timeout_s,
    )

    sessions = OpenSessions(hub, groups, accounts)
    jmap_streams = OpenStreams()
    jmap_methods = MethodRegistry()  # Core/echo; the JMAP mail methods register here
    metrics = ServerMetrics(
        statuses=engine.statuses,
        sessions=lambda: tuple(sessions),
        events_announced=lambda: hub.published,
        jmap_streams=jmap_streams.counts,
        jmap_methods=jmap_methods.names,
    )
    hub.latency.add_observer(metrics.observe_latency)
    services = SessionServices(
        limits=SessionLimits.of(settings),
        commands=handlers,
        hub=hub,
        log=store,
        metrics=metrics,
        closed=sessions.closed,
    )
    authenticator = Authenticator(settings.tokens, store)

    jmap_states = LogStates(StateCodec(journal_epoch(jmap_epoch)))
    hub.add_listener(jmap_states.on_events)
    jmap_core = CoreCapability()
    jmap_reader = JmapReader(engine.reader)
    register_mail_reads(jmap_methods, MailServices(jmap_reader, accounts, jmap_core))
    other_clients = OtherClients(accounts, engine.modseq, jmap_states)
    jmap_states.on_first_use(other_clients.prime)
    MailSync(
        accounts,
        engine.reader,
        engine.writer,
        jmap_states,
        max_objects_in_set=jmap_core.max_objects_in_set,
        others=other_clients,
    ).register(jmap_methods)
    jmap_service = JmapService(accounts, jmap_methods, jmap_states, jmap_core, metrics)
    jmap = JmapRoutes(
        JmapAuthenticator(
            authenticator,
            accounts,
            ImapPolicy.of(settings),
            settings.jmap_imap_address(),
            on_login=metrics.count_basic_login,
        ),
        jmap_service,
        jmap_states,
        blobs or ImapBlobs(jmap_reader, accounts),
        jmap_streams,
    )
    routes = HttpRoutes(
        authenticator=authenticator,
        metrics=metrics,
        sessions=sessions.__len__,
        history=history,
        engine=engine,
        accounts=accounts,
        placement=placement,
        latency=hub.latency,
        jmap=jmap,
    )
    # Sockets of a token revoked while they are open are closed within seconds.
    # So are JMAP WebSockets and EventSource streams opened with such a token.
    revocations = RevocationWatch(store, lambda: (*sessions, *jmap.streams))
    return ServerParts(
        settings=settings,
        store=store,
        placement=placement,
        hub=hub,
        history=history,
        engine=engine,
        accounts=accounts,
        groups=groups,
        handlers=handlers,
        authenticator=authenticator,
        sessions=sessions,
        services=services,
        metrics=metrics,
        routes=routes,
        revocations=revocations,
        jmap_states=jmap_states,
        jmap_methods=jmap_methods,
        jmap_others=other_clients,
        jmap=jmap,
    )
