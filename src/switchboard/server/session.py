"""One WebSocket session on ``/workers`` or ``/clients``: frames in, one reply frame out, pushes.

How it works: the reader takes one request frame at a time, runs its commands in order and
queues exactly one reply frame (docs/protocol.md, "Frames"). Pushes (``newMessage``) that arrive
while a frame is being processed are held and queued after that frame's reply, so a reply and a
push are never interleaved or merged. A single writer task drains the queue to the socket.

What a command may do is not decided here: the sans-I/O
:class:`~switchboard.server.sessioncore.SessionCore` admits it (or refuses it), the handlers run
it and return an outcome, and the core applies it.
This class moves frames, runs the write loop, and carries out the two effects that need the
outside world: subscribing to the hub, and replaying the log after the reply.

The outbox is bounded (``max_pending_frames``): a consumer that stops reading is disconnected with
close code 1013 and a reason saying so, instead of the server buffering without limit. A session
whose token is revoked is closed the same way (:meth:`Session.close`, code 1008), by
``server.revocation``.

Commands are rate-limited per connection by a token bucket (``rate_limit_per_s`` sustained,
``rate_limit_burst`` at once): a command over the limit is answered ``rateLimited`` and not run;
the connection stays open.

Nothing a peer sends can end the session: every command failure becomes an ``error`` response
(``handlers.execute``); only the peer, the server's shutdown, a full outbox or a revoked token
closes it.

Frames are UTF-8 ``bytes`` from encoding to the socket: the writer hands them to the WebSocket as
text frames (``text=True``), so no frame is decoded to ``str`` and encoded again. The writer
takes every frame queued at once as a batch: all but the last are written straight to the
socket's buffer (``broadcast`` to this one connection, no flow-control wait), the last with
``send``, whose wait for the buffer to drain then covers the whole batch. That costs about 40 %
less CPU per frame than one ``send`` each (``docs/benchmarks.md``); a batch stops after
``WRITE_BATCH_BYTES``, so a consumer that stops reading still leaves frames in the outbox, where
the bound above applies.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from switchboard.model.events import NewMessage
from switchboard.protocol import errors as wire
from switchboard.protocol.frames import Response, decode_frame, encode_frame
from switchboard.protocol.messages import Command
from switchboard.protocol.methods import Interface
from switchboard.server.auth import Principal
from switchboard.server.config import ServerSettings
from switchboard.server.hub import Subscriber
from switchboard.server.replay import EventLog, replay_frames
from switchboard.server.sessioncore import (
    Call,
    InvalidState,
    Outcome,
    ReplayFrom,
    SessionCore,
    SessionState,
    ShellEffect,
)

__all__ = [
    "SLOW_CONSUMER_CLOSE_CODE",
    "CommandRunner",
    "ErrorCounter",
    "Session",
    "SessionLimits",
    "SessionServices",
    "Subscriptions",
    "TokenBucket",
]

logger = logging.getLogger("switchboard.server")

#: Close code for a consumer too slow to take its events (RFC 6455 §7.4.1: "try again later").
SLOW_CONSUMER_CLOSE_CODE = 1013

#: Most bytes of frames written without a flow-control wait: twice websockets' default buffer
#: high-water mark (32 KiB), so a batch keeps the socket busy without growing its buffer much.
WRITE_BATCH_BYTES = 64 * 1024
FRAGMENT_BYTES = 256 * 1024
"""A frame longer than this (a large ``getMessages`` reply) goes out as WebSocket fragments of
this size (RFC 6455 §5.4; the message, hence the protocol, is the same): each is serialized from
a slice of the encoded reply, and the peer reads it in pieces, instead of one more copy of the
whole reply on each side."""


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """One connection's limits (``ServerSettings`` of the same names)."""

    max_frame_bytes: int
    max_batch: int
    max_pending_frames: int
    rate_limit_per_s: float
    rate_limit_burst: int

    @classmethod
    def of(cls, settings: ServerSettings) -> SessionLimits:
        """The limits ``settings`` set."""
        return cls(
            settings.max_frame_bytes,
            settings.max_batch,
            settings.max_pending_frames,
            settings.rate_limit_per_s,
            settings.rate_limit_burst,
        )


class CommandRunner(Protocol):
    """What runs an admitted command (the server's handlers)."""

    async def execute(self, caller: Session, call: Call) -> Outcome:
        """Run ``call`` for ``caller``; never raises."""
        ...


class Subscriptions(Protocol):
    """The live fan-out, as a session subscribes to it (the hub)."""

    def subscribe_all(self, subscriber: Subscriber) -> None:
        """Every account's mail."""
        ...

    def subscribe_account(self, subscriber: Subscriber, account_id: str) -> None:
        """One account's mail, filtered by the subscriber's watch set."""
        ...


class ErrorCounter(Protocol):
    """Counts the error responses sent (the server's metrics)."""

    def count_errors(self, responses: Iterable[Response]) -> None:
        """Count the ``error`` responses among ``responses``."""
        ...


@dataclass(frozen=True, slots=True)
class SessionServices:
    """What every session of a server works with; built once, by the server's wiring.

    Attributes:
        limits: frame, batch, outbox and rate limits.
        commands: runs admitted commands.
        hub: the live fan-out a watch subscribes to.
        log: the event log a resumed watch replays from.
        metrics: counts error responses.
        closed: awaited once with the session when it ends (it releases what it held).
    """

    limits: SessionLimits
    commands: CommandRunner
    hub: Subscriptions
    log: EventLog
    metrics: ErrorCounter
    closed: Callable[[Session], Awaitable[None]]


class TokenBucket:
    """A token bucket: ``burst`` tokens at most, refilled at ``rate_per_s`` per second.

    Args:
        rate_per_s: tokens added per second.
        burst: the bucket's size (and its content at the start).
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate_per_s = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._stamp = clock()

    def take(self) -> bool:
        """Take one token; ``False`` (and nothing taken) when the bucket is empty."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate_per_s)
        self._stamp = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


class Session:
    """One connection: its :class:`SessionCore`, its socket and outbox, its pushes and replays.

    Args:
        core: the connection's protocol state (interface, principal…).
        websocket: the socket.
        services: the server's parts every session works with.
    """

    def __init__(
        self, core: SessionCore, websocket: ServerConnection, services: SessionServices
    ) -> None:
        self.core = core
        self.websocket = websocket
        self._services = services
        limits = services.limits
        self._limits = limits
        self._max_pending_frames = limits.max_pending_frames
        self._bucket = TokenBucket(limits.rate_limit_per_s, limits.rate_limit_burst)
        self.is_worker = core.is_worker
        """Whether this is a ``/workers`` session (its pushes carry ``account``)."""
        self._outbox: collections.deque[bytes] = collections.deque()
        self._outbox_ready = asyncio.Event()
        self._outbox_drained = asyncio.Event()
        # Pushes held during a frame: (frame, event id), or (frame, None) for group pushes,
        # which the resume floor does not filter (a group re-sends on purpose).
        self._held: list[tuple[bytes, int | None]] = []
        self._holding = False
        self.pushed = 0
        self.last_event_id = 0
        # Resume (`since`): live events at or below this id were already replayed from the log.
        self._replay_floor = 0
        # Work a command asks to run after its frame's reply and before held pushes (replays).
        self._after_reply: list[Callable[[], Awaitable[None]]] = []
        self._closer: asyncio.Task[None] | None = None

    # -- the core's state, read-only (the handlers' Caller) -------------------------------

    @property
    def interface(self) -> Interface:
        """The endpoint the socket opened."""
        return self.core.interface

    @property
    def principal(self) -> Principal | None:
        """Who opened the socket (``None``: no auth configured, loopback only)."""
        return self.core.principal

    @property
    def group(self) -> str | None:
        """The worker group this session joined, if any."""
        return self.core.group

    @property
    def wants_summary(self) -> bool:
        """Whether pushes carry the summary object."""
        return self.core.wants_summary

    @property
    def state(self) -> SessionState:
        """Where the session stands (the core's state)."""
        return self.core.state

    @state.setter
    def state(self, value: SessionState) -> None:
        # The write loop marks the session closed when the peer is gone; the core moves.
        if value is not SessionState.CLOSED:
            raise InvalidState(f"a session is moved to {value.value} by its core only")
        self.core.close()

    # -- the hub's view (Subscriber) -------------------------------------------------------

    def wants(self, event: NewMessage) -> bool:
        """Workers take all of a subscribed account's mail; clients only their watch set's."""
        return self.is_worker or event.mailbox in self.core.client_watches

    @property
    def is_open(self) -> bool:
        """Whether the session can still take frames."""
        return self.core.state is not SessionState.CLOSED

    def deliver_group(self, frame: bytes) -> None:
        """Queue a group push frame (after the current frame's reply, like ``deliver``)."""
        if self.core.state is SessionState.CLOSED:
            return
        self.pushed += 1
        if self._holding:
            self._held.append((frame, None))
        else:
            self._enqueue(frame)

    def deliver(self, frame: bytes, event_id: int) -> None:
        """Queue a push frame, after the reply of the frame being processed if any."""
        if self.core.state is SessionState.CLOSED or event_id <= self._replay_floor:
            return
        self.last_event_id = max(self.last_event_id, event_id)
        self.pushed += 1
        if self._holding:
            self._held.append((frame, event_id))
        else:
            self._enqueue(frame)

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes; always releases what the session held."""
        writer = asyncio.create_task(self._write_loop(), name="switchboard-session-writer")
        try:
            async for message in self.websocket:
                if self.core.state is SessionState.CLOSED:
                    break  # closed by us (revoked token, slow consumer): run nothing more
                if isinstance(message, bytes):
                    continue  # binary frames are ignored, as the original did
                self._holding = True
                try:
                    reply = await self.process_frame(message)
                    self._enqueue(reply)
                    actions, self._after_reply = self._after_reply, []
                    for action in actions:
                        await action()
                finally:
                    self._holding = False
                held, self._held = self._held, []
                for frame, event_id in held:
                    if event_id is None or event_id > self._replay_floor:
                        self._enqueue(frame)
        except ConnectionClosed:
            pass
        finally:
            self.core.close()
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if self._closer is not None:
                await self._closer
            await self._services.closed(self)

    async def process_frame(self, text: str) -> bytes:
        """Run every command of one request frame and return the reply frame."""
        limits = self._limits
        decoded = decode_frame(
            text, max_frame_bytes=limits.max_frame_bytes, max_batch=limits.max_batch
        )
        metrics = self._services.metrics
        if decoded.frame_error is not None:
            metrics.count_errors([decoded.frame_error])
            return encode_frame([decoded.frame_error])
        responses: list[Response] = []
        for item in decoded.items:
            if isinstance(item, Response):
                responses.append(item)  # a malformed command, already answered
            elif not self._bucket.take():
                limited = wire.RateLimited(
                    f"more than {limits.rate_limit_per_s:g} commands per second "
                    f"(burst {limits.rate_limit_burst}); slow down"
                )
                responses.append(limited.to_response(item))
            else:
                responses.append(await self._run(item))
        metrics.count_errors(responses)
        return encode_frame(responses)

    async def _run(self, command: Command) -> Response:
        """One command: admitted by the core, run by the handlers, its effects applied."""
        try:
            admitted = self.core.admit(command)
        except Exception:  # a bug in a table or a validator: this command fails, not the socket
            logger.exception("command %s could not be admitted", command.method)
            return wire.ServerError("internal error").to_response(command)
        if isinstance(admitted, Response):
            return admitted
        outcome = await self._services.commands.execute(self, admitted)
        for effect in self.core.apply(outcome):
            self._carry_out(effect)
        return outcome.response

    def _carry_out(self, effect: ShellEffect) -> None:
        if isinstance(effect, ReplayFrom):
            frames = replay_frames(self._services.log, effect.since, effect.account_id, self)
            self._after_reply.append(lambda: self.replay(frames))
        elif effect.account_id is None:
            self._services.hub.subscribe_all(self)
        else:
            self._services.hub.subscribe_account(self, effect.account_id)

    async def replay(self, events: AsyncIterator[tuple[bytes, int]]) -> None:
        """Queue replayed push frames (ascending ids); live duplicates of them are dropped.

        Waits while the outbox is over half full, so a long replay cannot overflow it.
        """
        high_water = max(1, self._max_pending_frames // 2)
        async for frame, event_id in events:
            while len(self._outbox) >= high_water and self.core.state is not SessionState.CLOSED:
                await self._outbox_drained.wait()
            if self.core.state is SessionState.CLOSED:
                return
            self._replay_floor = max(self._replay_floor, event_id)
            self.last_event_id = max(self.last_event_id, event_id)
            self.pushed += 1
            self._enqueue(frame)

    def _enqueue(self, frame: bytes) -> None:
        if self.core.state is SessionState.CLOSED:
            return
        if len(self._outbox) >= self._max_pending_frames:
            logger.warning("closing a slow consumer: %d frames pending", len(self._outbox))
            self.close(SLOW_CONSUMER_CLOSE_CODE, "slow consumer: too many pending frames")
            return
        self._outbox.append(frame)
        self._outbox_ready.set()
        self._outbox_drained.clear()

    def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` and ``reason``; nothing more is sent or run.

        Does not wait: the closing handshake runs as a task that :meth:`run` awaits when it
        ends. Does nothing on a session already closed.
        """
        if self.core.state is SessionState.CLOSED:
            return
        self.core.close()
        self._outbox.clear()
        self._outbox_drained.set()  # wake a replay waiting for room
        # Owned by the session: awaited in run()'s cleanup.
        self._closer = asyncio.get_running_loop().create_task(self.websocket.close(code, reason))

    async def _write_loop(self) -> None:
        outbox = self._outbox
        while True:
            await self._outbox_ready.wait()
            while outbox:
                budget = WRITE_BATCH_BYTES
                while len(outbox) > 1 and budget > 0 and len(outbox[0]) <= FRAGMENT_BYTES:
                    budget -= len(outbox[0])
                    try:
                        broadcast((self.websocket,), outbox[0], text=True, raise_exceptions=True)
                    except ExceptionGroup:
                        break  # not written: send() below retries it and reports the failure
                    outbox.popleft()
                frame = outbox.popleft()
                try:
                    await self.websocket.send(
                        frame if len(frame) <= FRAGMENT_BYTES else _fragments(frame), text=True
                    )
                except ConnectionClosed:
                    self.state = SessionState.CLOSED
                    self._outbox_drained.set()  # wake a replay waiting for room
                    return
            self._outbox_ready.clear()
            self._outbox_drained.set()


def _fragments(frame: bytes) -> Iterator[memoryview]:
    """``frame`` in slices of :data:`FRAGMENT_BYTES` (no copy; UTF-8 may be cut anywhere, as
    RFC 6455 §5.6 checks a fragmented text message whole)."""
    view = memoryview(frame)
    return (view[at : at + FRAGMENT_BYTES] for at in range(0, len(frame), FRAGMENT_BYTES))
