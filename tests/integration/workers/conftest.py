"""Helpers for the worker tests on the ``server`` fixture (tests/conftest.py): run a worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from switchboard.server.app import SwitchboardServer
from switchboard.workers.runner import WorkerEvent, run_worker
from tests.support.dovecot import DovecotServer, ImapUser
from tests.support.switchboard import plain

READY_TIMEOUT_S = 20.0


def workers_url(server: SwitchboardServer) -> str:
    return f"ws://127.0.0.1:{server.port}/workers"


def account(dovecot: DovecotServer, user: ImapUser) -> dict[str, Any]:
    return plain(dovecot, user.username, user.password)


@contextlib.asynccontextmanager
async def running_worker(
    handler: Callable[[WorkerEvent], Awaitable[None]],
    server: SwitchboardServer,
    dovecot: DovecotServer,
    user: ImapUser,
    properties: Sequence[str],
    **kwargs: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``handler`` on the real runner in a task; yield once its watches are in place."""
    ready = asyncio.Event()
    task = asyncio.create_task(run_worker(
        handler, url=workers_url(server), accounts=[account(dovecot, user)],
        fetch_properties=properties, ready=ready, **kwargs))
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
