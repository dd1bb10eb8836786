"""The event loop a command runs on, and its clean stop on SIGINT or SIGTERM.

Every long-running command — ``switchboard serve``, ``demo``, ``watch``, the workers' command
lines, the benchmark launchers — stops the same way: the first SIGINT (Ctrl-C) or SIGTERM
cancels what it runs, whose ``finally`` blocks then close everything in order (LOGOUT, state
flushed, sockets closed), without a traceback. This module is that one way. It sits at the
root, below every layer that runs a loop, and imports nothing of Switchboard but
:mod:`switchboard.extras`: the demo and the workers use it without importing the command line
(``switchboard.cli``, which only ``__main__`` imports; the import contracts in
``pyproject.toml`` check it).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final, TypeVar

from switchboard.extras import is_installed
from switchboard.gcpolicy import GcPolicy

__all__ = [
    "MMAP_THRESHOLD_BYTES",
    "STOP_SIGNALS",
    "pin_mmap_threshold",
    "run_async",
    "run_until_signalled",
]

STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)
"""The signals that ask a command to stop: Ctrl-C, and what service managers send."""

T = TypeVar("T")


def run_async(main_coroutine: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main_coroutine`` on uvloop when installed (``imap.tls``: less memory per TLS link),
    with glibc's mmap threshold pinned (:func:`pin_mmap_threshold`) and the garbage collector's
    policy for a long-running process (:class:`~switchboard.gcpolicy.GcPolicy`).

    Args:
        main_coroutine: called once inside the new loop, so what it creates binds to that loop.
    """
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if is_installed("uvloop"):  # the ``fast`` extra
        import uvloop

        loop_factory = uvloop.new_event_loop
        pin_mmap_threshold()
    # Outside any ``except ImportError``: an error raised while running must not be chained to
    # the ImportError of a missing uvloop in its traceback.
    gc_policy = GcPolicy()
    gc_policy.install()
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main_coroutine())
    finally:
        gc_policy.uninstall()


_M_MMAP_THRESHOLD: Final = -3  # glibc's malloc.h
MMAP_THRESHOLD_BYTES: Final = 128 * 1024
"""glibc's default: a block this large or larger is its own mapping, returned at free."""


def pin_mmap_threshold() -> bool:
    """Keep glibc's malloc mapping blocks of 128 KiB and more, for the whole process.

    Why: uvloop gives each TLS connection a 256 KiB read buffer, of which an idle connection
    touches a few pages. As its own mapping only those pages are resident. But glibc raises its
    threshold to the size of any mapped block freed (up to 32 MiB), and compiling a large
    module at import (no ``.pyc``) frees such blocks: the buffers then come from the heap and
    idle accounts cost about a third more memory (47 -> 64 KB each in ``bench/capacity.py``),
    depending only on how big the source files happen to be. A fixed threshold ends that.

    Returns:
        Whether it was set (``False`` off glibc, e.g. musl or macOS: nothing to do there).
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # set by glibc only
            return False
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, ValueError, AttributeError):  # no such confstr name, or no mallopt
        return False


async def run_until_signalled(
    body: Awaitable[T] | None = None,
    *,
    ready: Callable[[], None] | None = None,
    on_signal: Callable[[], None] | None = None,
) -> T | None:
    """Await ``body`` until it finishes or SIGINT/SIGTERM arrives; without a body, the signal.

    The first signal calls ``on_signal`` (to say "stopping…" at once), then cancels ``body`` and
    waits for it to unwind; later signals are ignored, so a second Ctrl-C cannot interrupt the
    cleanup. The handlers are removed on the way out, whatever happens, and ``body`` never
    outlives the call.

    Args:
        body: what to run; ``None`` just waits for a signal (a server that runs on its own
            tasks and stops in the caller's ``finally``).
        ready: called once the handlers are installed, before the wait. Announce readiness
            here (``READY port=…``): a signal sent by whoever reads the announcement is then
            always caught, never the default action that kills the process without cleanup.
        on_signal: called once, from the event loop, when the first signal arrives.

    Returns:
        What ``body`` returned when it finished on its own (or caught the cancellation and
        returned); ``None`` when a signal stopped it.

    Raises:
        asyncio.CancelledError: the caller was cancelled from elsewhere (``body`` is cancelled
            with it).
        Exception: whatever ``body`` or ``ready`` raised.
    """
    loop = asyncio.get_running_loop()
    # Without a body, a future nothing completes: only the signal's cancel ends the wait.
    task: asyncio.Future[Any] = (
        loop.create_future() if body is None else asyncio.ensure_future(body)
    )
    signalled = False

    def stop() -> None:
        nonlocal signalled
        if signalled:
            return
        signalled = True
        if on_signal is not None:
            on_signal()
        task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop)
    try:
        if ready is not None:
            ready()
        result: T = await task
        return result
    except asyncio.CancelledError:
        if signalled and not _cancelling():
            return None
        raise  # cancelled from outside, not by a signal
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        if not task.done():  # ``ready`` raised, or we were cancelled while the body unwinds
            task.cancel()
            await asyncio.wait([task])


def _cancelling() -> bool:
    """Whether the running task itself was asked to cancel (not only the body we cancelled)."""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
