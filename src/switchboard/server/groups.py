"""Worker groups: each event of a group's scope goes to exactly one connected member, until acked.

How it works (issue 6, docs/reliability.md "Worker groups"): a :class:`Group` reads its events
from the store's log, never from the live fan-out, starting at its durable position. The hub only
wakes it (:meth:`GroupRegistry.on_events`). One pump task per group with members hands each
event to the member with the fewest events in flight (round-robin on ties) and records it in
flight with a deadline; the same task re-sends an event whose deadline passed, or whose member
left, to another member (or the same one when it is alone).

Memory is bounded: at most ``max_in_flight`` events per member are held; the rest stay in the
log until there is room, read a page at a time (lazily, as ``Session.replay`` does).

Durability: every ``ack`` goes to the store (:meth:`Store.group_ack`) before it is answered, with
``settled_through`` = the highest id such that every group event at or below it was acked or was
out of scope. A group whose members all left is forgotten in memory; the next member to join
reloads its position and gets everything after it. Delivery is at-least-once: ``eventId`` is the
key to deduplicate on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import itertools
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from switchboard.model.events import NewMessage, StoredEvent
from switchboard.model.store import Store
from switchboard.protocol import errors as wire
from switchboard.protocol.frames import encode_push
from switchboard.server.hub import push_args

__all__ = ["Group", "GroupKind", "GroupMember", "GroupRegistry"]

logger = logging.getLogger("switchboard.server")

# Events read from the log per query; also the most a pump holds between two awaits.
_PAGE_EVENTS = 200


class GroupKind(enum.Enum):
    """How members joined: ``watchAll`` (every account) or ``watchMailboxes`` (listed ones).

    A name is one kind while it has members; mixing is refused with ``invalidArguments``.
    """

    ALL = "watchAll"
    MAILBOXES = "watchMailboxes"


class GroupMember(Protocol):
    """A session as a group sees it."""

    @property
    def is_worker(self) -> bool:
        """Whether pushes carry the ``account`` key (``/workers``)."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether the session can still take frames."""
        ...

    @property
    def wants_summary(self) -> bool:
        """Whether pushes carry the ``summary`` object."""
        ...

    def deliver_group(self, frame: bytes) -> None:
        """Queue one group push frame; must not block or raise."""
        ...


@dataclass(slots=True)
class _Member:
    session: GroupMember
    visibility_timeout_s: float
    in_flight: int = 0
    order: int = 0  # join order, breaks ties so delivery rotates


@dataclass(slots=True)
class _InFlight:
    event: NewMessage
    member: _Member
    deadline: float


@dataclass(eq=False)
class Group:
    """One named group: members, events in flight, and the durable position's mirror."""

    name: str
    kind: GroupKind
    store: Store
    max_in_flight: int
    position: int
    acked_above: set[int]
    # ALL: unused; MAILBOXES: account -> mailbox names, the union of what members asked for.
    scope: dict[str, set[str]] = field(default_factory=dict)
    members: dict[GroupMember, _Member] = field(default_factory=dict)
    in_flight: dict[int, _InFlight] = field(default_factory=dict)
    # Events to send again (deadline passed or member gone), oldest first.
    retry: collections.deque[tuple[int, NewMessage]] = field(default_factory=collections.deque)
    delivered = 0
    redelivered = 0

    def __post_init__(self) -> None:
        # The highest log id the pump has looked at; everything above it is still in the log.
        self.cursor = self.position
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._joins = itertools.count()

    # -- membership ------------------------------------------------------------------------

    def covers(self, event: NewMessage) -> bool:
        """Whether ``event`` is in this group's scope."""
        if self.kind is GroupKind.ALL:
            return True
        return event.mailbox in self.scope.get(event.account_id, ())

    def join(self, session: GroupMember, visibility_timeout_s: float) -> None:
        """Add ``session`` (again: only its visibility timeout changes) and start pumping."""
        member = self.members.get(session)
        if member is None:
            self.members[session] = _Member(session, visibility_timeout_s, 0, next(self._joins))
        else:
            member.visibility_timeout_s = visibility_timeout_s
        if self._task is None:
            self._task = asyncio.create_task(self._pump(), name=f"switchboard-group-{self.name}")
        self.wake()

    def leave(self, session: GroupMember) -> None:
        """Remove ``session``; what it held goes back to be sent to another member."""
        member = self.members.pop(session, None)
        if member is None:
            return
        for event_id, held in sorted(self.in_flight.items()):
            if held.member is member:
                del self.in_flight[event_id]
                self.retry.append((event_id, held.event))
        self.wake()

    async def stop(self) -> None:
        """Cancel the pump and wait for it to end (the group's state is in the store).

        Raises:
            asyncio.CancelledError: the caller was cancelled meanwhile (never swallowed here).
        """
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    def wake(self) -> None:
        """Have the pump look again (new events, room freed, a member joined or left)."""
        self._wake.set()

    # -- acknowledgements -------------------------------------------------------------------

    async def ack(
        self, session: GroupMember, event_ids: Sequence[int]
    ) -> tuple[list[int], list[int]]:
        """Acknowledge the ids ``session`` holds; return (acked, unknown).

        Ids the session does not hold (never sent to it, already acked, or re-sent to another
        member after its deadline) are ``unknown``: never an error, the event was or will be
        handled by someone.

        Raises:
            StoreError: the position cannot be written (the acks are then not recorded).
        """
        member = self.members.get(session)
        acked: list[int] = []
        unknown: list[int] = []
        for event_id in event_ids:
            held = self.in_flight.get(event_id)
            if member is not None and held is not None and held.member is member:
                del self.in_flight[event_id]
                member.in_flight -= 1
                self.acked_above.add(event_id)
                acked.append(event_id)
            else:
                unknown.append(event_id)
        if acked:
            new = await self.store.group_ack(
                self.name, acked, settled_through=self._settled_through()
            )
            self.position = max(self.position, new.position)
            self.acked_above = {i for i in self.acked_above if i > self.position}
            self.wake()
        return acked, unknown

    def _settled_through(self) -> int:
        outstanding = [*self.in_flight, *(event_id for event_id, _ in self.retry)]
        return min(outstanding) - 1 if outstanding else self.cursor

    # -- the pump ---------------------------------------------------------------------------

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            self._expire(loop.time())
            self._send_retries(loop.time())
            await self._fill(loop)
            deadlines = [held.deadline for held in self.in_flight.values()]
            timeout = max(0.0, min(deadlines) - loop.time()) if deadlines else None
            # Not wait_for: on Python 3.11 it returns when the event fired at the moment the
            # pump was cancelled (a leave wakes, then stops it), swallowing the cancel, and
            # the pump then waited for ever with its stop() waiting on it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _expire(self, now: float) -> None:
        for event_id, held in sorted(self.in_flight.items()):
            if held.deadline <= now or not held.member.session.is_open:
                del self.in_flight[event_id]
                held.member.in_flight -= 1
                self.retry.append((event_id, held.event))

    def _pick(self) -> _Member | None:
        """The open member with the fewest events in flight and room for one more."""
        best: _Member | None = None
        for member in self.members.values():
            if not member.session.is_open or member.in_flight >= self.max_in_flight:
                continue
            if best is None or (member.in_flight, member.order) < (best.in_flight, best.order):
                best = member
        return best

    def _send(self, member: _Member, event_id: int, event: NewMessage, now: float) -> None:
        self.in_flight[event_id] = _InFlight(event, member, now + member.visibility_timeout_s)
        member.in_flight += 1
        # Rotate: the member just used goes behind the others with as many in flight.
        member.order = next(self._joins)
        args = push_args(
            event_id,
            event,
            with_account=member.session.is_worker,
            with_summary=member.session.wants_summary,
        )
        args["group"] = self.name
        member.session.deliver_group(encode_push("newMessage", args))

    def _send_retries(self, now: float) -> None:
        while self.retry:
            member = self._pick()
            if member is None:
                return
            event_id, event = self.retry.popleft()
            self.redelivered += 1
            self._send(member, event_id, event, now)

    async def _fill(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read the log after the cursor while some member has room."""
        while self._pick() is not None and not self.retry:
            accounts: Collection[str] | None = None
            if self.kind is GroupKind.MAILBOXES:
                accounts = tuple(self.scope)
                if not accounts:
                    return
            page = await self.store.events_after(
                self.cursor, limit=_PAGE_EVENTS, account_ids=accounts
            )
            if not page:
                return
            if not self._take(page, loop.time()):
                return

    def _take(self, page: Sequence[StoredEvent], now: float) -> bool:
        """Send what the page holds; False when the members ran out of room on the way."""
        for stored in page:
            if stored.event_id <= self.cursor:
                continue  # read twice across a join; already handled
            event = stored.event
            if (
                isinstance(event, NewMessage)
                and self.covers(event)
                and stored.event_id not in self.acked_above
                and stored.event_id not in self.in_flight
            ):
                member = self._pick()
                if member is None:
                    return False
                self.delivered += 1
                self._send(member, stored.event_id, event, now)
            self.cursor = stored.event_id
        return True


class GroupRegistry:
    """Every group with members, by name; the hub wakes them, sessions join and leave them.

    Args:
        store: where positions live.
        max_in_flight: events one member may hold unacknowledged.
    """

    def __init__(self, store: Store, *, max_in_flight: int) -> None:
        self._store = store
        self._max_in_flight = max_in_flight
        self._groups: dict[str, Group] = {}
        self._joining: dict[str, asyncio.Lock] = {}

    def get(self, name: str) -> Group | None:
        """The live group by that name, or ``None`` when it has no members."""
        return self._groups.get(name)

    async def join(
        self,
        session: GroupMember,
        name: str,
        kind: GroupKind,
        *,
        visibility_timeout_s: float,
        account_id: str | None = None,
        mailboxes: Collection[str] = (),
    ) -> Group:
        """Add ``session`` to group ``name``, loading the group's position if it had no member.

        Raises:
            InvalidArguments: the group exists with the other kind (watchAll vs watchMailboxes).
            StoreError: the position cannot be read.
        """
        lock = self._joining.setdefault(name, asyncio.Lock())
        async with lock:
            group = self._groups.get(name)
            if group is None:
                start = await self._store.group_position(name)
                group = Group(
                    name,
                    kind,
                    self._store,
                    self._max_in_flight,
                    start.position,
                    set(start.acked_above),
                )
                self._groups[name] = group
            elif group.kind is not kind:
                raise wire.InvalidArguments(
                    f"group {name!r} is a {group.kind.value} group; join it with {group.kind.value}"
                )
            if kind is GroupKind.MAILBOXES and account_id is not None:
                group.scope.setdefault(account_id, set()).update(mailboxes)
            group.join(session, visibility_timeout_s)
            return group

    async def leave(self, session: GroupMember) -> None:
        """Take ``session`` out of every group; a group left empty stops and is forgotten."""
        for name, group in list(self._groups.items()):
            if session not in group.members:
                continue
            group.leave(session)
            if not group.members:
                del self._groups[name]
                await group.stop()

    def on_events(self, events: Sequence[StoredEvent]) -> None:
        """Wake the groups some of ``events`` belong to (the hub calls this; never blocks)."""
        for group in self._groups.values():
            if any(isinstance(s.event, NewMessage) and group.covers(s.event) for s in events):
                group.wake()

    async def stop(self) -> None:
        """Stop every pump (positions are already in the store)."""
        groups, self._groups = list(self._groups.values()), {}
        for group in groups:
            await group.stop()
