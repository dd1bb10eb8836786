"""An asyncio TCP proxy that injects network faults between a client under test and its server.

Faults:

- :meth:`TcpProxy.blackhole` — stop forwarding in both directions while every socket stays open:
  the peer goes silent, as behind a dead NAT or an unplugged cable. Bytes that arrive meanwhile
  are held, not dropped (TCP would retransmit them), and flow again after :meth:`TcpProxy.resume`.
- :meth:`TcpProxy.blackhole_current` — the same for the connections open now only: new ones are
  forwarded (one dead NAT entry; a reconnect gets through).
- :meth:`TcpProxy.cut_all` — close every current connection abruptly, with a RST (SO_LINGER 0),
  on both sides. New connections are still accepted afterwards.
- :meth:`TcpProxy.stop` / :meth:`TcpProxy.restart` — the server is down: stop listening (connects
  are refused) and cut every connection; later listen again on the same port.

How it works: for each accepted client the proxy opens one upstream connection and runs two pump
tasks (client→server, server→client). A pump waits on the shared ``forwarding`` event and its
link's own before it reads and again before it writes, so a blackhole takes effect even for a
chunk already in hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field

__all__ = ["TcpProxy"]

# One read at a time per direction; small enough to keep many idle connections cheap.
CHUNK_BYTES = 64 * 1024


@dataclass(slots=True, eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    forwarding: asyncio.Event = field(default_factory=asyncio.Event)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s socket at once, with a RST rather than a FIN where the OS allows."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    """A fault-injecting TCP proxy on 127.0.0.1; create it with ``await TcpProxy.start(...)``.

    Attributes:
        port: the local port clients connect to.
        target_host: where connections are forwarded.
        target_port: where connections are forwarded.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._forwarding = asyncio.Event()
        self._forwarding.set()

    @classmethod
    async def start(cls, target_host: str, target_port: int) -> TcpProxy:
        """Listen on an ephemeral port of 127.0.0.1 and forward to ``target_host:target_port``.

        Raises:
            OSError: if the listening socket cannot be bound.
        """
        proxy = cls(target_host, target_port)
        proxy._server = await asyncio.start_server(proxy._accept, "127.0.0.1", 0)
        proxy.port = proxy._server.sockets[0].getsockname()[1]
        return proxy

    @property
    def connection_count(self) -> int:
        """How many client connections are currently proxied."""
        return len(self._links)

    def blackhole(self) -> None:
        """Stop forwarding in both directions; every socket stays open (a silent peer)."""
        self._forwarding.clear()

    def blackhole_current(self) -> int:
        """Silence every connection open now (sockets stay open); return how many.

        Connections accepted afterwards are forwarded as usual. :meth:`resume` does not undo
        this: the silenced connections stay silent until they are closed.
        """
        for link in self._links:
            link.forwarding.clear()
        return len(self._links)

    def resume(self) -> None:
        """Forward again, starting with whatever was held during the blackhole."""
        self._forwarding.set()

    async def stop(self) -> None:
        """Stop listening and cut every connection: connects are refused until :meth:`restart`."""
        await self.close()

    async def restart(self) -> None:
        """Listen again on the same port after :meth:`stop`.

        Raises:
            OSError: if the port was taken meanwhile.
        """
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut_all(self) -> int:
        """Abort every current connection on both sides (RST); return how many were cut."""
        links = list(self._links)
        for link in links:
            self._cut(link)
        for link in links:
            await asyncio.gather(*link.tasks, return_exceptions=True)
        return len(links)

    async def close(self) -> None:
        """Stop listening and abort every connection, also those being set up (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.cut_all()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    # -- internals -----------------------------------------------------------------------------

    def _cut(self, link: _Link) -> None:
        self._links.discard(link)
        _abort(link.client)
        _abort(link.upstream)
        current = asyncio.current_task()
        for task in link.tasks:
            if task is not current:
                task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        linked = False
        try:
            if self._server is None:
                return  # accepted while closing
            try:
                up_reader, up_writer = await asyncio.open_connection(
                    self.target_host, self.target_port)
            except OSError:
                return  # the target is down: the client sees a reset, as it would direct
            link = _Link(writer, up_writer)
            link.forwarding.set()
            link.tasks = [
                asyncio.create_task(self._pump(reader, up_writer, link)),
                asyncio.create_task(self._pump(up_reader, writer, link)),
            ]
            self._links.add(link)
            linked = True
            await asyncio.gather(*link.tasks, return_exceptions=True)
        finally:
            if not linked:
                # failed or cancelled before the link existed: nobody else owns this socket
                _abort(writer)
            self._handlers.discard(task)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                    link: _Link) -> None:
        try:
            while True:
                await self._forwarding.wait()
                await link.forwarding.wait()
                data = await src.read(CHUNK_BYTES)
                await self._forwarding.wait()
                await link.forwarding.wait()
                if not data:
                    # orderly EOF: pass the half-close on, like a real path would
                    if dst.can_write_eof():
                        dst.write_eof()
                    return
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            # one side reset: reset the other too, as a router losing state would
            self._cut(link)
        finally:
            if link in self._links and all(t.done() or t is asyncio.current_task()
                                           for t in link.tasks):
                # both directions finished with EOF: close quietly
                self._links.discard(link)
                link.client.close()
                link.upstream.close()
