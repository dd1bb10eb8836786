"""switchboard.runloop: the event loop of every command, and its one way to stop on a signal.

The signals are real: the test process sends SIGINT/SIGTERM to itself while the handlers of
``run_until_signalled`` are installed (and checks they are removed afterwards, so a later Ctrl-C
reaches pytest as usual).
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import subprocess
import sys

import pytest

from switchboard.runloop import STOP_SIGNALS, run_async, run_until_signalled

WAIT_S = 5.0


@pytest.mark.parametrize("uvloop_installed", [True, False])
def test_run_async_error_is_not_chained_to_the_uvloop_import(
    uvloop_installed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not uvloop_installed:
        monkeypatch.setitem(sys.modules, "uvloop", None)
    loops: list[str] = []

    async def fail() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError) as raised:
        run_async(fail)
    assert raised.value.__context__ is None
    assert raised.value.__cause__ is None
    assert loops[0].startswith("uvloop") is uvloop_installed


def handlers_installed() -> bool:
    """Whether the event loop owns the stop signals' handlers right now."""
    return signal.getsignal(signal.SIGINT) is not signal.default_int_handler


async def started(task: asyncio.Task[object]) -> None:
    """Let ``task`` reach its first await, by which time the handlers are installed."""
    for _ in range(10):
        await asyncio.sleep(0)
    assert not task.done()
    assert handlers_installed()


async def test_a_body_that_finishes_returns_its_value_and_removes_the_handlers() -> None:
    async def body() -> int:
        await asyncio.sleep(0)
        return 7

    assert await run_until_signalled(body()) == 7
    assert not handlers_installed()


@pytest.mark.parametrize("signum", STOP_SIGNALS)
async def test_a_signal_cancels_the_body_lets_it_clean_up_and_returns_none(signum: int) -> None:
    said: list[str] = []
    cleaned = asyncio.Event()

    async def body() -> int:
        try:
            await asyncio.Event().wait()
        finally:
            said.append("cleaning up")
            await asyncio.sleep(0.01)  # the cleanup awaits, as LOGOUT does
            cleaned.set()
        return 1  # pragma: no cover - the wait never ends by itself

    runner = asyncio.create_task(run_until_signalled(body(), on_signal=lambda: said.append("stop")))
    await started(runner)
    os.kill(os.getpid(), signum)
    assert await asyncio.wait_for(runner, WAIT_S) is None
    assert cleaned.is_set()
    assert said == ["stop", "cleaning up"]
    assert not handlers_installed()


async def test_a_second_signal_does_not_interrupt_the_cleanup() -> None:
    stops: list[int] = []
    cleanup_started = asyncio.Event()
    may_finish = asyncio.Event()

    async def body() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleanup_started.set()
            await may_finish.wait()

    runner = asyncio.create_task(run_until_signalled(body(), on_signal=lambda: stops.append(1)))
    await started(runner)
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(cleanup_started.wait(), WAIT_S)
    os.kill(os.getpid(), signal.SIGTERM)  # still ours: handled, ignored
    await asyncio.sleep(0.05)
    assert not runner.done()
    may_finish.set()
    assert await asyncio.wait_for(runner, WAIT_S) is None
    assert stops == [1]


async def test_without_a_body_it_waits_for_the_signal() -> None:
    runner = asyncio.create_task(run_until_signalled())
    await started(runner)
    await asyncio.sleep(0.05)
    assert not runner.done()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(runner, WAIT_S) is None
    assert not handlers_installed()


async def test_cancelled_from_outside_it_cancels_the_body_and_raises() -> None:
    stops: list[int] = []
    body_cancelled = asyncio.Event()

    async def body() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            body_cancelled.set()
            raise

    runner = asyncio.create_task(run_until_signalled(body(), on_signal=lambda: stops.append(1)))
    await started(runner)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert body_cancelled.is_set()
    assert stops == []
    assert not handlers_installed()


async def test_what_the_body_raises_comes_out() -> None:
    async def body() -> None:
        await asyncio.sleep(0)
        raise ValueError("bad configuration")

    with pytest.raises(ValueError, match="bad configuration"):
        await run_until_signalled(body())
    assert not handlers_installed()


async def test_a_signal_sent_on_the_ready_announcement_is_caught() -> None:
    # What a script does on reading "READY port=…": the handlers are already in place.
    announced: list[str] = []

    def ready() -> None:
        announced.append("READY")
        os.kill(os.getpid(), signal.SIGTERM)

    stopped = await asyncio.wait_for(run_until_signalled(ready=ready), WAIT_S)
    assert stopped is None
    assert announced == ["READY"]
    assert not handlers_installed()


async def test_a_failing_announcement_cancels_the_body_and_removes_the_handlers() -> None:
    started_body = []

    async def body() -> None:
        started_body.append(1)
        await asyncio.Event().wait()

    def ready() -> None:
        raise BrokenPipeError("stdout closed")

    with pytest.raises(BrokenPipeError):
        await run_until_signalled(body(), ready=ready)
    assert started_body == []  # cancelled before it ran
    assert not handlers_installed()


# A child process frees a 1 MiB block (glibc then serves blocks up to 1 MiB from its heap)
# and allocates 256 KiB, uvloop's read buffer of one TLS connection: is it a mapping of its own
# or inside [heap]? With the threshold pinned first, it must stay a mapping.
_WHERE_IS_256K = """
import ctypes, sys
from switchboard.runloop import pin_mmap_threshold
pinned = pin_mmap_threshold() if sys.argv[1] == "pin" else False
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(1 << 20))
block = libc.malloc(256 * 1024)
heap = False
with open("/proc/self/maps") as maps:
    for line in maps:
        low, high = (int(x, 16) for x in line.split()[0].split("-"))
        if low <= block < high:
            heap = line.rstrip().endswith("[heap]")
print(pinned, "heap" if heap else "mapping")
"""


def _where_is_256k(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _WHERE_IS_256K, mode],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return done.stdout.strip()


def test_pinned_mmap_threshold_keeps_a_tls_read_buffer_out_of_the_heap() -> None:
    if platform.libc_ver()[0] != "glibc":  # e.g. musl or macOS: nothing to pin, nothing done
        assert _where_is_256k("pin").startswith("False")
        return
    assert _where_is_256k("free") == "False heap"  # glibc's dynamic threshold at work
    assert _where_is_256k("pin") == "True mapping"
