"""A node's lease loop: renew what it holds, take its fair share, give back extras, fence itself.

Every ``ttl_s / 3`` seconds the loop, in this order:

1. beats and renews the live leases it holds in one transaction; an account it held that did
   not renew (expired, deleted) is stopped at once — another node may already be watching it;
2. counts pinned accounts and alive nodes and asks :func:`~switchboard.cluster.balance.plan_leases`
   what to do;
3. acquires free accounts up to its share and starts them, or stops a few extras and only then
   releases their leases (stop first, so two nodes never watch one account at once);
4. hands what it holds to ``reconcile``, which stops anything watched without a lease.

Self-fencing: a node that cannot reach the database cannot renew, and its leases expire on the
database's clock after ``ttl_s``. So the node stops every account once ``ttl_s - fence_margin_s``
has passed (on its own monotonic clock) since the start of its last successful renewal; the
other nodes can take them only after ``ttl_s``, when this node has already let go. A watchdog
task of its own checks this, so a round stuck on an unanswering database cannot delay it.

One process per node id: :meth:`ClusterNode.claim` runs before the loop. If another process
beat under the id within a TTL, it waits: a heartbeat that moves means a live twin, and the
claim fails with :class:`~switchboard.cluster.leases.NodeIdTaken`; one that stays still is a
dead process's (a restart after kill -9), and the id is taken once that beat is a TTL old.

How a takeover catches up: the new holder starts the account with its stored watches; the
engine compares each mailbox with its checkpoint in the shared store and announces exactly what
arrived since — the checkpoint moved in the same transaction as the events were logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

import asyncpg

from switchboard.cluster.balance import plan_leases
from switchboard.cluster.leases import LeaseTable, NodeIdTaken

__all__ = ["ClusterNode", "LeaseHolder"]

logger = logging.getLogger("switchboard.cluster")


class LeaseHolder(Protocol):
    """What a node does with the accounts it wins and loses (the engine glue, or a test's)."""

    async def start_account(self, account_id: str) -> None:
        """Begin watching the account; called once per won lease. Must not raise."""
        ...

    async def stop_account(self, account_id: str) -> None:
        """Stop watching the account; returns once no connection of it watches. Must not raise."""
        ...


class ClusterNode:
    """Runs the lease loop for one node.

    Args:
        table: the lease operations for this node.
        holder: starts and stops accounts.
        max_acquire_per_round: most leases taken in one round (a dead node's accounts are
            taken over in ``ceil(its load / this)`` rounds).
        max_release_per_round: most leases given back in one round, so a joining node's share
            moves over gradually.
        max_concurrent_starts: accounts started (IMAP connect, LIST, SELECT) at once.
        hysteresis: how far over its share a node may stay without giving back.
        fence_margin_s: how long before its leases expire a silent node stops watching;
            ``ttl_s / 6`` when ``None``.
        info: a free-form note other nodes see (its URL, say).
        reconcile: awaited after every round with the accounts held, to stop anything this
            node watches without holding it (``EngineLeaseHolder.reconcile``). Must not raise.
        clock: monotonic seconds; sleep: the sleep coroutine (both injected for tests).
    """

    def __init__(
        self,
        table: LeaseTable,
        holder: LeaseHolder,
        *,
        max_acquire_per_round: int = 1000,
        max_release_per_round: int = 100,
        max_concurrent_starts: int = 64,
        hysteresis: int = 1,
        fence_margin_s: float | None = None,
        info: str = "",
        reconcile: Callable[[frozenset[str]], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._table = table
        self._holder = holder
        self._max_acquire = max_acquire_per_round
        self._max_release = max_release_per_round
        self._starts = asyncio.Semaphore(max_concurrent_starts)
        self._hysteresis = hysteresis
        self._fence_margin_s = table.ttl_s / 6 if fence_margin_s is None else fence_margin_s
        self._info = info
        self._reconcile = reconcile
        self._clock = clock
        self._sleep = sleep
        self._held: set[str] = set()
        # Starts run beside the loop: a slow IMAP login must not delay the next renewal.
        self._starting: dict[str, asyncio.Task[None]] = {}
        self._valid_until: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        """Why the last round failed (``None`` after a successful one), for /health."""
        self.renewed_at: float | None = None
        """When (this node's monotonic clock) the last successful renewal started."""
        self.fenced = False
        """Whether the node let go of everything because it could not renew in time."""
        self.rounds = 0
        """Completed rounds (a test waits on it instead of sleeping)."""
        self.round_done = asyncio.Event()
        """Set after every round (successful or not); cleared by whoever waits on it."""

    @property
    def node_id(self) -> str:
        """This node's name."""
        return self._table.node_id

    @property
    def held(self) -> frozenset[str]:
        """The accounts this node holds and watches now."""
        return frozenset(self._held)

    @property
    def interval_s(self) -> float:
        """Time between rounds: a third of the TTL, so two renewals may fail before expiry."""
        return self._table.ttl_s / 3

    async def claim(self, *, poll_s: float | None = None) -> None:
        """Make this process the node: wait out a dead predecessor's heartbeat, refuse a twin.

        Returns once the id is this process's (at most about one TTL after a crashed process
        with the same id last beat).

        Raises:
            NodeIdTaken: another process beats under this id (its heartbeat moved).
            OSError, TimeoutError, asyncpg.PostgresError: the database failed.
        """
        poll_s = self.interval_s / 4 if poll_s is None else poll_s
        seen: float | None = None
        while True:
            claim = await self._table.claim(self._info)
            if claim.owned:
                return
            if seen is not None and claim.heartbeat_at != seen:
                raise NodeIdTaken(self.node_id, claim.age_s)
            if seen is None:
                logger.warning(
                    "node id %r last beat %.1f s ago; waiting until that beat is %.0f s old"
                    " (a process that still beats makes this one refuse to start)",
                    self.node_id,
                    claim.age_s,
                    self._table.ttl_s,
                )
            seen = claim.heartbeat_at
            await self._sleep(poll_s)

    def start(self) -> None:
        """Start the loop in a task this node owns (stopped by :meth:`stop`)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"lease-loop-{self.node_id}")
            self._watchdog = asyncio.create_task(
                self._fence_watchdog(), name=f"lease-fence-{self.node_id}"
            )

    async def stop(self, *, leave: bool = True) -> None:
        """Stop the loop and every account; with ``leave`` also give the leases back at once.

        Without ``leave`` the leases stay until they expire, as if the node had died.
        """
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._task = self._watchdog = None
        await self._stop_accounts(list(self._held))
        if leave:
            await self._table.leave()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_round()
            except NodeIdTaken as exc:
                self._round_failed(logging.ERROR, f"{exc}; this process stops watching")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self._round_failed(logging.WARNING, f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a bug, but the loop must never stop silently
                logger.exception("lease round of %s failed unexpectedly", self.node_id)
                self.last_error = f"{type(exc).__name__}: {exc}"
            else:
                if self.last_error is not None:
                    logger.warning("lease round of %s succeeded again", self.node_id)
                self.last_error = None
            await self.fence_if_expired()
            if self._reconcile is not None:
                await self._reconcile(self.held)
            self.rounds += 1
            self.round_done.set()
            await self._sleep(self.interval_s)

    def _round_failed(self, level: int, error: str) -> None:
        # Logged when it starts or changes, not every round: an outage would flood the log.
        if error != self.last_error:
            logger.log(level, "lease round of %s failed: %s", self.node_id, error)
        self.last_error = error

    async def _fence_watchdog(self) -> None:
        # Apart from the loop: a round waiting on a database that does not answer must not
        # keep this node watching past its leases.
        while True:
            valid_until = self._valid_until
            wait_s = self.interval_s if valid_until is None else valid_until - self._clock()
            if wait_s > 0:
                await self._sleep(min(wait_s, self.interval_s))
                continue
            await self.fence_if_expired()
            await self._sleep(self.interval_s / 2)

    async def run_round(self) -> None:
        """One round of renew, balance, acquire or release (see the module docstring).

        Raises:
            OSError, TimeoutError, asyncpg.PostgresError: the database failed mid-round; what
                was done so far stands, and the next round carries on.
        """
        started = self._clock()
        # Only what was held before the renewal can be missing from it: an account adopted
        # while the UPDATE ran was leased after it, and is not lost.
        before = set(self._held)
        renewed = await self._table.heartbeat_and_renew(before, self._info)
        self._valid_until = started + self._table.ttl_s - self._fence_margin_s
        self.renewed_at = started
        if self.fenced:
            logger.warning("%s renewed again; taking its share of accounts", self.node_id)
            self.fenced = False
        lost = (before & self._held) - renewed
        if lost:
            logger.warning("%s lost %d lease(s); stopping them", self.node_id, len(lost))
            await self._stop_accounts(lost)
        if self.rounds == 0 and self._task is not None:
            # The first round only announces this node: nodes started together then see each
            # other before any takes a share, instead of the first one taking every account.
            return
        total, alive = await self._table.counts()
        plan = plan_leases(
            held=len(self._held),
            total_accounts=total,
            alive_nodes=alive,
            max_acquire_per_round=self._max_acquire,
            max_release_per_round=self._max_release,
            hysteresis=self._hysteresis,
        )
        if plan.acquire:
            won = await self._table.acquire(plan.acquire)
            if won:
                logger.info(
                    "%s took %d account(s) (%d accounts, %d node(s) alive)",
                    self.node_id,
                    len(won),
                    total,
                    alive,
                )
            self._held.update(won)
            for account_id in won:
                self._starting[account_id] = asyncio.create_task(self._start_one(account_id))
        elif plan.release:
            # The highest ids go: a stable choice, so the same accounts do not bounce around.
            extras = sorted(self._held)[-plan.release :]
            logger.info(
                "%s gives back %d account(s) (%d accounts, %d node(s) alive)",
                self.node_id,
                len(extras),
                total,
                alive,
            )
            await self._stop_accounts(extras)
            await self._table.release(extras)

    async def fence_if_expired(self) -> None:
        """Stop every account when the last successful renewal is too old (see above)."""
        if self._valid_until is None or self._clock() < self._valid_until:
            return
        if self._held:
            logger.error(
                "%s could not renew its leases in time; stopping all %d account(s)",
                self.node_id,
                len(self._held),
            )
        self.fenced = True
        await self._stop_accounts(list(self._held))

    async def adopt(self, account_id: str) -> bool:
        """Take one account's lease now if it is free and start it; return whether it is held.

        A worker connecting a new account on this node gets it watched at once (and its
        watches baselined here) instead of a round later; the fair share moves it on if this
        node ends up with more than its part.

        Raises:
            OSError, TimeoutError, asyncpg.PostgresError: the database failed.
        """
        if account_id in self._held:
            await self.wait_started()
            return account_id in self._held
        if not await self._table.acquire_account(account_id):
            return False
        self._held.add(account_id)
        task = asyncio.create_task(self._start_one(account_id))
        self._starting[account_id] = task
        # A stop of this account cancels the start; then it is simply not held.
        await asyncio.gather(task, return_exceptions=True)
        return account_id in self._held

    async def wait_started(self) -> None:
        """Wait until every account won so far has been started (for tests and benchmarks)."""
        while self._starting:
            await asyncio.gather(*self._starting.values(), return_exceptions=True)

    async def _start_one(self, account_id: str) -> None:
        try:
            async with self._starts:
                await self._holder.start_account(account_id)
        finally:
            self._starting.pop(account_id, None)

    async def _stop_accounts(self, account_ids: Iterable[str]) -> None:
        ids = list(account_ids)
        self._held.difference_update(ids)
        # A start still under way is cancelled and awaited first, so the stop comes after it.
        pending = [t for a in ids if (t := self._starting.pop(a, None)) is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*(self._holder.stop_account(a) for a in ids))
