"""Helpers for the worker tests on the ``server`` fixture (tests/conftest.py): run a worker.

:class:`FrameRecorder` sits between a worker and the real server and records the frames the worker
sends, so a test can say which commands a worker used (an SMS worker sends no ``getMessages``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from switchboard.server.app import SwitchboardServer
from switchboard.workers.runner import Handler, run_worker
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import plain

READY_TIMEOUT_S = 20.0


def workers_url(server: SwitchboardServer) -> str:
    return f"ws://127.0.0.1:{server.port}/workers"


def account(dovecot: DovecotServer, user: ImapUser) -> dict[str, Any]:
    return plain(dovecot, user.username, user.password)


@contextlib.asynccontextmanager
async def running_worker(
    handler: Handler,
    server: SwitchboardServer,
    dovecot: DovecotServer,
    user: ImapUser,
    properties: Sequence[str],
    url: str | None = None,
    **kwargs: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``handler`` on the real runner in a task; yield once its watches are in place."""
    ready = asyncio.Event()
    task = asyncio.create_task(run_worker(
        handler, url=url or workers_url(server), accounts=[account(dovecot, user)],
        properties=properties, ready=ready, **kwargs))
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            done = asyncio.create_task(ready.wait())
            await asyncio.wait({done, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                done.cancel()
                task.result()  # raises the worker's startup error
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def append(dovecot: DovecotServer, user: ImapUser, raw: bytes) -> int:
    return await asyncio.to_thread(dovecot.append, user, raw)


class FrameRecorder:
    """A WebSocket relay to ``upstream`` that records every frame its clients send."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.sent: list[str] = []
        self._server: Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/workers"

    def commands(self) -> list[list[Any]]:
        """Every command sent so far, ``[method, args, tag]``, in order."""
        return [command for frame in self.sent for command in json.loads(frame)]

    async def _relay(self, client: ServerConnection) -> None:
        async with connect(self.upstream, max_size=None) as server:

            async def pump(source: Any, sink: Any, record: bool) -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for frame in source:
                        if record:
                            self.sent.append(frame)
                        await sink.send(frame)
                await sink.close()

            await asyncio.gather(pump(client, server, True), pump(server, client, False))

    async def __aenter__(self) -> FrameRecorder:
        self._server = await serve(self._relay, "127.0.0.1", 0, max_size=None)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
