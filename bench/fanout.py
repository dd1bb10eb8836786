"""Fan-out: events per second from the engine to 1, 10 and 100 workers; frames and bytes per second.

Usage::

    .venv/bin/python bench/fanout.py --workers 1,10,100 --events 2000

``bench/fake_imap.py`` (own process, plain IMAP) and the real server (``bench/serve.py``, own
process) run ``--accounts`` accounts watched on INBOX. This process holds W workers, each a raw
WebSocket connection (``websockets``) that sent ``watchAll`` and counts ``newMessage`` frames
and their bytes without decoding them, so the workers cost as little as possible. A round
injects ``--events`` messages spread over the accounts (one IDLE wake per account) and ends
when every worker has counted them all: events/s = events / round time, and frames/s and
bytes/s are summed over the workers.

The floor, in the same run: a plain ``websockets`` server (own process) that broadcasts the
same number of frames of the same size to W connected clients, measured the same way. Its
rate is what the WebSocket library alone delivers on this machine; the last line prints our
deliveries/s against it. Each round also reports the CPU its server process spent per frame
delivered, which a busy shared machine disturbs far less than the elapsed time.

Target (issue 14): with one worker and 200-message wakes (``--events`` / ``--accounts`` = 200),
ours >= 0.5x the floor. ``--json PATH`` writes the figures for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from _common import (
    Child,
    Control,
    add_json_option,
    fake_imap,
    machine,
    proc_cpu_s,
    raise_fd_limit,
    row,
    switchboard_server,
    write_json,
)
from websockets.asyncio.client import ClientConnection, connect

from switchboard.client.aio import AsyncClient

PASSWORD = "secret"
# (seconds, frames, bytes, server CPU seconds) of one round over all workers
Result = tuple[float, int, int, float]
PUSH_PREFIX = '[["newMessage"'
TARGET_W1_RATIO = 0.5  # one worker: ours / floor


def user(i: int) -> str:
    return f"fan{i:03d}@bench.example"


async def count_frames(ws: ClientConnection, want: int, counts: list[int]) -> None:
    """Count push frames (and bytes) until ``want`` arrived; ``counts`` is [frames, bytes]."""
    while counts[0] < want:
        frame = await ws.recv()
        if isinstance(frame, str) and frame.startswith(PUSH_PREFIX):
            counts[0] += 1
            counts[1] += len(frame.encode())


async def open_workers(url: str, n: int, subscribe: bool) -> list[ClientConnection]:
    workers = []
    for _ in range(n):
        ws = await connect(url, max_size=None, compression=None, ping_interval=None)
        if subscribe:
            await ws.send('[["watchAll",{},1]]')
            reply = await ws.recv()
            if "watchingAll" not in str(reply):
                raise RuntimeError(f"watchAll refused: {reply!r}")
        workers.append(ws)
    return workers


async def measure_round(workers: list[ClientConnection], events: int,
                        start_round: Callable[[], Awaitable[None]], server_pid: int) -> Result:
    counts = [[0, 0] for _ in workers]
    readers = [asyncio.create_task(count_frames(ws, events, c)) for ws, c in zip(workers, counts,
                                                                                 strict=True)]
    cpu = proc_cpu_s(server_pid)
    start = time.perf_counter()
    await start_round()
    await asyncio.gather(*readers)
    elapsed = time.perf_counter() - start
    return (elapsed, sum(c[0] for c in counts), sum(c[1] for c in counts),
            proc_cpu_s(server_pid) - cpu)


async def ours(args: argparse.Namespace, tmp: Path) -> dict[int, Result]:
    results: dict[int, Result] = {}
    with fake_imap(tmp / "cert.pem") as imap, \
            switchboard_server(tmp / "data", command_rate_per_s=1e6) as server:
        control = Control(int(imap.info["control_port"]))
        url = f"ws://127.0.0.1:{server.info['port']}/workers"
        # The set-up worker leaves once the accounts are watched: the accounts and their
        # watches stay (a worker pins them), and it would otherwise queue every push.
        async with AsyncClient(url, timeout_s=120) as admin:
            for i in range(args.accounts):
                auth = {"type": "plain", "username": user(i), "password": PASSWORD}
                await admin.send_cmds(
                    ("connect", {"host": "127.0.0.1", "port": int(imap.info["port"]),
                                 "auth": auth, "ssl": False}),
                    ("watchMailboxes", {"account": user(i), "list": ["INBOX"]}))
        idle = 0
        while idle < args.accounts:  # watchers start after watchMailboxes answers
            idle = int(control.ask("idling"))
            await asyncio.sleep(0.05)  # polling a counter in another process
        per_account = args.events // args.accounts
        total = per_account * args.accounts

        async def inject() -> None:
            await asyncio.to_thread(control.ask_many, [f"inject {user(i)} {per_account}"
                                                       for i in range(args.accounts)])

        workers: list[ClientConnection] = []
        for w in args.workers:
            workers += await open_workers(url, w - len(workers), subscribe=True)
            await measure_round(workers, total, inject, server.pid)  # warm-up round
            results[w] = await measure_round(workers, total, inject, server.pid)
            print(f"ours  W={w:<4} {report_line(results[w], total)}", file=sys.stderr)
        for ws in workers:
            await ws.close()
        control.close()
    return results


async def floor(args: argparse.Namespace, frame_bytes: int) -> dict[int, Result]:
    results: dict[int, Result] = {}
    per_account = args.events // args.accounts
    total = per_account * args.accounts
    with Child([sys.executable, __file__, "--serve-floor", str(frame_bytes)]) as child:
        url = f"ws://127.0.0.1:{child.info['port']}/"
        control = await connect(url + "control", max_size=None, ping_interval=None)

        workers: list[ClientConnection] = []
        for w in args.workers:
            workers += await open_workers(url, w - len(workers), subscribe=False)
            await control.send(json.dumps(["wait", len(workers)]))
            await control.recv()
            async def go() -> None:
                await control.send(json.dumps(["go", total]))

            await measure_round(workers, total, go, child.pid)  # warm-up round
            results[w] = await measure_round(workers, total, go, child.pid)
            print(f"floor W={w:<4} {report_line(results[w], total)}", file=sys.stderr)
        for ws in [*workers, control]:
            await ws.close()
    return results


async def serve_floor(frame_bytes: int) -> None:
    """The floor's server: broadcast ``go N`` frames of ``frame_bytes`` to every client."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()
    joined = asyncio.Condition()
    head = '[["newMessage",{"mailboxId":"INBOX!1","messageId":"INBOX!1?%d","p":"'
    pad = "x" * max(0, frame_bytes - len(head % 1000 + '"}]]'))  # same size as ours
    frame_template = head + pad

    def at_least(n: int) -> Callable[[], bool]:
        return lambda: len(clients) >= n

    async def handler(ws: ServerConnection) -> None:
        if ws.request is not None and ws.request.path == "/control":
            async for message in ws:
                verb, n = json.loads(message)
                if verb == "wait":
                    async with joined:
                        await joined.wait_for(at_least(int(n)))
                    await ws.send("ok")
                else:
                    for i in range(n):
                        broadcast(clients, frame_template % i + '"}]]')
                        if i % 64 == 0:
                            await asyncio.sleep(0)  # let the writers flush, as a server would
            return
        async with joined:
            clients.add(ws)
            joined.notify_all()
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"READY port={port}", flush=True)
        await asyncio.Future()  # until SIGTERM


def report_line(result: Result, events: int) -> str:
    elapsed, frames, nbytes, cpu_s = result
    return (f"{events} events in {elapsed * 1000:7.1f} ms: {events / elapsed:8.0f} events/s, "
            f"{frames / elapsed:8.0f} frames/s, {nbytes / elapsed / 1e6:6.2f} MB/s "
            f"({nbytes / max(frames, 1):.0f} B/frame); server CPU "
            f"{cpu_s * 1e6 / max(frames, 1):.1f} us/frame")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,10,100")
    parser.add_argument("--events", type=int, default=2000, help="per round")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--serve-floor", type=int, metavar="FRAME_BYTES", help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args()
    import uvloop

    if args.serve_floor is not None:
        uvloop.run(serve_floor(args.serve_floor))
        return
    args.workers = sorted(int(w) for w in args.workers.split(","))
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        mine = uvloop.run(ours(args, Path(tmp)))
    frame_bytes = round(mine[args.workers[0]][2] / mine[args.workers[0]][1])
    base = uvloop.run(floor(args, frame_bytes))
    events = args.events // args.accounts * args.accounts
    print(f"fanout: {events} events per round over {args.accounts} accounts (fake_imap, plain), "
          f"server in its own process, workers in this one; {machine()}")
    for w in args.workers:
        print(f"  ours  W={w:<4} {report_line(mine[w], events)}")
        print(f"  floor W={w:<4} {report_line(base[w], events)}  (websockets broadcast alone)")
    per_wake = args.events // args.accounts
    rows, figures = [], {}
    for w in args.workers:
        ours_fps, floor_fps = mine[w][1] / mine[w][0], base[w][1] / base[w][0]
        ratio = ours_fps / floor_fps
        rows.append(row(f"fan-out W={w}, {per_wake}-message wakes", ours_fps, "frames/s",
                        floor=floor_fps, floor_name="websockets broadcast alone", vs=ratio,
                        target=f">= {TARGET_W1_RATIO:g}x" if w == 1 else "",
                        met=ratio >= TARGET_W1_RATIO if w == 1 else None))
        figures[f"W={w}"] = {
            "ours": dict(zip(("s", "frames", "bytes", "server_cpu_s"), mine[w], strict=True)),
            "floor": dict(zip(("s", "frames", "bytes", "server_cpu_s"), base[w], strict=True))}
    write_json(args.json, "fanout", rows, {"events": events, "accounts": args.accounts,
                                           "rounds": figures})
    ratios = "; ".join(f"W={w}: {mine[w][1] / mine[w][0]:.0f} vs {base[w][1] / base[w][0]:.0f} "
                       f"frames/s = {(mine[w][1] / mine[w][0]) / (base[w][1] / base[w][0]):.2f}x"
                       for w in args.workers)
    print(f"fanout deliveries/s ours vs websockets-only floor: {ratios}")


if __name__ == "__main__":
    main()
