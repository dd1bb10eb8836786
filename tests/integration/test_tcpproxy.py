"""Self-test of the fault-injecting TCP proxy, against a small asyncio echo server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.support.tcpproxy import TcpProxy

ProxyFactory = Callable[[str, int], Awaitable[TcpProxy]]
TIMEOUT_S = 5.0
# How long "nothing arrives" is checked for; silence cannot be awaited, only bounded.
SILENCE_S = 0.2


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def _roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     data: bytes) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.readexactly(len(data)), TIMEOUT_S)


async def test_forwards_both_ways(tcp_proxy_factory: ProxyFactory, echo_port: int) -> None:
    proxy = await tcp_proxy_factory("127.0.0.1", echo_port)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await _roundtrip(reader, writer, b"hello\r\n") == b"hello\r\n"
    big = bytes(range(256)) * 2000
    assert await _roundtrip(reader, writer, big) == big
    assert proxy.connection_count == 1
    writer.close()


async def test_blackhole_is_silent_and_resume_delivers(tcp_proxy_factory: ProxyFactory,
                                                       echo_port: int) -> None:
    proxy = await tcp_proxy_factory("127.0.0.1", echo_port)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await _roundtrip(reader, writer, b"one\r\n") == b"one\r\n"
    proxy.blackhole()
    writer.write(b"two\r\n")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(100), SILENCE_S)
    assert not reader.at_eof()  # silent, not closed
    assert proxy.connection_count == 1
    proxy.resume()
    assert await asyncio.wait_for(reader.readexactly(5), TIMEOUT_S) == b"two\r\n"
    writer.close()


async def test_cut_all_resets_and_new_connections_work(tcp_proxy_factory: ProxyFactory,
                                                       echo_port: int) -> None:
    proxy = await tcp_proxy_factory("127.0.0.1", echo_port)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await _roundtrip(reader, writer, b"x") == b"x"
    assert await proxy.cut_all() == 1
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), TIMEOUT_S)
    assert proxy.connection_count == 0
    reader2, writer2 = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await _roundtrip(reader2, writer2, b"again") == b"again"
    writer.close()
    writer2.close()


async def test_close_stops_listening(echo_port: int) -> None:
    proxy = await TcpProxy.start("127.0.0.1", echo_port)
    _reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    await proxy.close()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.close()


async def test_unreachable_target_resets_client(tcp_proxy_factory: ProxyFactory) -> None:
    # port 1 on loopback: nothing listens there
    proxy = await tcp_proxy_factory("127.0.0.1", 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), TIMEOUT_S)
    writer.close()


async def test_blackhole_current_silences_open_connections_only(
        tcp_proxy_factory: ProxyFactory, echo_port: int) -> None:
    proxy = await tcp_proxy_factory("127.0.0.1", echo_port)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await _roundtrip(reader, writer, b"one\r\n") == b"one\r\n"
    assert proxy.blackhole_current() == 1
    writer.write(b"two\r\n")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(100), SILENCE_S)
    assert not reader.at_eof()  # silent, not closed
    reader2, writer2 = await asyncio.open_connection("127.0.0.1", proxy.port)
    assert await _roundtrip(reader2, writer2, b"new\r\n") == b"new\r\n"
    writer.close()
    writer2.close()


async def test_stop_refuses_connects_and_restart_listens_on_the_same_port(
        tcp_proxy_factory: ProxyFactory, echo_port: int) -> None:
    proxy = await tcp_proxy_factory("127.0.0.1", echo_port)
    port = proxy.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await proxy.stop()
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), TIMEOUT_S)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await proxy.restart()
    assert proxy.port == port
    reader2, writer2 = await asyncio.open_connection("127.0.0.1", port)
    assert await _roundtrip(reader2, writer2, b"back") == b"back"
    writer.close()
    writer2.close()
