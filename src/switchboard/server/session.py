"""One WebSocket session on ``/workers`` or ``/clients``: frames in, one reply frame out, pushes.

How it works: the reader takes one request frame at a time, runs its commands in order and
queues exactly one reply frame (docs/protocol.md, "Frames"). Pushes (``newMessage``) that arrive
while a frame is being processed are held and queued after that frame's reply, so a reply and a
push are never interleaved or merged. A single writer task drains the queue to the socket.

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
import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed

from switchboard.model.events import NewMessage
from switchboard.protocol import errors as wire
from switchboard.protocol.frames import Response, decode_frame, encode_frame
from switchboard.protocol.methods import Interface
from switchboard.server.auth import Principal

if TYPE_CHECKING:
    from switchboard.server.app import ServerContext

__all__ = ["SLOW_CONSUMER_CLOSE_CODE", "Session", "SessionState", "TokenBucket"]

logger = logging.getLogger("switchboard.server")

#: Close code for a consumer too slow to take its events (RFC 6455 §7.4.1: "try again later").
SLOW_CONSUMER_CLOSE_CODE = 1013

#: Most bytes of frames written without a flow-control wait: twice websockets' default buffer
#: high-water mark (32 KiB), so a batch keeps the socket busy without growing its buffer much.
WRITE_BATCH_BYTES = 64 * 1024


class SessionState(enum.Enum):
    """Where a session stands. Workers are READY from the start; clients after ``connect``."""

    AWAITING_CONNECT = "awaitingConnect"
    READY = "ready"
    CLOSED = "closed"


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
    """The state of one connection: interface, account (clients), subscriptions, outbox."""

    def __init__(
        self,
        interface: Interface,
        websocket: ServerConnection,
        context: ServerContext,
        principal: Principal | None = None,
    ) -> None:
        self.interface = interface
        self.websocket = websocket
        self.context = context
        # Who opened the socket (None: no auth configured, loopback only).
        self.principal = principal
        # The worker group this session joined, if any (issue 6).
        self.group: str | None = None
        settings = context.settings
        self._bucket = TokenBucket(settings.rate_limit_per_s, settings.rate_limit_burst)
        self.state = (
            SessionState.READY if interface is Interface.WORKERS else SessionState.AWAITING_CONNECT
        )
        # /clients: the account chosen by `connect`; /workers: None (every command names one).
        self.account_id: str | None = None
        # /clients: the mailboxes this connection watches (pushes are filtered by it).
        self.client_watches: frozenset[str] = frozenset()
        # Set by a watch command with "summary": true; pushes then carry the summary object.
        self.wants_summary = False
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

    # -- the hub's view (Subscriber) -------------------------------------------------------

    @property
    def is_worker(self) -> bool:
        """Whether this is a ``/workers`` session (its pushes carry ``account``)."""
        return self.interface is Interface.WORKERS

    def wants(self, event: NewMessage) -> bool:
        """Workers take all of a subscribed account's mail; clients only their watch set's."""
        return self.is_worker or event.mailbox in self.client_watches

    @property
    def is_open(self) -> bool:
        """Whether the session can still take frames."""
        return self.state is not SessionState.CLOSED

    def deliver_group(self, frame: bytes) -> None:
        """Queue a group push frame (after the current frame's reply, like ``deliver``)."""
        if self.state is SessionState.CLOSED:
            return
        self.pushed += 1
        if self._holding:
            self._held.append((frame, None))
        else:
            self._enqueue(frame)

    def deliver(self, frame: bytes, event_id: int) -> None:
        """Queue a push frame, after the reply of the frame being processed if any."""
        if self.state is SessionState.CLOSED or event_id <= self._replay_floor:
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
                if self.state is SessionState.CLOSED:
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
            self.state = SessionState.CLOSED
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if self._closer is not None:
                await self._closer
            await self.context.session_closed(self)

    async def process_frame(self, text: str) -> bytes:
        """Run every command of one request frame and return the reply frame."""
        settings = self.context.settings
        decoded = decode_frame(
            text, max_frame_bytes=settings.max_frame_bytes, max_batch=settings.max_batch
        )
        if decoded.frame_error is not None:
            self.context.metrics.count_errors([decoded.frame_error])
            return encode_frame([decoded.frame_error])
        responses: list[Response] = []
        for item in decoded.items:
            if isinstance(item, Response):
                responses.append(item)  # a malformed command, already answered
            elif not self._bucket.take():
                limited = wire.RateLimited(
                    f"more than {settings.rate_limit_per_s:g} commands per second "
                    f"(burst {settings.rate_limit_burst}); slow down"
                )
                responses.append(limited.to_response(item))
            else:
                responses.append(await self.context.handlers.execute(self, item))
        self.context.metrics.count_errors(responses)
        return encode_frame(responses)

    def after_reply(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once this frame's reply is queued, before live pushes resume."""
        self._after_reply.append(action)

    async def replay(self, events: AsyncIterator[tuple[bytes, int]]) -> None:
        """Queue replayed push frames (ascending ids); live duplicates of them are dropped.

        Waits while the outbox is over half full, so a long replay cannot overflow it.
        """
        high_water = max(1, self.context.settings.max_pending_frames // 2)
        async for frame, event_id in events:
            while len(self._outbox) >= high_water and self.state is not SessionState.CLOSED:
                await self._outbox_drained.wait()
            if self.state is SessionState.CLOSED:
                return
            self._replay_floor = max(self._replay_floor, event_id)
            self.last_event_id = max(self.last_event_id, event_id)
            self.pushed += 1
            self._enqueue(frame)

    def _enqueue(self, frame: bytes) -> None:
        if self.state is SessionState.CLOSED:
            return
        if len(self._outbox) >= self.context.settings.max_pending_frames:
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
        if self.state is SessionState.CLOSED:
            return
        self.state = SessionState.CLOSED
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
                while len(outbox) > 1 and budget > 0:
                    budget -= len(outbox[0])
                    try:
                        broadcast((self.websocket,), outbox[0], text=True, raise_exceptions=True)
                    except ExceptionGroup:
                        break  # not written: send() below retries it and reports the failure
                    outbox.popleft()
                frame = outbox.popleft()
                try:
                    await self.websocket.send(frame, text=True)
                except ConnectionClosed:
                    self.state = SessionState.CLOSED
                    self._outbox_drained.set()  # wake a replay waiting for room
                    return
            self._outbox_ready.clear()
            self._outbox_drained.set()
