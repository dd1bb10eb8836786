"""Client throughput: pushes per second through the Python client library, both shells.

Usage::

    .venv/bin/python bench/client.py --events 20000

What it measures is the client's own cost per push — decoding the frame, classifying it,
the cursor and, for a group member, the ack frame it sends back — with no Switchboard server
and no IMAP server in the way. A tiny scripted peer in its own process (plain ``websockets``
on uvloop) answers ``watchAll`` and then sends ``--events`` ``newMessage`` frames, each with an
``eventId`` and a ``summary``, as fast as its socket takes them; it answers every ``ack`` with
``acked``. Three consumers, one after the other, each on a fresh connection:

* ``aio``: ``switchboard.aio`` ``events()`` with auto-ack, a plain subscriber (no ack frames);
* ``aio group``: the same as a group member, so each push is answered by an ``ack`` frame;
* ``threaded``: ``switchboard.Client`` with ``received_unsolicited`` counting pushes.

The floor, in the same run: a raw ``websockets`` client that counts the same frames without
decoding them. For each consumer the best of ``--rounds`` is kept, both as pushes per second
(wall clock) and as CPU microseconds per push spent in this process (``time.process_time``: all
threads, the floor's own WebSocket cost included) — the steadier figure on a shared machine. The
last line prints each consumer's pushes/s and CPU µs/push, and the floor's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from _common import Child, machine
from websockets.asyncio.client import connect

import switchboard
import switchboard.aio


def push_frame(event_id: int) -> str:
    args = {
        "mailboxId": "INBOX!1700000000",
        "messageId": f"INBOX!1700000000?{event_id}",
        "account": "bench@example.com",
        "eventId": event_id,
        "summary": {"subject": f"Message {event_id}", "from": "Ann Example <ann@example.com>",
                    "date": "Tue, 03 Jun 2014 10:00:00 -0700", "size": 1234},
    }
    return json.dumps([["newMessage", args]], separators=(",", ":"))


async def serve_peer(events: int) -> None:
    """The scripted peer: on each watch, reply, then send ``events`` pushes; answer acks."""
    from websockets.asyncio.server import ServerConnection, serve

    frames = [push_frame(i) for i in range(1, events + 1)]

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            request = json.loads(message)
            replies = []
            watch = False
            for method, args, tag in request:
                if method == "ack":
                    replies.append(["acked", {"eventIds": args["eventIds"]}, tag])
                else:
                    replies.append(["watchingAll", {}, tag])
                    watch = True
            await ws.send(json.dumps(replies, separators=(",", ":")))
            if watch:
                for i, frame in enumerate(frames):
                    await ws.send(frame)
                    if i % 64 == 0:
                        await asyncio.sleep(0)  # let the acks in, as a server would

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"READY port={port}", flush=True)
        await asyncio.Future()  # until SIGTERM


async def floor(url: str, events: int) -> float:
    async with connect(url, compression=None, max_size=None, ping_interval=None) as ws:
        start = time.perf_counter()
        await ws.send('[["watchAll",{},0]]')
        await ws.recv()
        for _ in range(events):
            await ws.recv()
        return time.perf_counter() - start


async def aio_consumer(url: str, events: int, group: str | None) -> float:
    async with switchboard.aio.connect(url, timeout_s=60, max_queue=events + 10) as sb:
        start = time.perf_counter()
        await sb.watch_all(group=group)
        count = 0
        async for _push in sb.events():
            count += 1
            if count == events:
                break
        elapsed = time.perf_counter() - start
    return elapsed


def threaded_consumer(url: str, events: int) -> float:
    done = threading.Event()

    class Counter(switchboard.Client):
        count = 0

        def received_unsolicited(self, resps: Any) -> None:
            self.count += 1
            if self.count == events:
                done.set()

    client = Counter(url)
    client.connect()
    start = time.perf_counter()
    client.send_cmds(("watchAll", {}))
    if not done.wait(120):
        raise RuntimeError(f"only {client.count} of {events} pushes came")
    elapsed = time.perf_counter() - start
    client.close()
    client.run_forever()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many per consumer")
    parser.add_argument("--serve-peer", type=int, metavar="EVENTS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import uvloop

    if args.serve_peer is not None:
        uvloop.run(serve_peer(args.serve_peer))
        return
    results: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def measured(run: Callable[[], float]) -> tuple[float, float]:
        before = time.process_time()
        elapsed = run()
        return elapsed, time.process_time() - before

    with Child([sys.executable, __file__, "--serve-peer", str(args.events)]) as child:
        url = f"ws://127.0.0.1:{child.info['port']}/workers"
        runs = {
            "floor": lambda: asyncio.run(floor(url, args.events)),
            "aio": lambda: asyncio.run(aio_consumer(url, args.events, None)),
            "aio group": lambda: asyncio.run(aio_consumer(url, args.events, "bench")),
            "threaded": lambda: threaded_consumer(url, args.events),
        }
        for name, run in runs.items():
            rounds = [measured(run) for _ in range(args.rounds)]
            results[name] = min(elapsed for elapsed, _ in rounds)
            cpu[name] = min(used for _, used in rounds) / args.events * 1e6
            rate = args.events / results[name]
            print(f"{name:<10} {args.events} pushes in {results[name] * 1000:8.1f} ms: "
                  f"{rate:8.0f} pushes/s, {cpu[name]:6.1f} CPU µs/push", file=sys.stderr)
    print(f"client: {args.events} pushes per round, best of {args.rounds}, peer in its own "
          f"process (websockets on uvloop), consumer on asyncio in this one; {machine()}")
    base = args.events / results["floor"]
    ratios = "; ".join(f"{name}: {args.events / s:.0f} pushes/s = {args.events / s / base:.2f}x, "
                       f"{cpu[name]:.1f} CPU µs/push" for name, s in results.items()
                       if name != "floor")
    print(f"client vs raw websockets floor ({base:.0f} pushes/s, {cpu['floor']:.1f} CPU µs/push): "
          f"{ratios}")


if __name__ == "__main__":
    main()
