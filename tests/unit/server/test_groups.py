"""server/groups.py: each event of a group's scope goes to exactly one member, until acked.

The groups read the event log of a real store (the in-memory backend, which passes the same
contract suite as SQLite and PostgreSQL); the members are sessions as a group sees them, keeping
the push frames they were handed. Timeouts are short, every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from switchboard.model.events import Checkpoint, NewMessage, StoredEvent
from switchboard.protocol.errors import InvalidArguments
from switchboard.server.groups import GroupKind, GroupRegistry
from switchboard.store.memory import MemoryStore

WAIT_S = 5.0
LONG_S = 60.0  # a visibility timeout no test waits out


@dataclass(eq=False)
class Member:
    """A worker session in a group, keeping the pushes it was handed."""

    is_worker: bool = True
    is_open: bool = True
    wants_summary: bool = False
    pushes: list[dict[str, Any]] = field(default_factory=list)

    def deliver_group(self, frame: bytes) -> None:
        [[name, args]] = json.loads(frame)
        assert name == "newMessage"
        self.pushes.append(args)

    @property
    def event_ids(self) -> list[int]:
        return [args["eventId"] for args in self.pushes]


class Log:
    """Appends new mail to the store's log as the engine does, one UID after another."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.uids: dict[tuple[str, str], int] = {}

    async def mail(self, count: int, account: str = "alice", mailbox: str = "INBOX") -> list[
        StoredEvent
    ]:
        key = (account, mailbox)
        first = self.uids.get(key, 0) + 1
        events = [NewMessage(account, mailbox, 1, uid) for uid in range(first, first + count)]
        self.uids[key] = first + count - 1
        stored = await self.store.record(account, mailbox, Checkpoint(1, first + count - 1), events)
        return list(stored)


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not check():  # noqa: ASYNC110 - a member's pushes have no event to wait on
            await asyncio.sleep(0.01)


async def settle() -> None:
    """Let the pumps run until they have nothing left to do right now."""
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)


@pytest.fixture
async def world() -> AsyncIterator[tuple[MemoryStore, GroupRegistry, Log]]:
    store = MemoryStore()
    registry = GroupRegistry(store, max_in_flight=10)
    try:
        yield store, registry, Log(store)
    finally:
        await registry.stop()


World = tuple[MemoryStore, GroupRegistry, Log]


async def test_each_event_goes_to_exactly_one_member_and_names_the_group(world: World) -> None:
    _, registry, log = world
    first, second = Member(), Member()
    for member in (first, second):
        await registry.join(member, "senders", GroupKind.ALL, visibility_timeout_s=LONG_S)
    registry.on_events(await log.mail(4))
    await eventually(lambda: len(first.pushes) + len(second.pushes) == 4)
    await settle()
    assert sorted(first.event_ids + second.event_ids) == [1, 2, 3, 4]
    assert len(first.pushes) == len(second.pushes) == 2  # the one with fewer in flight gets it
    assert {args["group"] for args in first.pushes + second.pushes} == {"senders"}
    assert {args["account"] for args in first.pushes} == {"alice"}


async def test_a_new_group_starts_at_the_end_of_the_log(world: World) -> None:
    _, registry, log = world
    await log.mail(3)  # before the group existed: not its work
    member = Member()
    await registry.join(member, "late", GroupKind.ALL, visibility_timeout_s=LONG_S)
    registry.on_events(await log.mail(1))
    await eventually(lambda: member.event_ids == [4])


async def test_an_event_not_acked_in_time_is_sent_again(world: World) -> None:
    _, registry, log = world
    member = Member()
    group = await registry.join(member, "slow", GroupKind.ALL, visibility_timeout_s=0.05)
    registry.on_events(await log.mail(1))
    await eventually(lambda: member.event_ids[:2] == [1, 1])
    assert group.redelivered >= 1


async def test_what_a_leaving_member_held_goes_to_another(world: World) -> None:
    _, registry, log = world
    leaving, staying = Member(), Member()
    await registry.join(leaving, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    registry.on_events(await log.mail(2))
    await eventually(lambda: leaving.event_ids == [1, 2])
    await registry.join(staying, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    await settle()
    assert staying.pushes == []  # nothing free to give it yet
    await registry.leave(leaving)
    await eventually(lambda: sorted(staying.event_ids) == [1, 2])


async def test_a_closed_member_loses_its_events_to_an_open_one(world: World) -> None:
    _, registry, log = world
    gone, alive = Member(), Member()
    await registry.join(gone, "g", GroupKind.ALL, visibility_timeout_s=0.05)
    registry.on_events(await log.mail(1))
    await eventually(lambda: gone.event_ids == [1])
    gone.is_open = False
    await registry.join(alive, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    await eventually(lambda: alive.event_ids == [1])
    assert gone.event_ids == [1]


async def test_acks_move_the_durable_position_and_a_later_member_starts_after_it(
    world: World,
) -> None:
    store, registry, log = world
    member = Member()
    group = await registry.join(member, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    registry.on_events(await log.mail(2))
    await eventually(lambda: member.event_ids == [1, 2])
    acked, unknown = await group.ack(member, [2, 1, 99])
    assert (acked, unknown) == ([2, 1], [99])
    assert (await store.group_position("g")).position == 2
    await registry.leave(member)
    assert registry.get("g") is None  # no member left: forgotten in memory, kept in the store
    await log.mail(1)
    later = Member()
    await registry.join(later, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    await eventually(lambda: later.event_ids == [3])
    await settle()
    assert later.event_ids == [3]


async def test_an_id_held_by_another_member_is_unknown_to_this_one(world: World) -> None:
    store, registry, log = world
    holder, other = Member(), Member()
    group = await registry.join(holder, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    registry.on_events(await log.mail(1))
    await eventually(lambda: holder.event_ids == [1])
    await registry.join(other, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    assert await group.ack(other, [1]) == ([], [1])
    assert (await store.group_position("g")).position == 0


async def test_a_member_holds_at_most_max_in_flight_events(world: World) -> None:
    store, _, log = world
    registry = GroupRegistry(store, max_in_flight=2)
    member = Member()
    try:
        group = await registry.join(member, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
        registry.on_events(await log.mail(5))
        await eventually(lambda: len(member.pushes) == 2)
        await settle()
        assert member.event_ids == [1, 2]
        await group.ack(member, [1])
        await eventually(lambda: member.event_ids == [1, 2, 3])
    finally:
        await registry.stop()


async def test_a_mailbox_group_gets_only_the_mailboxes_its_members_watch(world: World) -> None:
    _, registry, log = world
    member = Member()
    await registry.join(
        member, "work", GroupKind.MAILBOXES, visibility_timeout_s=LONG_S,
        account_id="alice", mailboxes=("Work",),
    )  # fmt: skip
    inbox = await log.mail(1, mailbox="INBOX")
    work = await log.mail(1, mailbox="Work")
    registry.on_events(inbox + work)
    await eventually(lambda: member.event_ids == [work[0].event_id])
    await settle()
    assert [args["mailboxId"] for args in member.pushes] == [member.pushes[0]["mailboxId"]]
    assert len(member.pushes) == 1


async def test_a_name_is_one_kind_of_group_while_it_has_members(world: World) -> None:
    _, registry, _ = world
    await registry.join(Member(), "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    with pytest.raises(InvalidArguments, match="watchAll group"):
        await registry.join(
            Member(), "g", GroupKind.MAILBOXES, visibility_timeout_s=LONG_S,
            account_id="alice", mailboxes=("INBOX",),
        )  # fmt: skip


async def test_the_last_member_leaving_with_an_event_in_hand_stops_the_group(world: World) -> None:
    # Its leave wakes the pump and cancels it in one step; on Python 3.11 a wait_for whose
    # event fired swallowed that cancel, and the leave (a worker's disconnect) never returned.
    _, registry, log = world
    member = Member()
    await registry.join(member, "g", GroupKind.ALL, visibility_timeout_s=LONG_S)
    registry.on_events(await log.mail(1))
    await eventually(lambda: member.event_ids == [1])
    await settle()  # the pump waits for the event's deadline
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(registry.leave(member), WAIT_S)
    assert loop.time() - started < WAIT_S / 2
    assert registry.get("g") is None
