"""JMAP over WebSocket (RFC 8887) on ``/jmap/ws``: requests, responses and StateChange pushes.

How it works: the upgrade was authenticated like any JMAP request and negotiated the ``jmap``
subprotocol (:mod:`~switchboard.server.jmap.routes`). One task reads messages in order
(:func:`switchboard.jmap.websocket.parse_message`): a ``Request`` is run through the same
:class:`~switchboard.server.jmap.service.JmapService` as the HTTP API and answered with a
``Response`` (``requestId`` echoed); a message that is not valid gets a ``RequestError`` and the
connection stays open; ``WebSocketPushEnable`` starts pushes (of ``dataTypes``, or all), and
``WebSocketPushDisable`` stops them (§4.3.5, §4.3.6).

Pushes come from a second task: the state listener only notes which of the caller's accounts
moved, and the pusher sends one ``StateChange`` (with ``pushState``, the latest position among
the caller's accounts) per wake-up, with the types whose state differs from what this socket
last pushed (``EmailDelivery`` only when mail arrived). A ``WebSocketPushEnable`` whose
``pushState`` differs from the current one is answered with the current state of every
account at once, since the client missed changes (§4.3.5.2). Sends share one lock, so a push
never splits a response.

While open, the connection is in the server's
:class:`~switchboard.server.jmap.streams.OpenStreams`: the revocation watch closes it with 1008
``"token revoked"`` when the token it was opened with is revoked, like a 2014 socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from switchboard.jmap.errors import RequestError
from switchboard.jmap.ids import account_id as jmap_account_id
from switchboard.jmap.push import StateChange
from switchboard.jmap.websocket import (
    WsPushDisable,
    WsPushEnable,
    WsRequest,
    WsRequestError,
    encode_response,
    encode_state_change,
    parse_message,
)
from switchboard.server.jmap.callers import JmapCaller
from switchboard.server.jmap.service import BaseUrls, JmapService
from switchboard.server.jmap.states import LogStates
from switchboard.server.jmap.streams import WEBSOCKET, OpenStreams

__all__ = ["JmapWebSocket"]

logger = logging.getLogger("switchboard.server")

_PUSH_OFF = frozenset({"\0off"})  # no type name can hold NUL: "push disabled"

SEND_TIMEOUT_S = 30.0
"""How long one message may wait for a client that does not read; then the socket closes."""

SLOW_CLOSE_CODE = 1013
"""RFC 6455 §7.4.1 "try again later": the client did not read what it was sent."""


class JmapWebSocket:
    """One JMAP WebSocket connection, from the opened socket to its close.

    Args:
        websocket: the opened connection (subprotocol ``jmap``).
        caller: who opened it.
        base: where the client reached the server (for the Session's URLs and state).
        service: sessions and request runs.
        states: the accounts' states and their change notices.
        streams: the open push connections, which this one joins while it runs.
    """

    kind = WEBSOCKET

    def __init__(
        self,
        websocket: ServerConnection,
        caller: JmapCaller,
        base: BaseUrls,
        service: JmapService,
        states: LogStates,
        streams: OpenStreams | None = None,
    ) -> None:
        self._streams = streams
        self._closing: asyncio.Task[None] | None = None
        self._ws = websocket
        self._caller = caller
        self._base = base
        self._service = service
        self._states = states
        self._send_lock = asyncio.Lock()
        self._push_types: frozenset[str] | None = _PUSH_OFF
        self._pending: set[str] = set()
        self._sent: dict[str, dict[str, str]] = {}
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Serve the connection until the client or the server closes it."""
        stop_listening = self._states.listen(self._on_change, self._caller.reaches)
        pusher = asyncio.create_task(self._push_loop(), name="jmap-ws-push")
        if self._streams is not None:
            self._streams.add(self)
        try:
            async for message in self._ws:
                await self._handle(message)
        except ConnectionClosed:
            pass
        except TimeoutError:
            await self._close_slow()
        finally:
            if self._streams is not None:
                self._streams.discard(self)
            stop_listening()
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
            if self._closing is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._closing

    @property
    def principal(self) -> JmapCaller:
        """Who opened the connection (the revocation watch reads its ``token_id``)."""
        return self._caller

    @property
    def is_open(self) -> bool:
        """Whether the connection is open and not being closed by us."""
        return self._closing is None and self._ws.state is State.OPEN

    def close(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` and ``reason``; does not wait.

        The closing handshake runs as a task (bounded like every send), which :meth:`run`
        awaits when the reader sees the close.
        """
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(
                self._close(code, reason), name="jmap-ws-close"
            )

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self._ws.close(code, reason)

    def _session_state(self) -> str:
        return self._service.session(self._caller, self._base).state

    async def _handle(self, message: str | bytes) -> None:
        session = self._service.session(self._caller, self._base)
        parsed = parse_message(message, core=self._service.core, supported=session.capabilities)
        if isinstance(parsed, WsRequest):
            try:
                response = await self._service.run(
                    parsed.request, self._caller, self._session_state
                )
            except RequestError as error:
                await self._send(WsRequestError(parsed.request_id, error).encode())
                return
            await self._send(encode_response(response, parsed.request_id))
        elif isinstance(parsed, WsPushEnable):
            self._push_types = parsed.data_types
            current = self._push_state()
            if parsed.push_state is not None and parsed.push_state != current:
                self._sent.clear()  # the client missed changes: every type of every account
                self._pending.update(self._accounts().values())
                self._wake.set()
            else:  # pushes from here on carry what changed after this moment
                self._sent = {a: self._states.states_of(a) for a in self._accounts().values()}
        elif isinstance(parsed, WsPushDisable):
            self._push_types = _PUSH_OFF
        else:
            self._service.refused(parsed.error)
            await self._send(parsed.encode())

    def _accounts(self) -> dict[str, str]:
        return self._service.accounts_of(self._caller)

    def _push_state(self) -> str:
        return self._states.push_state(self._accounts().values())

    def _on_change(self, positions: Mapping[str, int]) -> None:
        moved = [a for a in positions if self._caller.reaches(a)]
        if moved and self._push_types is not _PUSH_OFF:
            self._pending.update(moved)
            self._wake.set()

    async def _push_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            moved, self._pending = sorted(self._pending), set()
            if self._push_types is _PUSH_OFF:
                continue
            changed = {}
            for account in moved:
                now = self._states.states_of(account)
                sent = self._sent.get(account, {})
                diff = {t: state for t, state in now.items() if sent.get(t) != state}
                self._sent[account] = now
                if diff:
                    changed[jmap_account_id(account)] = diff
            change = StateChange(changed, self._push_state()).only(self._push_types)
            if change is not None:
                try:
                    await self._send(encode_state_change(change))
                except ConnectionClosed:
                    return  # the reader sees the close too
                except TimeoutError:
                    await self._close_slow()  # which ends the reader's loop
                    return

    async def _close_slow(self) -> None:
        """Close a connection whose client stopped reading (bounded, like every wait)."""
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self._ws.close(SLOW_CLOSE_CODE, "the client does not read")

    async def _send(self, text: str) -> None:
        """Send one message.

        Raises:
            ConnectionClosed: the connection is closed.
            TimeoutError: the client did not take it within :data:`SEND_TIMEOUT_S`.
        """
        async with self._send_lock, asyncio.timeout(SEND_TIMEOUT_S):
            await self._ws.send(text)
