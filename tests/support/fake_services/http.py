"""A tiny scripted HTTP/1.1 server that records every request: the fake webhook receiver and Twilio.

Each request is answered from a script of :class:`Reply` items (then ``default``), or by
dropping the connection for :data:`HANG_UP`; every request is recorded, whatever the answer, so
a test can assert the exact path, headers and body and count retries. ``await
server.wait_requests(n)`` waits (bounded) until ``n`` requests arrived — no sleeping.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qs

MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
WAIT_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


HANG_UP: Final = Reply(status=0)
"""Close the connection without answering (a crashed receiver)."""


class FakeHttpServer:
    """``async with FakeHttpServer() as srv:`` — ``srv.url``, ``srv.requests``, ``srv.script``."""

    def __init__(
        self,
        default: Reply | None = None,
        responder: Callable[[Request], Awaitable[Reply | None]] | None = None,
    ) -> None:
        self.default = default or Reply()
        self.responder = responder
        """Asked first for each request; ``None`` falls back to the script."""
        self.script: deque[Reply] = deque()
        self.requests: list[Request] = []
        self.port = 0
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeHttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def wait_requests(self, count: int, timeout_s: float = WAIT_TIMEOUT_S) -> list[Request]:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: len(self.requests) >= count)
        return list(self.requests)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ConnectionError):
                    return
                if len(head) > MAX_HEAD_BYTES:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                if length > MAX_BODY_BYTES:
                    return
                body = await reader.readexactly(length) if length else b""
                request = Request(method, path, headers, body)
                async with self._changed:
                    self.requests.append(request)
                    self._changed.notify_all()
                reply = await self.responder(request) if self.responder else None
                if reply is None:
                    reply = self.script.popleft() if self.script else self.default
                if reply is HANG_UP:
                    return
                out = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {len(reply.body)}"]
                out += [f"{k}: {v}" for k, v in reply.headers.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + reply.body)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()
