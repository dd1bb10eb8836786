"""A local APNs provider server: HTTP/2 over TLS (h2), recording each push, scripted answers.

``async with FakeApns(tmp_path) as apns:`` — ``apns.port``, ``apns.ssl_context()`` (a client
context that trusts it), ``apns.requests`` (path, headers, JSON body), ``apns.script`` of
``(status, reason)`` answers used before the default 200, ``await apns.wait_requests(n)``.
It answers as Apple documents: ``:status`` and ``apns-id`` headers, and for an error a JSON body
``{"reason": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, RequestReceived, StreamEnded

from tests.support.dovecot import _write_certs

WAIT_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class PushRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Protocol(asyncio.Protocol):
    def __init__(self, fake: FakeApns) -> None:
        self.fake = fake
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.headers: dict[int, dict[str, str]] = {}
        self.bodies: dict[int, bytearray] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        for event in self.conn.receive_data(data):
            if isinstance(event, RequestReceived):
                assert event.stream_id is not None and event.headers is not None
                self.headers[event.stream_id] = {str(k): str(v) for k, v in event.headers}
                self.bodies[event.stream_id] = bytearray()
            elif isinstance(event, DataReceived):
                assert event.stream_id is not None and event.data is not None
                self.bodies[event.stream_id] += event.data
                self.conn.acknowledge_received_data(event.flow_controlled_length or 0,
                                                    event.stream_id)
            elif isinstance(event, StreamEnded):
                assert event.stream_id is not None
                self._answer(event.stream_id)
        self.transport.write(self.conn.data_to_send())

    def _answer(self, stream_id: int) -> None:
        headers = self.headers.pop(stream_id)
        request = PushRequest(headers[":path"], headers, bytes(self.bodies.pop(stream_id)))
        status, reason = self.fake.script.popleft() if self.fake.script else (200, None)
        apns_id = headers.get("apns-id", "")
        body = json.dumps({"reason": reason}).encode() if reason else b""
        self.conn.send_headers(stream_id, [(":status", str(status)), ("apns-id", apns_id)],
                               end_stream=not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=True)
        self.fake._record(request)


class FakeApns:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.requests: list[PushRequest] = []
        self.script: deque[tuple[int, str | None]] = deque()
        self.port = 0
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate."""
        return ssl.create_default_context(cafile=str(self.directory / "ca.pem"))

    def _record(self, request: PushRequest) -> None:
        self.requests.append(request)
        self._changed.set()

    async def wait_requests(self, count: int, timeout_s: float = WAIT_TIMEOUT_S,
                            ) -> list[PushRequest]:
        async with asyncio.timeout(timeout_s):
            while len(self.requests) < count:
                self._changed.clear()
                await self._changed.wait()
        return list(self.requests)

    async def __aenter__(self) -> FakeApns:
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_certs(self.directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.directory / "cert.pem", self.directory / "key.pem")
        context.set_alpn_protocols(["h2"])
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Protocol(self), "127.0.0.1", 0,
                                                ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
