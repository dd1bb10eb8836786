"""Where each account is watched: on this process's engine, or on another node's.

The account registry (:mod:`switchboard.server.accounts`) decides account lifetime and watch
sets; an :class:`AccountPlacement` answers the one question it cannot answer alone — which node's
engine watches a *pinned* account (one a worker connected). A single node
(:class:`LocalPlacement`) watches every account itself. A cluster node (``ClusterPlacement``, in
:mod:`switchboard.cluster.placement`, built by the command line when ``store_url`` is set) holds
leases on some of the cluster's pinned accounts and watches those; watches set here for an
account another node holds are applied by that node. Accounts only clients connected are always
watched where their client is.

The questions the registry asks, and a single node's answers:

- ``at_start(stored)``, for each account in the store at start-up: a pinned one is watched at
  once, any other is deleted (a client's account left behind by a crash);
- ``lookup(id)``, when a command names an account the registry does not know: nothing (no one
  else writes this node's store);
- ``place(id)``, when a pinned account is not in this node's engine (a new pin, a watch):
  ``HERE``, so the registry starts it;
- ``watch_elsewhere(…)``, for watches on an account another node watches: never asked;
- ``changed(id)``, after an account or its watches changed in the store: nothing to tell.

Nothing here imports :mod:`switchboard.cluster`: the server gets its placement from whoever
builds it (the composition root), and the cluster implements this Protocol.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from switchboard.engine.engine import Engine, WatchResult
from switchboard.engine.errors import UnknownAccount
from switchboard.model.store import EventSink, Store, StoredAccount

__all__ = [
    "AccountPlacement",
    "AtStart",
    "LocalPlacement",
    "Placed",
    "PlacedAccounts",
    "PlacementParts",
]


class AtStart(enum.Enum):
    """What a starting node does with an account it finds in the store."""

    WATCH = "watch"
    """Know it, and start its watchers in this node's engine now."""
    KNOW = "know"
    """Know it; the placement starts it here if and when this node is to watch it."""
    FORGET = "forget"
    """Delete it from the store: a client's account left behind by a crash."""
    SKIP = "skip"
    """Leave it alone: not this node's to know or to delete."""


class Placed(enum.Enum):
    """Where :meth:`AccountPlacement.place` says a pinned account is watched."""

    HERE = "here"
    """By this node's engine (the registry adds it to the engine if it is not there yet)."""
    STARTED = "started"
    """By this node's engine from now on: just started, with the workers' stored watches."""
    ELSEWHERE = "elsewhere"
    """By another node's engine, or soon will be."""


class PlacedAccounts(Protocol):
    """What a placement may ask of the account registry (the cluster's notices use it)."""

    def is_pinned(self, account_id: str) -> bool:
        """Whether a worker connected the account (only pinned accounts are placed)."""
        ...

    def pinned_ids(self) -> frozenset[str]:
        """Every pinned account the registry knows."""
        ...

    async def reload(self, account_id: str) -> None:
        """Adopt the store's copy of the account (another node changed or deleted it).

        Raises:
            StoreError: the store cannot be read.
            EngineError: the engine refused the new settings.
        """
        ...

    async def apply_worker_watches(self, account_id: str) -> tuple[str, ...] | None:
        """Have this node's engine watch the workers' watch set; the names that failed.

        ``None`` when this node's engine does not hold the account. Never raises.
        """
        ...


@dataclass(frozen=True, slots=True)
class PlacementParts:
    """The server's parts a placement works with, handed over by :meth:`AccountPlacement.start`."""

    store: Store
    engine: Engine
    hub: EventSink
    accounts: PlacedAccounts


class AccountPlacement(Protocol):
    """Which node's engine watches each pinned account; see the module docstring."""

    @property
    def node_id(self) -> str | None:
        """This node's name among several (``None``: a single node)."""
        ...

    def engine_sink(self, hub: EventSink) -> EventSink:
        """Where the engine publishes the events it records (the hub, or nowhere)."""
        ...

    def at_start(self, stored: StoredAccount) -> AtStart:
        """What to do with an account found in the store at start-up."""
        ...

    async def start(self, parts: PlacementParts) -> None:
        """Begin placing accounts, once the registry has read the store.

        Raises:
            StoreError: what the placement needs cannot be reached.
            SwitchboardError: the placement refuses to start (a node id in use, say).
        """
        ...

    async def stop(self) -> None:
        """Stop placing accounts (before the engine stops)."""
        ...

    async def lookup(self, account_id: str) -> StoredAccount | None:
        """What the store says about an account this node does not know (``None``: nothing).

        Raises:
            StoreError: the store cannot be read.
        """
        ...

    async def place(self, account_id: str) -> Placed:
        """Where the pinned account is watched; a placement may take it here on the spot.

        Raises:
            StoreError: the placement cannot be decided (the database is unreachable).
        """
        ...

    async def watch_elsewhere(
        self,
        account_id: str,
        names: tuple[str, ...],
        *,
        workers: tuple[str, ...],
        for_workers: bool,
    ) -> WatchResult:
        """Set watches on an account another node's engine watches.

        Args:
            account_id: the account.
            names: the watch set asked for.
            workers: the workers' watch set as it stands.
            for_workers: whether ``names`` is the workers' set (else one client's).

        Returns:
            The holder's watch set afterwards (``watching``) and the names that failed.

        Raises:
            UnknownAccount: no node can watch it.
            StoreError: the watches cannot be stored.
        """
        ...

    async def changed(self, account_id: str) -> None:
        """Tell whoever else reads the store that the account or its watches changed.

        Raises:
            StoreError: the others cannot be told.
        """
        ...

    async def holders(self) -> Mapping[str, str] | None:
        """``account_id -> node`` for every account some node watches; ``None``: one node.

        Raises:
            StoreError: the holders cannot be read.
        """
        ...

    def health(self) -> dict[str, object] | None:
        """This node's part of ``/health`` (``None``: nothing to add)."""
        ...


class LocalPlacement:
    """A single node: every account is watched by this process's engine (see the module table)."""

    @property
    def node_id(self) -> str | None:
        """Always ``None``: a single node has no name among others."""
        return None

    def engine_sink(self, hub: EventSink) -> EventSink:
        """The hub itself: the engine publishes what it records."""
        return hub

    def at_start(self, stored: StoredAccount) -> AtStart:
        """Watch every pinned account; forget the rest (only clients held them, before a crash)."""
        return AtStart.WATCH if stored.pinned else AtStart.FORGET

    async def start(self, parts: PlacementParts) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def lookup(self, account_id: str) -> StoredAccount | None:
        """``None``: every account of this node's store is already known to its registry."""
        return None

    async def place(self, account_id: str) -> Placed:
        """``HERE``: there is no other node."""
        return Placed.HERE

    async def watch_elsewhere(
        self,
        account_id: str,
        names: tuple[str, ...],
        *,
        workers: tuple[str, ...],
        for_workers: bool,
    ) -> WatchResult:
        """Never asked on a single node: there is no elsewhere.

        Raises:
            UnknownAccount: always (the engine no longer holds the account).
        """
        raise UnknownAccount(f"no account {account_id!r}")

    async def changed(self, account_id: str) -> None:
        """Nothing to tell: no other process reads this node's store while it runs."""

    async def holders(self) -> Mapping[str, str] | None:
        """``None``: documents carry no node."""
        return None

    def health(self) -> dict[str, object] | None:
        """``None``: ``/health`` has no node part."""
        return None
