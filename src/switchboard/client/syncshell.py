"""The threaded client's shell: moves frames between one WebSocket and the client session.

:class:`SyncShell` decides nothing about the protocol. It opens the connection
(``websockets.sync``) and starts one daemon *reader thread*, which gives every received frame
to the :class:`~switchboard.client.session.ClientSession` and does what the event says: fulfil
the promise of a reply, hand pushes to the owner (and acknowledge them after), log what is
dropped. It sends the frames the session makes, runs one timer per call that has a timeout, and
calls the owner's hooks on the reader thread, logging a hook that raises rather than letting it
stop the thread. When a connection ends it rejects the pending promises; if asked to reconnect
(and not closed), it opens a new one after a capped, jittered backoff and sends the session's
resume frame. A lock guards the session and the timers: calls come from any thread, frames are
handled on the reader thread; promises are always settled outside the lock.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection

from switchboard.client.errors import ConnectionClosed, ResponseTimeout, errors_in
from switchboard.client.promise import Promise
from switchboard.client.resume import Backoff
from switchboard.client.session import ClientSession, Dropped, Outgoing, Pushes, Reply
from switchboard.protocol.wirejson import JsonLike, JsonValue

__all__ = ["Frames", "Hooks", "SyncShell"]

logger = logging.getLogger("switchboard")

Frames = tuple[list[list[JsonValue]], list[list[JsonValue]]]
"""What a ``send_cmds`` promise is fulfilled with: the tagged commands and the reply frame."""


class Hooks(Protocol):
    """What the shell calls on the reader thread (the 0.1.3 ``Client``'s hooks)."""

    def opened(self) -> None:
        """The first connection is open."""

    def reconnected(self) -> None:
        """A new connection is open and the resume frame was sent."""

    def closed(self, code: int | None, reason: str | None = None) -> None:
        """The client stopped for good."""

    def received_unsolicited(self, resps: list[list[JsonValue]]) -> None:
        """A frame that answers no pending command."""

    def _handle_pushes(self, pushes: Pushes) -> bool:
        """Hand pushes to user code; ``True`` to acknowledge their events now."""


class SyncShell:
    """Moves frames between one WebSocket at a time and a client session, on a reader thread.

    Args:
        session: the protocol state; the shell does what it answers.
        connect: opens a new WebSocket (raises ``OSError``, ``TimeoutError`` or a
            ``websockets`` error when it cannot).
        hooks: the owner's hooks.
        reconnect: open a new connection when one is lost.
        backoff: the delays between reconnection attempts.
    """

    def __init__(self, session: ClientSession[Promise[Frames]], *,
                 connect: Callable[[], ClientConnection], hooks: Hooks, reconnect: bool,
                 backoff: Backoff) -> None:
        self.session, self.hooks = session, hooks
        self.reconnect, self.backoff = reconnect, backoff
        self.reconnects = 0
        """How many times a connection was opened again after one was lost."""
        self.lock = threading.Lock()
        self._connect = connect
        self._timers: dict[tuple[int, ...], threading.Timer] = {}
        self._ws: ClientConnection | None = None
        self._reader: threading.Thread | None = None
        self.done = threading.Event()
        """Set once the client stopped for good and ``closed()`` returned."""
        self._closing = threading.Event()

    def open(self) -> None:
        """Open the first connection and start the reader thread (which calls ``opened``).

        Raises:
            OSError: the TCP connection failed.
            TimeoutError: the opening handshake took too long.
            websockets.exceptions.InvalidHandshake: the server refused the upgrade.
        """
        ws = self._connect()
        self._made(ws)
        self._reader = threading.Thread(target=self._read_loop, args=(ws,),
                                        name="switchboard-reader", daemon=True)
        self._reader.start()

    def join(self) -> None:
        """Wait until the reader thread has ended."""
        if self._reader is not None:
            self._reader.join()

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake and stop reconnecting."""
        self._closing.set()
        if self._ws is not None:
            self._ws.close(code, reason)

    def send_group(self, cmds: Iterable[Sequence[JsonLike]],
                   timeout_s: float | None) -> Promise[Frames]:
        """Send one command group; its promise settles with the reply (see ``Client``).

        Raises:
            ValueError: a command is not a ``(method, args)`` pair.
            TypeError: a method is not a string or args are not JSON-serialisable.
            ConnectionClosed: not connected, or the connection is closed.
            TooManyPending: too many groups await replies.
        """
        with self.lock:
            out = self.session.send(cmds, Promise())
            if out.text is not None and timeout_s is not None:
                timer = threading.Timer(timeout_s, self._fail, (out.group.tags,
                                                                ResponseTimeout(timeout_s)))
                timer.daemon = True
                self._timers[out.group.tags] = timer
                timer.start()
        if out.text is None:
            out.group.handle.fulfill(([], []))
        self.transmit(out)
        return out.group.handle

    def ack(self, event_ids: Iterable[int]) -> None:
        """Record acks in the session and send the ack frame it makes, if any."""
        with self.lock:
            out = self.session.ack(event_ids, Promise)
        self.transmit(out)

    def send_raw(self, data: str | bytes) -> None:
        """Send one frame as is.

        Raises:
            ConnectionClosed: not connected, or the connection is closed.
        """
        ws = self._ws
        if ws is None:
            raise ConnectionClosed(None, "not connected yet: call connect() first")
        try:
            ws.send(data)
        except WsConnectionClosed as exc:
            raise ConnectionClosed(ws.close_code, ws.close_reason or "") from exc

    def transmit(self, out: Outgoing[Promise[Frames]] | None) -> None:
        """Send a group's frame; if the connection is gone, fail the group at once."""
        if out is None or out.text is None:
            return
        try:
            self.send_raw(out.text)
        except ConnectionClosed as exc:
            # The reader rejects whatever is still pending; if it already ran, this group
            # was registered after it, so reject it here.
            self._fail(out.group.tags, exc)

    def call_hook(self, hook: Callable[..., object], *args: object) -> bool:
        """Call a user hook; ``True`` if it returned without raising."""
        try:
            hook(*args)
            return True
        except Exception:
            # A failing user hook must not stop the delivery of later frames (the original's
            # reader thread died on the first exception and the connection went with it).
            logger.exception("%s raised on the reader thread", getattr(hook, "__name__", hook))
            return False

    # -- reader thread ----------------------------------------------------------------------

    def _made(self, ws: ClientConnection) -> Outgoing[Promise[Frames]] | None:
        with self.lock:
            self._ws = ws
            return self.session.connection_made(Promise)

    def _read_loop(self, ws: ClientConnection) -> None:
        try:
            self.call_hook(self.hooks.opened)
            while True:
                try:
                    while True:
                        self._received(ws.recv())
                except WsConnectionClosed:
                    pass
                if not self.reconnect or self._closing.is_set():
                    return
                self._lost(ws, final=False)
                reopened = self._reopen()
                if reopened is None:
                    return
                ws = reopened
                resume = self._made(ws)
                self.transmit(resume)  # a lost send is noticed by the next read
                if resume is not None:
                    resume.group.handle.then(_log_resume_errors)
                self.call_hook(self.hooks.reconnected)
        finally:
            self._lost(ws, final=True)
            self.call_hook(self.hooks.closed, ws.close_code, ws.close_reason or "")
            self.done.set()

    def _reopen(self) -> ClientConnection | None:
        """Open a new connection with backoff; ``None`` once ``close()`` was called."""
        attempt = 0
        while not self._closing.wait(self.backoff.delay_s(attempt, random.random)):
            attempt += 1
            try:
                ws = self._connect()
            except (OSError, TimeoutError, WebSocketException) as exc:
                logger.info("reconnecting (attempt %d): %s", attempt, exc)
                continue
            self.reconnects += 1
            return ws
        return None

    def _received(self, data: str | bytes) -> None:
        with self.lock:
            event = self.session.receive(data)
            if isinstance(event, Reply):
                self._cancel_timer(event.group.tags)
            elif isinstance(event, Pushes):
                handout = self.session.hand_out(event.pushes)
                reack = self.session.reack(handout.redelivered, Promise)
        if isinstance(event, Reply):
            event.group.handle.fulfill((event.group.to_json(), event.to_json()))
        elif isinstance(event, Pushes):
            self.transmit(reack)
            if handout.deliver and self.hooks._handle_pushes(event) and handout.event_ids:
                self.ack(handout.event_ids)
        elif isinstance(event, Dropped):
            logger.warning("ignored a frame from the server (%s): %.200r", event.reason, data)
        else:
            if event.late:  # its call timed out or was cancelled: nobody waits for it
                logger.debug("ignored %s: %r", event.reason, data)
            else:
                logger.warning("reply matches no pending command (%s): %r", event.reason, data)
            self.call_hook(self.hooks.received_unsolicited, event.to_json())

    def _lost(self, ws: ClientConnection, *, final: bool) -> None:
        """A connection ended: reject every pending promise with ``ConnectionClosed``."""
        code, reason = ws.close_code, ws.close_reason or ""
        with self.lock:
            groups = self.session.connection_lost(code, reason, final=final)
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        for group in groups:
            group.handle.reject(ConnectionClosed(code, reason))

    def _fail(self, tags: tuple[int, ...], error: Exception) -> None:
        with self.lock:
            group = self.session.expire(tags)
            self._cancel_timer(tags)
        if group is not None:
            group.handle.reject(error)

    def _cancel_timer(self, tags: tuple[int, ...]) -> None:
        timer = self._timers.pop(tags, None)
        if timer is not None:
            timer.cancel()


def _log_resume_errors(reply: Frames) -> None:
    for error in errors_in(reply[1]):
        logger.error("resuming after a reconnect failed: %r", error)
