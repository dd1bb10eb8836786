"""Each account's event history for ``/api/accounts``: how many events, the last one's id and time.

The engine's counters start at zero with the process; the store's event log does not. So the
totals are the log's, read once at start-up up to the last event id of that moment (the
*horizon*), plus every event the hub publishes afterwards (ids above the horizon). Reading the
log may take a while on a big store, so it runs in the background; until it is done the live
part is shown alone. Nothing here touches the network; the store is read once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from switchboard.model.events import StoredEvent
from switchboard.model.store import EventTotals, Store
from switchboard.store.errors import StoreError

__all__ = ["EventHistory"]

logger = logging.getLogger("switchboard.server")


class EventHistory:
    """Per-account :class:`EventTotals`: the stored log up to ``horizon`` plus live events.

    Args:
        horizon: the store's last event id when the server started; events up to it are read
            from the store by :meth:`load`, later ones counted by :meth:`on_events`.
    """

    def __init__(self, horizon: int) -> None:
        self.horizon = horizon
        self._stored: dict[str, EventTotals] = {}
        self._live: dict[str, EventTotals] = {}
        self.loaded = asyncio.Event()
        """Set once :meth:`load` finished (read the log, or gave up on it)."""

    async def load(self, store: Store) -> None:
        """Read the stored part (ids up to ``horizon``); a failure is logged, not raised."""
        try:
            self._stored = await store.event_totals(self.horizon)
        except StoreError as exc:
            logger.warning("cannot read the event history; counting from now: %s", exc)
        finally:
            self.loaded.set()

    def on_events(self, events: Sequence[StoredEvent]) -> None:
        """Count published events (a hub listener: never blocks, never raises)."""
        for stored in events:
            if stored.event_id <= self.horizon:
                continue  # already in the log the start-up read counts
            account_id = stored.event.account_id
            seen = self._live.get(account_id)
            # The constructor, not dataclasses.replace: this runs for every new message.
            self._live[account_id] = (
                EventTotals(1, stored.event_id, stored.created_at)
                if seen is None
                else EventTotals(
                    seen.count + 1,
                    max(seen.last_event_id, stored.event_id),
                    max(seen.last_event_at, stored.created_at),
                )
            )

    def totals(self, account_id: str) -> EventTotals | None:
        """The account's totals, or ``None`` when it has no event at all."""
        stored, live = self._stored.get(account_id), self._live.get(account_id)
        if stored is None or live is None:
            return stored or live
        return EventTotals(
            stored.count + live.count,
            max(stored.last_event_id, live.last_event_id),
            max(stored.last_event_at, live.last_event_at),
        )

    def last_event_id(self) -> int:
        """The highest event id known: the horizon, or a later one published since."""
        return max((t.last_event_id for t in self._live.values()), default=self.horizon)
