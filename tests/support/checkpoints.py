"""An in-memory CheckpointStore and EventSink for engine tests, recording every call.

``MemoryCheckpoints.record`` is atomic by construction (no await inside), keeps every call in
``calls`` so tests can assert one record per IDLE wake, and fails on demand (``fail_records``)
to prove that a store failure advances nothing. ``CollectingSink`` gathers published events and
lets a test wait for a condition with a timeout instead of sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from switchboard.model.events import Checkpoint, EngineEvent, NewMessage, StoredEvent
from switchboard.store.errors import StoreError

__all__ = ["CollectingSink", "MemoryCheckpoints", "RecordCall"]


@dataclass(frozen=True, slots=True)
class RecordCall:
    account_id: str
    mailbox: str
    checkpoint: Checkpoint
    events: tuple[EngineEvent, ...]


class MemoryCheckpoints:
    """Checkpoints and an event log in dicts; satisfies ``CheckpointStore``."""

    def __init__(self) -> None:
        self.checkpoints: dict[tuple[str, str], Checkpoint] = {}
        self.log: list[StoredEvent] = []
        self.calls: list[RecordCall] = []
        self.fail_records = False
        self.failed_records = 0

    async def load_checkpoint(self, account_id: str, mailbox: str) -> Checkpoint | None:
        return self.checkpoints.get((account_id, mailbox))

    async def record(
        self,
        account_id: str,
        mailbox: str,
        checkpoint: Checkpoint,
        events: Sequence[EngineEvent],
    ) -> Sequence[StoredEvent]:
        if self.fail_records:
            self.failed_records += 1
            raise StoreError("record() failing on purpose (test switch)")
        old = self.checkpoints.get((account_id, mailbox))
        if old is not None and old.uidvalidity == checkpoint.uidvalidity:
            assert checkpoint.last_uid >= old.last_uid, "checkpoint moved backwards"
        self.calls.append(RecordCall(account_id, mailbox, checkpoint, tuple(events)))
        self.checkpoints[(account_id, mailbox)] = checkpoint
        stored = [
            StoredEvent(len(self.log) + i + 1, event, time.time()) for i, event in enumerate(events)
        ]
        self.log.extend(stored)
        return stored


class CollectingSink:
    """An EventSink that keeps everything published and wakes waiters."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self._changed = asyncio.Event()

    def publish(self, events: Sequence[StoredEvent]) -> None:
        self.events.extend(events)
        self._changed.set()

    def new_messages(
        self, account_id: str | None = None, mailbox: str | None = None
    ) -> list[NewMessage]:
        return [
            e.event
            for e in self.events
            if isinstance(e.event, NewMessage)
            and (account_id is None or e.event.account_id == account_id)
            and (mailbox is None or e.event.mailbox == mailbox)
        ]

    def uids(self, account_id: str | None = None, mailbox: str = "INBOX") -> list[int]:
        return [m.uid for m in self.new_messages(account_id, mailbox)]

    def of_type(self, kind: type) -> list[EngineEvent]:
        return [e.event for e in self.events if isinstance(e.event, kind)]

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        """Wait until ``predicate()`` holds; fail the test after ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_uids(
        self, expected: list[int], mailbox: str = "INBOX", timeout_s: float = 10.0
    ) -> None:
        await self.wait_for(lambda: len(self.uids(mailbox=mailbox)) >= len(expected), timeout_s)
