"""One account's supervisor: its watchers, warm command connection, OAuth2 tokens and status.

The supervisor owns every task and connection of the account: :meth:`AccountSupervisor.stop`
cancels and awaits the watchers (each LOGOUTs) and logs the command connection out. The
account's state is derived, never stored: the worst of its watchers' states and of the command
connection's last outcome (see :data:`~switchboard.engine.state.SEVERITY`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from switchboard.engine.admission import AdmissionControl
from switchboard.engine.backoff import Backoff
from switchboard.engine.connector import AccountConnector, SslContextFactory, close_connection
from switchboard.engine.errors import ConnectionFailed, OAuth2Unavailable, UnknownAccount
from switchboard.engine.oauth2 import OAuth2Credentials, TokenRefresher
from switchboard.engine.providers import lookup_profile
from switchboard.engine.settings import EngineSettings
from switchboard.engine.state import AccountState, AccountStatus, worst_state
from switchboard.engine.watcher import MailboxWatcher
from switchboard.imap.connection import ConnectionState, ImapConnection
from switchboard.imap.errors import AuthenticationFailed, ConnectionLost, ImapTimeout
from switchboard.model.accounts import AccountConfig, OAuth2Auth
from switchboard.model.events import Checkpoint
from switchboard.model.store import CheckpointStore, EventSink

__all__ = ["AccountSupervisor", "WatchResult"]

logger = logging.getLogger(__name__)

S = AccountState


@dataclass(frozen=True, slots=True)
class WatchResult:
    """Which requested mailboxes are now watched, and which could not be (missing, no select)."""

    watching: tuple[str, ...]
    failed: tuple[str, ...]


class AccountSupervisor:
    """Supervises one account.

    Args:
        config: the account.
        store, sink: where events go.
        settings: engine settings.
        admission: the engine's shared admission control.
        ssl_context_factory: TLS contexts.
        refresher: the OAuth2 token refresher.
        on_credentials_changed: awaited with the new config after an OAuth2 refresh.
        live_watchers: the engine's map of every watcher started and not yet stopped to its
            supervisor; this one adds and removes its own (so the engine sees what runs).
        command_connection: an authenticated connection to start with (``Engine.verify``'s),
            used as the command connection and handed to the first watcher ``watch()``
            starts.
        clock, wall_clock, sleep: injected time.
    """

    def __init__(
        self,
        config: AccountConfig,
        *,
        store: CheckpointStore,
        sink: EventSink,
        settings: EngineSettings,
        admission: AdmissionControl,
        ssl_context_factory: SslContextFactory,
        refresher: TokenRefresher,
        on_credentials_changed: Callable[[AccountConfig], Awaitable[None]] | None,
        live_watchers: dict[MailboxWatcher, AccountSupervisor] | None = None,
        command_connection: ImapConnection | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._sink = sink
        self._settings = settings
        self._admission = admission
        self._ssl_context_factory = ssl_context_factory
        self._refresher = refresher
        self._on_credentials_changed = on_credentials_changed
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self.counters: collections.Counter[str] = collections.Counter()
        self._watchers: dict[str, MailboxWatcher] = {}
        self._live = live_watchers if live_watchers is not None else {}
        self._retiring: set[MailboxWatcher] = set()  # being stopped right now
        self._command_conn: ImapConnection | None = None
        self._command_lock = asyncio.Lock()
        # Closes the command connection once unused for command_idle_close_s (None: no
        # connection, or no timer needed); _command_used_at is the injected clock's time.
        self._command_closer: asyncio.Task[None] | None = None
        self._command_used_at = 0.0
        # The command connection's last outcome; part of the derived account state.
        self._command_state = S.IDLE
        self._command_error: str | None = None
        self._stopped = False
        self._handoff_closers: set[asyncio.Task[None]] = set()
        self._config = config
        self._credentials: OAuth2Credentials | None = None
        self.connector = self._make_connector(config)
        if command_connection is not None:
            self._command_conn = command_connection
            self._command_used_at = clock()
            self._arm_command_closer()

    # ------------------------------------------------------------------ config

    @property
    def config(self) -> AccountConfig:
        """The account's current config (with the latest OAuth2 tokens)."""
        return self._config

    def _make_connector(self, config: AccountConfig) -> AccountConnector:
        if isinstance(config.auth, OAuth2Auth):
            if self._credentials is None:
                self._credentials = OAuth2Credentials(
                    config.auth,
                    self._refresher,
                    on_refreshed=self._tokens_refreshed,
                    backoff=Backoff(
                        self._settings.backoff_initial_s * 5, self._settings.backoff_cap_s
                    ),
                    clock=self._clock,
                    wall_clock=self._wall_clock,
                )
            else:
                self._credentials.replace_auth(config.auth)
        else:
            self._credentials = None
        return AccountConnector(
            config,
            self._settings,
            self._admission,
            self._ssl_context_factory,
            credentials=self._credentials,
            counters=self.counters,
        )

    async def _tokens_refreshed(self, auth: OAuth2Auth) -> None:
        self.counters["oauth2_refreshes"] += 1
        self._config = replace(self._config, auth=auth)
        self.connector.config = self._config
        if self._on_credentials_changed is not None:
            await self._on_credentials_changed(self._config)

    async def update(self, config: AccountConfig) -> None:
        """Adopt new credentials: restart every watcher and drop the command connection."""
        mailboxes = tuple(self._watchers)
        await self._stop_watchers(mailboxes)
        await self._drop_command_connection()
        self._config = config
        self.connector = self._make_connector(config)
        self._command_state, self._command_error = S.IDLE, None
        for mailbox in mailboxes:
            self._start_watcher(mailbox)

    # ------------------------------------------------------------------ watchers

    @property
    def idle_refresh_s(self) -> float:
        """The effective IDLE refresh: the smaller of the settings' and the provider's."""
        profile = lookup_profile(self._config.provider, self._config.host)
        return min(self._settings.idle_refresh_s, profile.idle_refresh_s)

    def watched(self) -> tuple[str, ...]:
        """The mailboxes with a live watcher, in the order they were added."""
        return tuple(self._watchers)

    def _start_watcher(self, mailbox: str, connection: ImapConnection | None = None) -> None:
        if self._stopped:
            # A watch() or update() that was under way when stop() ran must not start a
            # watcher nobody would ever stop (it would hold an IDLE session forever).
            if connection is not None:
                self._closing_handoff(connection)
            return
        watcher = MailboxWatcher(
            self._config.account_id,
            mailbox,
            connector=self.connector,
            store=self._store,
            sink=self._sink,
            settings=self._settings,
            idle_refresh_s=self.idle_refresh_s,
            counters=self.counters,
            on_gone=self._watcher_gone,
            connection=connection,
            clock=self._clock,
            wall_clock=self._wall_clock,
            sleep=self._sleep,
        )
        self._watchers[mailbox] = watcher
        self._live[watcher] = self
        watcher.start()

    def _watcher_gone(self, mailbox: str) -> None:
        # The watcher's task is ending by itself; forget it so the account goes on without it.
        watcher = self._watchers.pop(mailbox, None)
        if watcher is not None:
            self._live.pop(watcher, None)

    async def _stop_watchers(self, mailboxes: Collection[str]) -> None:
        watchers = [self._watchers.pop(m) for m in mailboxes if m in self._watchers]
        self._retiring.update(watchers)
        try:
            await asyncio.gather(*(w.stop() for w in watchers))
        finally:
            self._retiring.difference_update(watchers)
            for watcher in watchers:
                self._live.pop(watcher, None)

    def owns(self, watcher: MailboxWatcher) -> bool:
        """Whether ``watcher`` is one of this supervisor's watchers (running or stopping)."""
        return self._watchers.get(watcher.mailbox) is watcher or watcher in self._retiring

    async def watch(self, mailboxes: Collection[str]) -> WatchResult:
        """Replace the watched set with ``mailboxes`` (raw names); see ``Engine.watch``.

        Raises:
            UnknownAccount: the supervisor was stopped (the account removed) meanwhile.
            ConnectionFailed: the command connection could not be opened.
            AuthenticationFailed: the server refused the credentials.
        """
        wanted = list(dict.fromkeys(mailboxes))
        async with self.command_connection() as conn:
            items = await conn.list("", "*")
            selectable: dict[str, str] = {}
            for item in items:
                flags = {f.lower() for f in item.flags}
                if "\\noselect" in flags or "\\nonexistent" in flags:
                    continue
                key = "INBOX" if item.name.upper() == "INBOX" else item.name
                selectable[key] = item.name
            ok: list[str] = []
            failed: list[str] = []
            profile = lookup_profile(self._config.provider, self._config.host)
            # Watchers plus the command connection must fit the provider's connection limit.
            limit = None if profile.max_connections is None else profile.max_connections - 1
            for name in wanted:
                key = "INBOX" if name.upper() == "INBOX" else name
                if key not in selectable or (limit is not None and len(ok) >= limit):
                    failed.append(name)
                    continue
                ok.append(key)
                if key not in self._watchers:
                    await self._ensure_baseline(conn, key)
        if self._stopped:
            # stop() ran while we listed: the account is gone, and so must its watchers be.
            raise UnknownAccount(f"account {self._config.account_id!r} was removed")
        await self._stop_watchers([m for m in self._watchers if m not in ok])
        new = [name for name in ok if name not in self._watchers]
        # The command connection just served LIST and STATUS; rather than logging it out
        # when idle and opening a new one for the first watcher, it becomes that watcher's
        # IDLE connection (the next command opens a fresh one): a new account's verify login
        # is then its only handshake.
        handoff = await self._take_command_connection() if new else None
        for name in new:
            self._start_watcher(name, handoff)
            handoff = None
        return WatchResult(tuple(ok), tuple(failed))

    async def _take_command_connection(self) -> ImapConnection | None:
        """The command connection, taken away from commands, if nobody uses it and it is fit."""
        if self._command_lock.locked():
            return None  # a command is running on it: the watcher opens its own
        async with self._command_lock:
            conn = self._command_conn
            if conn is None or conn.state is not ConnectionState.AUTHENTICATED:
                return None  # none, or SELECTED by a reader, say: keep it for them
            self._command_conn = None
            # Nothing left to close: the closer's wake-up would be wasted (it waits, never
            # closes, while we hold the lock).
            closer, self._command_closer = self._command_closer, None
            if closer is not None:
                closer.cancel()
            return conn

    def _closing_handoff(self, conn: ImapConnection) -> None:
        task = asyncio.get_running_loop().create_task(
            close_connection(conn, logout_timeout_s=self._settings.stop_timeout_s / 2)
        )
        self._handoff_closers.add(task)
        task.add_done_callback(self._handoff_closers.discard)

    def resume(self, mailboxes: Collection[str]) -> tuple[str, ...]:
        """Watch ``mailboxes`` again, as they were watched before a restart; no I/O here.

        Unlike :meth:`watch` nothing is checked first (that needs the server): each watcher
        connects on its own, catches up from its durable checkpoint, and retries on its backoff
        schedule while the server is unreachable or refuses the credentials. A mailbox deleted
        meanwhile is reported gone by its watcher, which then stops. Returns the mailboxes now
        watched; names beyond the provider's connection limit are left out.
        """
        profile = lookup_profile(self._config.provider, self._config.host)
        limit = None if profile.max_connections is None else profile.max_connections - 1
        for name in dict.fromkeys(mailboxes):
            key = "INBOX" if name.upper() == "INBOX" else name
            if key in self._watchers:
                continue
            if limit is not None and len(self._watchers) >= limit:
                break
            self._start_watcher(key)
        return self.watched()

    async def _ensure_baseline(self, conn: ImapConnection, mailbox: str) -> None:
        # The watch starts now: mail already there is never announced, mail arriving after
        # watch() returns always is — even before the watcher's own SELECT.
        if await self._store.load_checkpoint(self._config.account_id, mailbox) is not None:
            return
        status = await conn.status(mailbox, ("UIDNEXT", "UIDVALIDITY"))
        baseline = Checkpoint(status["UIDVALIDITY"], max(0, status.get("UIDNEXT", 1) - 1))
        await self._store.record(self._config.account_id, mailbox, baseline, [])

    # ------------------------------------------------------------------ command connection

    @asynccontextmanager
    async def command_connection(self) -> AsyncIterator[ImapConnection]:
        """The account's authenticated command connection, one user at a time.

        Raises:
            UnknownAccount: the supervisor was stopped (no connection opens after that).
            ConnectionFailed: it could not be opened, or it broke while in use.
            AuthenticationFailed: the server refused the credentials.
        """
        async with self._command_lock:
            if self._stopped:
                # stop() has closed (or is about to close) the connection; a new one would
                # never be closed.
                raise UnknownAccount(f"account {self._config.account_id!r} was removed")
            conn = await self._usable_command_connection()
            try:
                yield conn
            except (ConnectionLost, ImapTimeout) as exc:
                await self._drop_command_connection()
                self._command_state, self._command_error = S.ERROR, str(exc)
                raise ConnectionFailed(
                    f"{self._config.host}:{self._config.port}: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                self._command_used_at = self._clock()
                self._arm_command_closer()

    def _arm_command_closer(self) -> None:
        # An idle account needs only its IDLE connections: a warm command connection doubles
        # its memory and file descriptors (measured in bench/capacity.py), so it is kept only
        # while it is in use now and then.
        if self._stopped or self._command_conn is None:
            return
        if self._command_closer is None or self._command_closer.done():
            self._command_closer = asyncio.create_task(
                self._close_idle_command_connection(),
                name=f"close idle command connection {self._config.account_id}",
            )

    async def _close_idle_command_connection(self) -> None:
        close_s = self._settings.command_idle_close_s
        while True:
            wait_s = self._command_used_at + close_s - self._clock()
            if wait_s > 0:
                await self._sleep(wait_s)
                continue
            async with self._command_lock:
                if self._clock() - self._command_used_at < close_s:
                    continue  # used while we waited for the lock
                # From here the task only closes: stop() waits for it instead of cancelling
                # it half way through the LOGOUT (which would leak the socket).
                self._command_closer = None
                await self._drop_command_connection()
                return

    async def _usable_command_connection(self) -> ImapConnection:
        conn = self._command_conn
        if conn is not None and conn.state in (ConnectionState.LOGOUT, ConnectionState.CLOSED):
            conn = self._command_conn = None
        # last_received_at is the connection's own time.monotonic(), not our injected clock.
        quiet_s = time.monotonic() - conn.last_received_at if conn is not None else 0.0
        if conn is not None and quiet_s > self._settings.probe_quiet_s:
            # Quiet for a while: servers autologout idle sessions; probe before handing it out.
            try:
                async with asyncio.timeout(self._settings.liveness_grace_s):
                    await conn.noop()
            except (ConnectionLost, ImapTimeout, TimeoutError):
                await self._drop_command_connection()
                conn = None
        if conn is None:
            try:
                conn = await self.connector.connect()
            except AuthenticationFailed as exc:
                self._command_state, self._command_error = S.AUTH_FAILED, str(exc)
                raise
            except (ConnectionFailed, OAuth2Unavailable) as exc:
                self._command_state, self._command_error = S.BACKOFF, str(exc)
                if isinstance(exc, OAuth2Unavailable):
                    raise ConnectionFailed(str(exc)) from exc
                raise
            self._command_conn = conn
            self._command_state, self._command_error = S.IDLE, None
        return conn

    async def _drop_command_connection(self) -> None:
        conn, self._command_conn = self._command_conn, None
        if conn is not None:
            await close_connection(conn, logout_timeout_s=self._settings.stop_timeout_s / 2)

    # ------------------------------------------------------------------ lifecycle, status

    async def stop(self) -> None:
        """Stop every watcher (LOGOUT) and log the command connection out."""
        self._stopped = True
        closer, self._command_closer = self._command_closer, None
        if closer is not None:  # still waiting (not closing): safe to cancel
            closer.cancel()
            await asyncio.gather(closer, return_exceptions=True)
        await self._stop_watchers(tuple(self._watchers))
        async with self._command_lock:
            await self._drop_command_connection()
        await asyncio.gather(*self._handoff_closers, return_exceptions=True)

    def status(self) -> AccountStatus:
        """A snapshot of the account and its watchers."""
        mailboxes = tuple(w.status() for w in self._watchers.values())
        if self._stopped:
            state = S.STOPPED
        else:
            state = worst_state([m.state for m in mailboxes] + [self._command_state], S.IDLE)
        errors = [m.last_error for m in mailboxes if m.last_error] + (
            [self._command_error] if self._command_error else []
        )
        event_times = [m.last_event_at for m in mailboxes if m.last_event_at is not None]
        retries = [m.retry_at for m in mailboxes if m.retry_at is not None]
        return AccountStatus(
            account_id=self._config.account_id,
            host=self._config.host,
            port=self._config.port,
            state=state,
            last_error=errors[0] if errors else None,
            mailboxes=mailboxes,
            counters=dict(self.counters),
            last_event_at=max(event_times, default=None),
            retry_at=min(retries, default=None),
        )
