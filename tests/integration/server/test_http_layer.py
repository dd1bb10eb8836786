"""The listener's HTTP layer on raw sockets: keep-alive, pipelining, HEAD, OPTIONS, limits, stop."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from switchboard.model.store import TokenScope
from switchboard.server.app import SwitchboardServer
from switchboard.server.config import ServerSettings
from switchboard.server.tokens import create_token
from tests.support.jmap_http import RawHttp


@pytest.fixture
async def bare(tmp_path: Path) -> SwitchboardServer:
    """A server without IMAP: the HTTP layer needs none."""
    srv = SwitchboardServer(ServerSettings(host="127.0.0.1", port=0, data_dir=tmp_path / "d"))
    await srv.start()
    yield srv  # type: ignore[misc]
    await srv.stop()


async def test_keep_alive_and_pipelining_on_one_connection(bare: SwitchboardServer) -> None:
    conn = await RawHttp.open(bare)
    try:
        for _ in range(2):
            await conn.send("GET", "/health", {})
            status, headers, _ = await conn.head()
            assert status == 200 and headers["content-type"] == "application/json"
            assert json.loads(await conn.body(int(headers["content-length"])))["status"] == "ok"
        # Two requests written at once are answered in order.
        await conn.send("GET", "/api/latency", {})
        await conn.send("GET", "/health", {})
        for expected in ("windowS", "status"):
            status, headers, _ = await conn.head()
            assert status == 200
            assert expected in json.loads(await conn.body(int(headers["content-length"])))
    finally:
        await conn.close()


async def test_head_and_options(bare: SwitchboardServer) -> None:
    conn = await RawHttp.open(bare)
    try:
        await conn.send("HEAD", "/health", {})
        status, headers, _ = await conn.head()
        assert status == 200 and int(headers["content-length"]) > 0
        await conn.send("OPTIONS", "/api/accounts", {})  # no body came before this answer
        status, headers, _ = await conn.head()
        assert (status, headers["allow"], headers.get("content-length")) == (204, "GET", None)
        await conn.send("GET", "/", {})
        status, headers, _ = await conn.head()
        assert status == 200 and headers["content-type"].startswith("text/html")
    finally:
        await conn.close()


async def test_a_body_over_the_limit_is_not_read_and_the_connection_closes(
    bare: SwitchboardServer,
) -> None:
    conn = await RawHttp.open(bare)
    try:
        # Only the head is sent: the answer cannot wait for the 10 MB that never come.
        conn.writer.write(
            b"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
        )
        status, headers, _ = await conn.head()
        assert (status, headers["connection"]) == (405, "close")
        await conn.body(int(headers["content-length"]))
        assert await conn.at_eof()
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
    ],
    ids=["garbage", "huge-head", "no-host"],
)
async def test_bad_requests_get_a_status_and_a_close(
    bare: SwitchboardServer, request_bytes: bytes, status: int
) -> None:
    conn = await RawHttp.open(bare)
    try:
        conn.writer.write(request_bytes)
        got, headers, _ = await conn.head()
        assert got == status
        await conn.body(int(headers["content-length"]))
        assert await conn.at_eof()
    finally:
        await conn.close()


async def test_an_upgrade_header_elsewhere_is_plain_http(bare: SwitchboardServer) -> None:
    conn = await RawHttp.open(bare)
    try:
        await conn.send("GET", "/health", {"Connection": "Upgrade", "Upgrade": "websocket"})
        status, headers, _ = await conn.head()
        assert status == 200
        assert json.loads(await conn.body(int(headers["content-length"])))["status"] == "ok"
    finally:
        await conn.close()


async def test_stop_ends_an_open_event_stream_and_idle_connections(bare: SwitchboardServer) -> None:
    token, _ = await create_token(bare.parts.store, TokenScope.WORKER, name="w")
    stream, idle = await RawHttp.open(bare), await RawHttp.open(bare)
    try:
        await stream.send("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0",
                          {"Authorization": f"Bearer {token}"})  # fmt: skip
        status, headers, _ = await stream.head()
        assert status == 200 and "content-length" not in headers
        kind = (await stream.event()).split(b"\n", 1)[0]
        assert kind == b"event: state"  # the current state, even with no account at all
        await idle.send("GET", "/health", {})
        _, headers, _ = await idle.head()
        await idle.body(int(headers["content-length"]))
        started = time.monotonic()
        await bare.stop()
        assert time.monotonic() - started < 5
        assert await stream.at_eof(5) and await idle.at_eof(5)
    finally:
        await stream.close()
        await idle.close()
