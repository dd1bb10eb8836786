"""The accounts the server manages: who may use them, how long they live, and what they watch.

Rules (docs/protocol.md, "Commands"; what changed from the original: its "Differences from the
2014 server"):

- ``connect`` answers only after a real login succeeded. Connecting to an account that already
  exists needs the same credentials, or credentials that log in afresh (which then replace the
  stored ones, e.g. a new access token). The same username on another host or port is an
  ``accountConflict``.
- An account connected by a worker is *pinned*: it is stored (credentials encrypted) and survives
  the worker and the server. An account only clients connected lives while a client holds it.
- Every session (and, per account, the workers together) has its own watch set; the engine
  watches the union, so an IDLE connection stops when no watch set contains its mailbox.
- Only this module changes those sets; everything it decides goes through one per-account lock,
  so concurrent ``connect``s of the same new username cannot race.

Cluster mode (``cluster`` given, docs/scaling.md): the registry knows every pinned account of
the shared store (re-read on the nodes' account notices, and on a miss), but only the lease
holder's engine watches one. A worker connecting a new account here takes its lease at once
when it is free (:meth:`~switchboard.server.cluster.ClusterLink.adopt`); watches set on a node
that does not hold the account are stored and applied by the holder, which answers before
``watchMailboxes`` does. Commands for an account watched elsewhere run on a connection the
engine's reader opens for the command and closes after it. Accounts only clients connected are
not leased: they stay in the engine of the node their client used.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from switchboard.engine.engine import Engine, WatchResult
from switchboard.engine.errors import ConnectionFailed, EngineError, UnknownAccount
from switchboard.model.accounts import AccountConfig, OAuth2Auth, PasswordAuth, TlsMode
from switchboard.model.store import Store
from switchboard.protocol.errors import AccountConflict, InvalidArguments
from switchboard.protocol.methods import ConnectRequest, PlainAuth, XOAuth2Auth
from switchboard.server.api import TLS_NAMES, scrub, secrets_of
from switchboard.server.config import OAuthProvider, ServerSettings
from switchboard.server.hints import ADVICE_MARK, advice, diagnose
from switchboard.store.errors import StoreError

if TYPE_CHECKING:
    from switchboard.server.cluster import ClusterLink

__all__ = ["WORKERS", "AccountRegistry", "ConnectOutcome"]

logger = logging.getLogger("switchboard.server")

#: The watch-set holder that stands for all workers of an account (watches are per account on
#: /workers, per connection on /clients).
WORKERS = "workers"

# Usernames whose refresh tokens go to a provider when the request names none (docs/protocol.md).
_PROVIDER_BY_DOMAIN = {"gmail.com": "google", "googlemail.com": "google"}


@dataclass(frozen=True, slots=True)
class ConnectOutcome:
    """What ``connect`` did: the account's wire name and whether it was created just now."""

    account_id: str
    created: bool


class AccountRegistry:
    """Accounts by wire name (the login name, exactly as given), with their holders and watches."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        settings: ServerSettings,
        *,
        cluster: ClusterLink | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._settings = settings
        self._cluster = cluster
        self._configs: dict[str, AccountConfig] = {}
        self._pinned: set[str] = set()
        self._clients: dict[str, set[Hashable]] = {}
        self._watch_sets: dict[str, dict[Hashable, tuple[str, ...]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- lifetime -------------------------------------------------------------------------

    async def restore(self) -> int:
        """Start every pinned account of the store with its saved watches; return how many.

        No IMAP server is contacted here (``Engine.resume``): the accounts' watchers connect
        in the background, each on its own, so an unreachable server or a changed password
        holds up neither the start nor any other account. A broken account shows its state and
        last error while its watchers retry on their backoff schedule, and its stored watches
        apply as soon as it recovers.
        """
        restored = 0
        for stored in await self._store.load_accounts():
            account_id = stored.config.account_id
            if not stored.pinned:
                if self._cluster is None:
                    await self._store.delete_account(account_id)
                continue
            self._configs[account_id] = stored.config
            self._pinned.add(account_id)
            if self._cluster is not None:
                # The lease loop decides which of them this node's engine watches.
                self._watch_sets[account_id] = {WORKERS: tuple(stored.watches)}
                restored += 1
                continue
            self._engine.add_account(stored.config)
            if stored.watches:
                self._watch_sets[account_id] = {WORKERS: tuple(stored.watches)}
                self._engine.resume(account_id, stored.watches)
            restored += 1
        return restored

    def exists(self, account_id: str) -> bool:
        """Whether ``account_id`` is a managed account (else ``inactiveAccount``)."""
        return account_id in self._configs

    def config(self, account_id: str) -> AccountConfig | None:
        """The account's current settings and credentials, or ``None``."""
        return self._configs.get(account_id)

    def is_pinned(self, account_id: str) -> bool:
        """Whether a worker connected the account (it then outlives its clients)."""
        return account_id in self._pinned

    def account_ids(self) -> list[str]:
        """Every managed account (in a cluster: every pinned one, wherever it is watched)."""
        return sorted(self._configs)

    async def known(self, account_id: str) -> bool:
        """Like :meth:`exists`, but in a cluster asks the store about an account not seen yet.

        A worker may connect an account on one node and use it on another before that node
        got the notice.

        Raises:
            StoreError: the store cannot be read.
        """
        if account_id not in self._configs and self._cluster is not None:
            async with self._lock(account_id):
                await self._refresh(account_id)
        return account_id in self._configs

    # -- connect --------------------------------------------------------------------------

    async def connect(
        self, request: ConnectRequest, *, by_worker: bool, holder: Hashable
    ) -> ConnectOutcome:
        """Create or join the account ``request`` names, checking its credentials.

        A client session ``holder`` is recorded as holding the account; a worker pins it.

        Raises:
            AccountConflict: the username exists with another host or port.
            InvalidArguments: an OAuth2 refresh token for an unknown provider.
            switchboard.engine.errors.AuthenticationFailed: the credentials do not log in.
            switchboard.engine.errors.ConnectionFailed: the IMAP server cannot be reached.
        """
        wanted = self._config_from(request)
        account_id = wanted.account_id
        async with self._lock(account_id):
            if self._cluster is not None and account_id not in self._configs:
                await self._refresh(account_id)  # connected on another node meanwhile?
            existing = self._configs.get(account_id)
            created = existing is None
            if existing is None:
                verified = await self._verify(wanted)
                self._configs[account_id] = verified
                if self._cluster is None or not by_worker:
                    # In a cluster, a worker's (pinned) account is started by its lease below.
                    self._engine.add_account(verified)
                logger.info("account %s connected (%s:%d)", account_id, wanted.host, wanted.port)
            else:
                if (existing.host, existing.port) != (wanted.host, wanted.port):
                    raise AccountConflict(
                        f"account {account_id} is connected to "
                        f"{existing.host}:{existing.port}, not {wanted.host}:{wanted.port}"
                    )
                if not _same_credentials(existing.auth, wanted.auth):
                    verified = await self._verify(replace(existing, auth=wanted.auth))
                    self._configs[account_id] = verified
                    if self._engine.has_account(account_id):
                        await self._engine.update_account(verified)
                    if account_id in self._pinned:
                        await self._store.save_account(verified, pinned=True)
                        await self._changed(account_id)
            if by_worker:
                if account_id not in self._pinned:
                    self._pinned.add(account_id)
                    await self._store.save_account(self._configs[account_id], pinned=True)
                    await self._store.save_watches(account_id, self._worker_watches(account_id))
                    if self._cluster is not None:
                        await self._lease_new_pin(account_id)
            else:
                self._clients.setdefault(account_id, set()).add(holder)
            return ConnectOutcome(account_id, created)

    async def _verify(self, config: AccountConfig) -> AccountConfig:
        """``Engine.verify``; a failure is logged with its reason, and TLS advice added."""
        try:
            return await self._engine.verify(config)
        except EngineError as exc:
            logger.warning(
                "account %s: cannot connect to %s:%d: %s", config.account_id, config.host,
                config.port, scrub(str(exc), secrets_of(config)),
            )  # fmt: skip
            tls = TLS_NAMES[config.tls]
            problem = diagnose(str(exc), tls) if isinstance(exc, ConnectionFailed) else None
            if problem is None:
                raise
            hint = advice(problem, host=config.host, port=config.port, tls=tls, cli=False)
            raise ConnectionFailed(f"{exc}.{ADVICE_MARK}{hint}") from exc

    async def credentials_changed(self, config: AccountConfig) -> None:
        """Store rotated OAuth2 tokens the engine obtained (the engine's callback)."""
        account_id = config.account_id
        if account_id not in self._configs:
            return
        self._configs[account_id] = config
        if account_id in self._pinned:
            await self._store.save_account(config, pinned=True)
            await self._changed(account_id)

    # -- watches ----------------------------------------------------------------------------

    async def set_watches(
        self, account_id: str, holder: Hashable, names: tuple[str, ...]
    ) -> WatchResult:
        """Replace ``holder``'s watch set on the account; the engine watches the union.

        A name that cannot be watched (nonexistent, unselectable, over the provider's
        connection limit) never costs a watch: when one fails, the names that work are added
        to the set and nothing is removed, so a typo cannot leave an account unwatched.

        Returns what the engine now watches and which requested names failed; failed names
        are not kept in the holder's set (:meth:`watches` says what it holds afterwards).
        """
        async with self._lock(account_id):
            if self._cluster is not None and account_id in self._pinned:
                if not self._engine.has_account(account_id):
                    await self._cluster.adopt(account_id)  # when its lease is free
                if not self._engine.has_account(account_id):
                    return await self._watch_elsewhere(account_id, holder, names)
            sets = self._watch_sets.setdefault(account_id, {})
            old = sets.get(holder, ())
            # Old names first: should the provider's connection limit bite, it bites the new
            # names, and nothing watched now stops before every requested name is checked.
            trial = tuple(dict.fromkeys(old + names))
            sets[holder] = trial
            try:
                result = await self._engine.watch(account_id, self._union(account_id))
            except UnknownAccount:
                if self._cluster is None or account_id not in self._pinned:
                    raise
                # The lease loop gave the account to another node while we listed: the
                # holder applies the stored watches.
                sets[holder] = old
                return await self._watch_elsewhere(account_id, holder, names)
            failed = set(result.failed)
            if failed & set(names):
                # The engine already skipped the failed names: the rest stays watched.
                sets[holder] = tuple(n for n in trial if n not in failed)
            else:
                sets[holder] = names
                if names != trial:  # the set shrank: stop what no watch set holds any more
                    result = await self._engine.watch(account_id, self._union(account_id))
            if holder == WORKERS and account_id in self._pinned:
                await self._store.save_watches(account_id, sets[holder])
            return WatchResult(result.watching, tuple(n for n in names if n in failed))

    def watches(self, account_id: str, holder: Hashable) -> tuple[str, ...]:
        """``holder``'s watch set on the account (empty when it has none)."""
        return self._watch_sets.get(account_id, {}).get(holder, ())

    async def release(self, holder: Hashable) -> None:
        """A client session closed: drop its watches and holds; stop accounts nobody holds."""
        for account_id in list(self._configs):
            sets = self._watch_sets.get(account_id, {})
            clients = self._clients.get(account_id, set())
            if holder not in sets and holder not in clients:
                continue
            async with self._lock(account_id):
                had_watch = sets.pop(holder, None) is not None
                clients.discard(holder)
                if not clients and account_id not in self._pinned:
                    await self._remove(account_id)
                elif had_watch and self._engine.has_account(account_id):
                    await self._engine.watch(account_id, self._union(account_id))

    async def remove(self, account_id: str) -> bool:
        """Stop and forget ``account_id`` whoever holds it (an operator's ``DELETE``).

        Its watchers LOGOUT and its stored copy (credentials, watches) is deleted, so it does
        not come back on restart. Sessions that had connected it get ``inactiveAccount``-style
        errors from then on. Returns whether the account existed.
        """
        await self.known(account_id)
        async with self._lock(account_id):
            if account_id not in self._configs:
                return False
            self._pinned.discard(account_id)
            await self._store.delete_account(account_id)
            self._configs.pop(account_id, None)
            self._clients.pop(account_id, None)
            self._watch_sets.pop(account_id, None)
            if self._engine.has_account(account_id):
                await self._engine.remove_account(account_id)
            await self._changed(account_id)
        logger.info("account %s removed by an operator", account_id)
        return True

    async def _remove(self, account_id: str) -> None:
        self._configs.pop(account_id, None)
        self._clients.pop(account_id, None)
        self._watch_sets.pop(account_id, None)
        if self._engine.has_account(account_id):
            await self._engine.remove_account(account_id)
        logger.info("account %s stopped: its last client left", account_id)

    # -- cluster ----------------------------------------------------------------------------

    async def account_changed(self, account_id: str) -> None:
        """Another node saved or deleted the account: re-read it (an account notice)."""
        try:
            async with self._lock(account_id):
                await self._refresh(account_id)
        except (StoreError, EngineError, OSError) as exc:
            logger.warning("cannot re-read account %s: %s", account_id, exc)

    async def apply_stored_watches(self, account_id: str) -> tuple[str, ...] | None:
        """As the lease holder, watch what the workers' stored watch set says (a notice).

        Returns the names that failed, or ``None`` when this node does not hold the account.
        """
        if self._cluster is not None and account_id in self._cluster.held:
            await self._cluster.wait_started()  # the lease may have been won a moment ago
        if not self._engine.has_account(account_id):
            return None
        async with self._lock(account_id):
            names = self._worker_watches(account_id)
            try:
                result = await self._engine.watch(account_id, self._union(account_id))
            except UnknownAccount:
                # Stopped meanwhile: the lease moved, and its next holder starts the account
                # with the stored watches (and answers the asker's repeated request).
                logger.info("watch request for %s: the account moved meanwhile", account_id)
                return None
            except (EngineError, OSError) as exc:
                # The asker reports them failed; the supervisor keeps retrying what it can.
                logger.warning("cannot watch %s for another node: %s", account_id, exc)
                return names
            failed = set(result.failed)
            if failed & set(names):
                kept = tuple(n for n in names if n not in failed)
                self._watch_sets.setdefault(account_id, {})[WORKERS] = kept
                try:
                    await self._store.save_watches(account_id, kept)
                except StoreError as exc:
                    logger.warning("cannot store the watches of %s: %s", account_id, exc)
            return tuple(n for n in names if n in failed)

    async def resync(self) -> None:
        """Re-read every account (account notices may have been missed)."""
        try:
            stored = await self._store.load_accounts()
        except StoreError as exc:
            logger.warning("cannot re-read the accounts: %s", exc)
            return
        pinned = {a.config.account_id for a in stored if a.pinned}
        for account_id in sorted(pinned | self._pinned):
            await self.account_changed(account_id)

    async def _refresh(self, account_id: str) -> None:
        """Adopt the store's view of a pinned account; the caller holds its lock."""
        stored = await self._store.get_account(account_id)
        if stored is None or not stored.pinned:
            if account_id in self._pinned:
                self._pinned.discard(account_id)
                self._watch_sets.get(account_id, {}).pop(WORKERS, None)
                if not self._clients.get(account_id):
                    self._configs.pop(account_id, None)
                    self._watch_sets.pop(account_id, None)
                    if self._engine.has_account(account_id):
                        # Deleted elsewhere; the lease loop drops the lease at its next renewal.
                        await self._engine.remove_account(account_id)
            return
        old = self._configs.get(account_id)
        self._configs[account_id] = stored.config
        self._pinned.add(account_id)
        self._watch_sets.setdefault(account_id, {})[WORKERS] = tuple(stored.watches)
        if old is not None and old != stored.config and self._engine.has_account(account_id):
            await self._engine.update_account(stored.config)

    async def _changed(self, account_id: str) -> None:
        if self._cluster is not None:
            await self._cluster.changed(account_id)

    async def _lease_new_pin(self, account_id: str) -> None:
        """A worker pinned the account here: watch it here if its lease is free."""
        assert self._cluster is not None
        local = self._engine.has_account(account_id)  # a client had connected it here
        await self._changed(account_id)
        if await self._cluster.adopt(account_id):
            if local and self._union(account_id):
                # Starting the lease watched the workers' set only; add this node's clients'.
                await self._engine.watch(account_id, self._union(account_id))
        elif local and self._engine.has_account(account_id):
            # Another node took it first: two engines must never watch one account.
            await self._engine.remove_account(account_id)

    async def _watch_elsewhere(
        self, account_id: str, holder: Hashable, names: tuple[str, ...]
    ) -> WatchResult:
        """Watches for an account another node holds; the caller holds its lock.

        Same rule as :meth:`set_watches`: the holder first applies the old set plus the new
        names, and the set shrinks to ``names`` only when none of them failed.
        """
        assert self._cluster is not None
        sets = self._watch_sets.setdefault(account_id, {})
        if holder != WORKERS:
            # Client watch sets stay on their node (docs/scaling.md): a client here gets the
            # events of the mailboxes the account's workers watch.
            sets[holder] = names
            return WatchResult(names, ())
        trial = tuple(dict.fromkeys(sets.get(WORKERS, ()) + names))
        failed = set(await self._request_watch(account_id, trial))
        if failed & set(names):
            # The holder stored the set without the failed names (apply_stored_watches).
            kept = tuple(n for n in trial if n not in failed)
        else:
            kept = names
            if names != trial:  # the set shrank: the holder stops what it no longer needs
                failed_now = set(await self._request_watch(account_id, names))
                kept = tuple(n for n in names if n not in failed_now)
        sets[WORKERS] = kept
        return WatchResult(kept, tuple(n for n in names if n in failed))

    async def _request_watch(self, account_id: str, names: tuple[str, ...]) -> tuple[str, ...]:
        """Store the workers' watches and have the holder apply them; the names that failed."""
        assert self._cluster is not None
        await self._store.save_watches(account_id, names)
        failed_names = await self._cluster.request_watch(account_id)
        if failed_names is None:
            # No holder answered in time: the watches are stored, and the node that takes the
            # lease starts the account with them.
            logger.warning("no node answered for %s; its watches are stored", account_id)
            return ()
        return failed_names

    # -- helpers ----------------------------------------------------------------------------

    def _lock(self, account_id: str) -> asyncio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            lock = self._locks[account_id] = asyncio.Lock()
        return lock

    def _union(self, account_id: str) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for names in self._watch_sets.get(account_id, {}).values():
            seen.update(dict.fromkeys(names))
        return tuple(seen)

    def _worker_watches(self, account_id: str) -> tuple[str, ...]:
        return self._watch_sets.get(account_id, {}).get(WORKERS, ())

    def _config_from(self, request: ConnectRequest) -> AccountConfig:
        auth: PasswordAuth | OAuth2Auth
        if isinstance(request.auth, PlainAuth):
            auth = PasswordAuth(request.auth.username, request.auth.password)
        else:
            auth = self._oauth_from(request.auth)
        if request.starttls:
            tls = TlsMode.STARTTLS
        elif request.ssl is False:
            tls = TlsMode.PLAIN
        else:
            tls = TlsMode.IMPLICIT
        settings = self._settings
        return AccountConfig(
            account_id=auth.username,
            host=request.host,
            port=request.port,
            auth=auth,
            tls=tls,
            ca_file=str(settings.imap_ca_file) if settings.imap_ca_file else None,
            verify_tls=settings.imap_verify_tls,
            allow_plain=settings.imap_allow_plain,
        )

    def _oauth_from(self, auth: XOAuth2Auth) -> OAuth2Auth:
        if auth.token_type == "access":  # noqa: S105 (a token kind, not a secret)
            return OAuth2Auth(auth.username, access_token=auth.token)
        provider = self._provider_for(auth)
        return OAuth2Auth(
            auth.username,
            refresh_token=auth.token,
            token_endpoint=provider.token_url,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
        )

    def _provider_for(self, auth: XOAuth2Auth) -> OAuthProvider:
        providers = self._settings.oauth_providers
        name = auth.provider
        if name is None:
            domain = auth.username.rpartition("@")[2].lower()
            name = _PROVIDER_BY_DOMAIN.get(domain)
        provider = providers.get(name) if name is not None else None
        if provider is None:
            raise InvalidArguments(
                f"unknown OAuth2 provider {name!r}: the server has no token endpoint for it"
                if name
                else "a refresh token needs a provider the server knows"
            )
        return provider


def _same_credentials(a: PasswordAuth | OAuth2Auth, b: PasswordAuth | OAuth2Auth) -> bool:
    """Constant-time comparison of the secrets that identify a caller."""
    if isinstance(a, PasswordAuth) and isinstance(b, PasswordAuth):
        return a.username == b.username and hmac.compare_digest(
            a.password.encode(), b.password.encode()
        )
    if isinstance(a, OAuth2Auth) and isinstance(b, OAuth2Auth):
        for mine, theirs in ((a.access_token, b.access_token), (a.refresh_token, b.refresh_token)):
            if mine and theirs and hmac.compare_digest(mine.encode(), theirs.encode()):
                return True
    return False
