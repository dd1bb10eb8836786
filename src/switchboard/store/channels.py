"""The PostgreSQL ``NOTIFY`` channel names the shared store sends on, for whoever listens.

A name only, kept apart from :mod:`switchboard.store.postgres` so that a listener (the cluster's
event tail) depends on the store's promise — "every ``record`` notifies this channel with its last
event id" — and not on the backend module itself.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EVENTS_CHANNEL"]

EVENTS_CHANNEL: Final = "switchboard_events"
"""Notified by ``PostgresStore.record`` in its transaction (so on commit) with the last event id."""
