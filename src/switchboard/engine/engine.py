"""The engine: one supervisor per account, watching mailboxes and announcing new mail exactly once.

This is the face the server calls. It holds the accounts' supervisors, the shared admission
control and OAuth2 refresher, the reader (:attr:`Engine.reader`: mailboxes and messages read
for the server), and the injected clock and sleep; everything else lives in
:mod:`~switchboard.engine.supervisor`, :mod:`~switchboard.engine.watcher`,
:mod:`~switchboard.engine.reader` and :mod:`~switchboard.engine.connector`. Every task belongs
to a supervisor, which cancels and awaits it on removal; :meth:`Engine.stop` stops every
supervisor, bounded in time. Only the engine's own errors (:mod:`switchboard.engine.errors`)
leave it: the IMAP layer's are translated on the way out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import replace

from switchboard.engine.admission import AdmissionControl
from switchboard.engine.backoff import Backoff
from switchboard.engine.connector import AccountConnector, SslContextFactory, close_connection
from switchboard.engine.errors import (
    ConnectionFailed,
    OAuth2Unavailable,
    UnknownAccount,
    engine_errors,
)
from switchboard.engine.modseq import ModseqReader
from switchboard.engine.oauth2 import HttpTokenRefresher, OAuth2Credentials, TokenRefresher
from switchboard.engine.reader import MailReader
from switchboard.engine.settings import EngineSettings
from switchboard.engine.state import AccountStatus
from switchboard.engine.supervisor import AccountSupervisor, WatchResult
from switchboard.engine.watcher import MailboxWatcher
from switchboard.engine.writer import MailWriter
from switchboard.imap.connection import ImapConnection
from switchboard.imap.tls import default_ssl_context
from switchboard.model.accounts import AccountConfig, OAuth2Auth
from switchboard.model.store import CheckpointStore, EventSink

__all__ = ["Engine", "WatchResult"]

logger = logging.getLogger(__name__)


class Engine:
    """Watches the mailboxes of many accounts and records and publishes their new mail.

    Args:
        store: checkpoints and the event log (``record`` is the atomic announce step).
        sink: receives events once they are durable.
        settings: timeouts, backoff, rates, limits.
        ssl_context_factory: ``(ca_file, verify) -> SSLContext``; by default the system's
            trust store (``imap.tls.default_ssl_context``).
        clock: monotonic seconds; wall_clock: Unix time; sleep: the sleep coroutine.
        on_credentials_changed: awaited with an account's new config whenever OAuth2 tokens
            were refreshed (to store a rotated refresh token).
        token_refresher: how OAuth2 tokens are refreshed (HTTP by default).
    """

    def __init__(
        self,
        store: CheckpointStore,
        sink: EventSink,
        *,
        settings: EngineSettings = EngineSettings(),  # noqa: B008 - immutable value
        ssl_context_factory: SslContextFactory = default_ssl_context,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        on_credentials_changed: Callable[[AccountConfig], Awaitable[None]] | None = None,
        token_refresher: TokenRefresher | None = None,
    ) -> None:
        self._store = store
        self._sink = sink
        self.settings = settings
        self._ssl_context_factory = ssl_context_factory
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._on_credentials_changed = on_credentials_changed
        self._refresher = token_refresher or HttpTokenRefresher(
            timeout_s=settings.connect_timeout_s, wall_clock=wall_clock
        )
        self._admission = AdmissionControl(
            settings.connect_rate_per_s,
            settings.connect_rate_per_host_per_s,
            clock=clock,
            sleep=sleep,
        )
        self._supervisors: dict[str, AccountSupervisor] = {}
        # Connections verify() logged in, kept for the add_account() that usually follows
        # (account id -> the config it was verified with, the connection, its closing timer):
        # one TLS handshake and login per new account instead of three.
        self._parked: dict[str, tuple[AccountConfig, ImapConnection, asyncio.TimerHandle]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # Every watcher started and not yet stopped, whichever supervisor started it: what
        # the engine really watches, even should a supervisor ever lose track of one.
        self._live_watchers: dict[MailboxWatcher, AccountSupervisor] = {}
        self.reader = MailReader(self._reading_connection)
        """Reads mailboxes and messages of any account for the server (:class:`MailReader`)."""
        self.writer = MailWriter(self._reading_connection)
        """Changes flags, moves and deletes messages for the server (:class:`MailWriter`)."""
        self.modseq = ModseqReader(self._reading_connection)
        """Reads what other IMAP clients changed, with CONDSTORE (:class:`ModseqReader`)."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the engine (accounts may be added before or after)."""

    async def stop(self) -> None:
        """Stop every account: watchers LOGOUT, command connections close; bounded in time."""
        supervisors = list(self._supervisors.values())
        self._supervisors.clear()
        for account_id in list(self._parked):
            self._unpark(account_id, close=True)
        try:
            async with asyncio.timeout(self.settings.stop_timeout_s * 2):
                await asyncio.gather(*(s.stop() for s in supervisors), *self._closing)
        except TimeoutError:
            logger.warning("engine stop exceeded its bound; some connections were not closed")

    # ------------------------------------------------------------------ accounts

    async def verify(self, config: AccountConfig) -> AccountConfig:
        """Connect and authenticate once; return the config with fresh tokens.

        The logged-in connection is not thrown away: the :meth:`add_account` of the same
        account and config that usually follows takes it as the account's command connection
        (and ``watch()`` then hands it to the first watcher as its IDLE connection), so a new
        account costs one TLS handshake and login, not three. Unclaimed, it is logged out
        after ``command_idle_close_s``, like any idle command connection.

        Raises:
            AuthenticationFailed: the server (or the OAuth2 token endpoint) refused the
                credentials.
            ConnectionFailed: TCP/TLS failure, timeout, or the token endpoint was unreachable.
            ImapFailure: the server answered the login with something else than OK or NO.
        """
        with engine_errors(config.host, config.port):
            conn, refreshed = await self._connect_once(config)
        verified = refreshed or config
        self._unpark(config.account_id, close=True)
        timer = asyncio.get_running_loop().call_later(
            self.settings.command_idle_close_s, self._unpark, config.account_id, True
        )
        self._parked[config.account_id] = (verified, conn, timer)
        return verified

    def _unpark(self, account_id: str, close: bool) -> ImapConnection | None:
        """Take the connection :meth:`verify` left for ``account_id``; with ``close``, log it
        out in the background instead (tracked, so that :meth:`stop` waits for it)."""
        parked = self._parked.pop(account_id, None)
        if parked is None:
            return None
        _, conn, timer = parked
        timer.cancel()
        if not close:
            return conn
        task = asyncio.get_running_loop().create_task(
            close_connection(conn, logout_timeout_s=self.settings.stop_timeout_s / 2),
            name=f"log out the verify connection of {account_id}",
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return None

    async def _connect_once(
        self, config: AccountConfig
    ) -> tuple[ImapConnection, AccountConfig | None]:
        """Open one authenticated connection outside any supervisor.

        Returns the connection and, when OAuth2 tokens were refreshed to open it, the config
        holding the fresh ones (``None`` otherwise).

        Raises:
            AuthenticationFailed: the credentials were refused.
            ConnectionFailed: TCP/TLS failure, timeout, or the token endpoint was unreachable.
        """
        refreshed: list[AccountConfig] = []

        async def keep(auth: OAuth2Auth) -> None:
            refreshed.append(replace(config, auth=auth))

        credentials = None
        if isinstance(config.auth, OAuth2Auth):
            credentials = OAuth2Credentials(
                config.auth,
                self._refresher,
                on_refreshed=keep,
                backoff=Backoff(0.0, 1.0),
                clock=self._clock,
                wall_clock=self._wall_clock,
            )
        connector = AccountConnector(
            config,
            self.settings,
            self._admission,
            self._ssl_context_factory,
            credentials=credentials,
        )
        try:
            conn = await connector.connect()
        except OAuth2Unavailable as exc:
            raise ConnectionFailed(str(exc)) from exc
        return conn, refreshed[-1] if refreshed else None

    def add_account(self, config: AccountConfig) -> None:
        """Add an account (its supervisor starts without watches); replaces nothing.

        Raises:
            ValueError: an account with this id already exists (use :meth:`update_account`).
        """
        if config.account_id in self._supervisors:
            raise ValueError(f"account {config.account_id!r} already exists")
        parked = self._parked.get(config.account_id)
        connection = None
        if parked is not None:
            # Only a connection logged in with exactly this config may serve the account.
            connection = self._unpark(config.account_id, close=parked[0] != config)
        self._supervisors[config.account_id] = AccountSupervisor(
            config,
            store=self._store,
            sink=self._sink,
            settings=self.settings,
            admission=self._admission,
            ssl_context_factory=self._ssl_context_factory,
            refresher=self._refresher,
            on_credentials_changed=self._on_credentials_changed,
            live_watchers=self._live_watchers,
            command_connection=connection,
            clock=self._clock,
            wall_clock=self._wall_clock,
            sleep=self._sleep,
        )

    def _supervisor(self, account_id: str) -> AccountSupervisor:
        try:
            return self._supervisors[account_id]
        except KeyError:
            raise UnknownAccount(f"no account {account_id!r}") from None

    async def update_account(self, config: AccountConfig) -> None:
        """Adopt new credentials (or host settings) for an existing account.

        Raises:
            UnknownAccount: no such account.
        """
        supervisor = self._supervisor(config.account_id)
        self._unpark(config.account_id, close=True)  # the supervisor reconnects its own way
        await supervisor.update(config)

    async def remove_account(self, account_id: str) -> None:
        """Stop the account's watchers (LOGOUT) and forget it.

        Raises:
            UnknownAccount: no such account.
        """
        supervisor = self._supervisor(account_id)
        del self._supervisors[account_id]
        self._unpark(account_id, close=True)
        await supervisor.stop()

    def has_account(self, account_id: str) -> bool:
        """Whether the engine holds this account."""
        return account_id in self._supervisors

    # ------------------------------------------------------------------ watching

    async def watch(self, account_id: str, mailboxes: Collection[str]) -> WatchResult:
        """Replace the account's watched set with ``mailboxes`` (raw modified UTF-7 names).

        Each name is checked with LIST on the command connection; missing and non-selectable
        ones (and ones over the provider's connection limit) land in ``failed``. A mailbox
        watched for the first time gets its baseline (UIDNEXT-1) before this returns: mail
        already there is never announced, mail arriving afterwards always is.

        Raises:
            UnknownAccount: no such account.
            ConnectionFailed: the command connection could not be opened or broke.
            AuthenticationFailed: the server refused the credentials.
            ImapFailure: the server refused LIST or STATUS, or garbled its answer.
        """
        supervisor = self._supervisor(account_id)
        with engine_errors(supervisor.config.host, supervisor.config.port):
            return await supervisor.watch(mailboxes)

    def resume(self, account_id: str, mailboxes: Collection[str]) -> tuple[str, ...]:
        """Watch ``mailboxes`` again after a restart, without reaching the server first.

        For the stored watches of an account (their baselines were recorded when they were
        first watched): returns at once, and each mailbox's watcher connects, catches up from
        its checkpoint (mail that arrived while the server was down is announced once) and
        keeps retrying on its backoff schedule while the account's server is unreachable or
        refuses the credentials. One account's trouble therefore never holds up another's.

        Raises:
            UnknownAccount: no such account.
        """
        return self._supervisor(account_id).resume(mailboxes)

    def watched(self, account_id: str) -> tuple[str, ...]:
        """The account's watched mailboxes (a mailbox reported gone is no longer listed).

        Raises:
            UnknownAccount: no such account.
        """
        return self._supervisor(account_id).watched()

    @asynccontextmanager
    async def command_connection(self, account_id: str) -> AsyncIterator[ImapConnection]:
        """An authenticated connection for reading mailboxes and messages, one caller at a time.

        Kept warm between uses and reopened when it died.

        Raises:
            UnknownAccount: no such account.
            ConnectionFailed: it could not be opened, or it broke while in use.
            AuthenticationFailed: the server refused the credentials.
        """
        async with self._supervisor(account_id).command_connection() as conn:
            yield conn

    @asynccontextmanager
    async def _reading_connection(self, config: AccountConfig) -> AsyncIterator[ImapConnection]:
        """The reader's connection: the warm command connection when this engine holds the
        account, else (a cluster node serving an account another node watches) one opened for
        the call and closed after it; OAuth2 tokens refreshed to open it reach
        ``on_credentials_changed``.

        Raises:
            UnknownAccount: the account was removed while the call waited for its connection.
            ConnectionFailed, AuthenticationFailed: see :meth:`command_connection`.
        """
        supervisor = self._supervisors.get(config.account_id)
        if supervisor is not None:
            entered = False
            try:
                async with supervisor.command_connection() as conn:
                    entered = True
                    yield conn
                return
            except UnknownAccount:
                if entered or self.has_account(config.account_id):
                    raise
                # Removed while we waited (a cluster node's lease moved away): a connection of
                # our own serves the call.
        conn, refreshed = await self._connect_once(config)
        try:
            if refreshed is not None and self._on_credentials_changed is not None:
                await self._on_credentials_changed(refreshed)
            yield conn
        finally:
            await close_connection(conn, logout_timeout_s=self.settings.stop_timeout_s / 2)

    # ------------------------------------------------------------------ status

    def status(self, account_id: str) -> AccountStatus:
        """The account's state, watchers and counters.

        Raises:
            UnknownAccount: no such account.
        """
        return self._supervisor(account_id).status()

    def statuses(self) -> list[AccountStatus]:
        """Every account's status."""
        return [s.status() for s in self._supervisors.values()]

    def watching(self) -> dict[str, tuple[str, ...]]:
        """The mailboxes of every account that has a watcher running (started, not stopped).

        Counted from the watchers themselves, not from the accounts: a watcher that outlived
        its account would show here (and :meth:`stop_strays` would stop it).
        """
        found: dict[str, list[str]] = {}
        for watcher in self._live_watchers:
            found.setdefault(watcher.account_id, []).append(watcher.mailbox)
        return {a: tuple(sorted(m)) for a, m in sorted(found.items())}

    async def stop_strays(self) -> int:
        """Stop every running watcher that no current account owns; return how many.

        None should exist; each one found is logged as an error, because it holds an IMAP
        session nobody else would ever close.
        """
        strays = [w for w, owner in self._live_watchers.items() if not owner.owns(w)]
        for watcher in strays:
            logger.error(
                "stopping a watcher of %s/%s that no account owns",
                watcher.account_id,
                watcher.mailbox,
            )
        await asyncio.gather(*(w.stop() for w in strays))
        for watcher in strays:
            self._live_watchers.pop(watcher, None)
        return len(strays)
