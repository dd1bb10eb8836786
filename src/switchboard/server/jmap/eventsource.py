"""The EventSource stream (RFC 8620 §7.3): a ``state`` event whenever the caller's data changes.

How it works: an :class:`EventStream` is the body of the ``text/event-stream`` response. It
listens to :class:`~switchboard.server.jmap.states.LogStates` from the moment it is made; the
listener (called in the same turn of the event loop that fans ``newMessage`` out) only notes
which of the caller's accounts moved and wakes the stream, so a burst of mail becomes one
event, and a client that reads slowly holds one pending change per account, not a queue.

What it sends:

- at once, the current state of every account the caller reaches (so a client has its
  baseline, and a test knows the stream is open) — except with ``closeafter=state`` when the
  client's ``Last-Event-ID`` is already the current state: that long-poll waits for the next
  change instead of returning at once forever;
- a ``state`` event per change, with the types whose state differs from what this stream
  last sent (so ``EmailDelivery`` appears only when mail arrived, not when a flag changed),
  restricted to the asked ``types``, with an ``id:`` (the push state: the latest position
  among the caller's accounts, which only grows);
- a ``ping`` event after ``ping`` seconds without an event (RFC 8620 §7.3), if asked;
- with ``closeafter=state``, nothing after the first ``state`` event: the stream ends.

The stream ends when the client goes away (the HTTP layer cancels it), the server stops, or
:meth:`EventStream.close` is called — by the revocation watch when the stream's token is
revoked (an HTTP response has no close code: the body ends, and so does the connection, which
is close-delimited). While it is open it is in the server's
:class:`~switchboard.server.jmap.streams.OpenStreams`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from switchboard.jmap.ids import account_id as jmap_account_id
from switchboard.jmap.push import EventSourceParams, StateChange, ping_event, state_event
from switchboard.server.jmap.callers import JmapCaller
from switchboard.server.jmap.states import LogStates
from switchboard.server.jmap.streams import EVENTSOURCE, OpenStreams

__all__ = ["EventStream"]


class EventStream:
    """The body of one EventSource response: an async iterator of event frames (bytes).

    Args:
        params: the parsed query (types, closeafter, ping).
        caller: who is listening; only the accounts it reaches are reported.
        accounts: the caller's accounts now (JMAP id → Switchboard id), for the first event.
        states: the accounts' states and their change notices.
        last_event_id: the ``Last-Event-ID`` a reconnecting client sent, if any.
        streams: the open push connections, which this stream joins until it ends.
    """

    kind = EVENTSOURCE

    def __init__(
        self,
        params: EventSourceParams,
        caller: JmapCaller,
        accounts: Callable[[], dict[str, str]],
        states: LogStates,
        last_event_id: str | None,
        streams: OpenStreams | None = None,
    ) -> None:
        self._streams = streams
        self._ended = False
        self._params = params
        self._caller = caller
        self._accounts = accounts
        self._states = states
        self._pending: set[str] = set()
        self._sent: dict[str, dict[str, str]] = {}
        self._wake = asyncio.Event()
        self._first = True
        self._done = False
        current = states.push_state(accounts().values())
        self._skip_first = params.close_after_state and last_event_id == current
        if self._skip_first:  # the client has this state: report what changes after it
            self._sent = {a: states.states_of(a) for a in accounts().values()}
        self._stop_listening: Callable[[], None] | None = states.listen(
            self._on_change, caller.reaches
        )
        if streams is not None:
            streams.add(self)

    @property
    def principal(self) -> JmapCaller:
        """Who listens (the revocation watch reads its ``token_id``)."""
        return self._caller

    @property
    def is_open(self) -> bool:
        """Whether the stream still sends events."""
        return not self._ended

    def close(self, code: int, reason: str) -> None:
        """End the stream now (``code`` and ``reason`` have no place in an HTTP body)."""
        del code, reason
        self._ended = True
        self._wake.set()

    def _on_change(self, positions: Mapping[str, int]) -> None:
        moved = [a for a in positions if self._caller.reaches(a)]
        if moved:
            self._pending.update(moved)
            self._wake.set()

    def __aiter__(self) -> EventStream:
        return self

    def _event(self, account_ids: list[str]) -> bytes | None:
        changed = {}
        for account in account_ids:
            now = self._states.states_of(account)
            sent = self._sent.get(account, {})
            moved = {t: state for t, state in now.items() if sent.get(t) != state}
            self._sent[account] = now
            if moved:
                changed[jmap_account_id(account)] = moved
        change = StateChange(changed).only(self._params.types)
        if change is None:
            return None
        event_id = self._states.push_state(self._accounts().values())
        return state_event(change, event_id)

    async def __anext__(self) -> bytes:
        if self._ended:
            await self.aclose()
            raise StopAsyncIteration
        if self._first:
            self._first = False
            if not self._skip_first:
                self._done = self._params.close_after_state
                frame = self._event(sorted(self._accounts().values()))
                # With no account (or none of the types), an empty change still tells the
                # client the stream is live.
                return frame or state_event(StateChange({}), self._current_id())
        while not self._done and not self._ended:
            ping_s = self._params.ping_s
            try:
                async with asyncio.timeout(ping_s or None):
                    await self._wake.wait()
            except TimeoutError:
                return ping_event(ping_s)
            self._wake.clear()
            if not self.is_open:  # closed while waiting (revoked)
                break
            moved, self._pending = sorted(self._pending), set()
            frame = self._event(moved)
            if frame is not None:
                self._done = self._params.close_after_state
                return frame
        await self.aclose()
        raise StopAsyncIteration

    def _current_id(self) -> str:
        return self._states.push_state(self._accounts().values())

    async def aclose(self) -> None:
        """Stop listening (the response ended)."""
        self._ended = True
        if self._streams is not None:
            self._streams.discard(self)
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
