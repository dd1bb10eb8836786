"""JMAP push latency for bench/latency.py: APPEND -> EventSource and RFC 8887 ``StateChange``.

Two observers join a latency run, logged in to JMAP with the account's mail login (Basic), on
the same server as the worker: an EventSource stream (``GET /jmap/eventsource``, read from a raw
socket) and a JMAP WebSocket (``/jmap/ws``, subprotocol ``jmap``, ``WebSocketPushEnable``). Each
timestamps every ``StateChange`` whose ``Email`` state moved. A StateChange names no message, so
a sample is taken only where one APPEND is one change: the ``isolated`` pattern, whose next APPEND
waits until every observer saw the last one. The sample is APPEND sent -> the first StateChange
after it, beside the worker's ``newMessage`` for the same APPEND.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

__all__ = ["JmapObservers"]

HEAD_LIMIT = 64 * 1024


@dataclass(slots=True)
class _Arrivals:
    times: list[float] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def saw(self, at: float) -> None:
        self.times.append(at)
        self.changed.set()

    def first_after(self, at: float) -> float | None:
        return next((t for t in self.times if t > at), None)


class JmapObservers:
    """An EventSource stream and an RFC 8887 socket on one account, timestamping pushes."""

    def __init__(self) -> None:
        self.eventsource = _Arrivals()
        self.websocket = _Arrivals()
        self._tasks: list[asyncio.Task[None]] = []
        self._writer: asyncio.StreamWriter | None = None
        self._ws: ClientConnection | None = None

    @classmethod
    async def start(cls, port: int, username: str, password: str,
                    timeout_s: float) -> JmapObservers:
        """Open both observers; returns once each has its baseline (the first state)."""
        self = cls()
        auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        async with asyncio.timeout(timeout_s):
            reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
            self._writer.write(
                f"GET /jmap/eventsource?types=Email&closeafter=no&ping=0 HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nAuthorization: {auth}\r\n"
                f"Accept: text/event-stream\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"EventSource refused: {head[:80]!r}")
            await reader.readuntil(b"\n\n")  # the current state: the baseline
            self._ws = await connect(f"ws://127.0.0.1:{port}/jmap/ws",
                                     subprotocols=["jmap"],  # type: ignore[list-item]
                                     additional_headers={"Authorization": auth})
            await self._ws.send(json.dumps({"@type": "WebSocketPushEnable",
                                            "dataTypes": ["Email"]}))
            # The enable is read before any APPEND of the run: a Core/echo round trip.
            await self._ws.send(json.dumps({"@type": "Request", "id": "ready",
                                            "using": ["urn:ietf:params:jmap:core"],
                                            "methodCalls": [["Core/echo", {}, "e"]]}))
            while json.loads(await self._ws.recv()).get("requestId") != "ready":
                pass
        self._tasks = [asyncio.create_task(self._read_events(reader)),
                       asyncio.create_task(self._read_ws())]
        return self

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                frame = await reader.readuntil(b"\n\n")
                if frame.startswith(b"event: state"):
                    self.eventsource.saw(time.perf_counter())

    async def _read_ws(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(Exception):
            async for message in self._ws:
                at = time.perf_counter()
                if json.loads(message).get("@type") == "StateChange":
                    self.websocket.saw(at)

    async def wait_after(self, at: float, timeout_s: float) -> None:
        """Wait until both observers saw a push after ``at``.

        Raises:
            TimeoutError: one did not within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            for arrivals in (self.eventsource, self.websocket):
                while arrivals.first_after(at) is None:
                    arrivals.changed.clear()
                    await arrivals.changed.wait()

    def samples(self, sent: list[tuple[float, float]]) -> dict[str, list[float]]:
        """Per observer, ms from each APPEND (``(sent at, newMessage at)``) to its push."""
        out: dict[str, list[float]] = {"newMessage": [(n - a) * 1000 for a, n in sent]}
        for name, arrivals in (("EventSource", self.eventsource),
                               ("RFC 8887", self.websocket)):
            out[name] = [((arrivals.first_after(a) or float("nan")) - a) * 1000 for a, _ in sent]
        return out

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)
        if self._writer is not None:
            self._writer.close()


def summary_lines(server: str, samples: dict[str, list[float]],
                  percentile: Any) -> list[str]:
    """One line per push kind: p50/p99, the p50 ratio to ``newMessage``'s and the p50 of the
    per-APPEND difference (same APPENDs, same run)."""
    base_values = samples["newMessage"]
    base = percentile(base_values, 50)
    lines = []
    for name, values in samples.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        delta = percentile([v - b for v, b in zip(values, base_values, strict=True)], 50)
        lines.append(f"  {server}/isolated JMAP {name:<11} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
                     f"  = {p50 / base:.3f}x newMessage p50, per APPEND {delta:+.2f} ms"
                     f" (n={len(values)})")
    return lines
