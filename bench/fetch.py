"""Fetch throughput: ``getMessages`` with ``raw`` through Switchboard vs stdlib ``imaplib`` direct.

Usage::

    .venv/bin/python bench/fetch.py --messages 1000 --message-bytes 10000

``bench/fake_imap.py`` (its own process, plain IMAP) serves one INBOX of ``--messages`` messages
of about ``--message-bytes`` each. The peer: ``imaplib`` in this process, logged in and SELECTed
beforehand, times ``UID FETCH 1:* (BODY.PEEK[])``. Ours: a worker (``switchboard.aio``) asks the
real server (``bench/serve.py``, its own process) for ``getMessages`` of the same ids with
``["raw"]``; the server fetches over its warm command connection, encodes JSON, and the worker
decodes it. Each side runs ``--rounds`` times after one warm-up, the two sides taking turns
round by round (the order swapped every round), so that a busy spell of a shared machine falls
on both; the medians are compared. The CPU the server process and the worker spent per round is
reported too: on a shared, busy machine it varies far less than the elapsed time.

Target (issue 14): ours >= 0.5x imaplib's throughput, as JSON. The last line prints the ratio;
``--json PATH`` writes the figures for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import imaplib
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    CLOCK_TICKS_PER_S,
    add_json_option,
    fake_imap,
    machine,
    proc_cpu_s,
    raise_fd_limit,
    row,
    switchboard_server,
    write_json,
)

from switchboard.client.aio import AsyncClient

PASSWORD = "secret"
USER = "fetch@bench.example"
TARGET_RATIO = 0.5
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
Cpu = tuple[float, float]  # (server, worker) CPU seconds of one getMessages


class ImaplibPeer:
    """stdlib imaplib, logged in and SELECTed beforehand, fetching ``1:messages`` whole."""

    def __init__(self, port: int, messages: int) -> None:
        self.messages = messages
        self.imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
        self.imap.login(USER, PASSWORD)
        self.imap.select("INBOX", readonly=True)

    def fetch(self) -> tuple[float, list[bytes]]:
        """One timed ``UID FETCH 1:n (BODY.PEEK[])``: (seconds, the bodies)."""
        start = time.perf_counter()
        typ, data = self.imap.uid("FETCH", f"1:{self.messages}", "(BODY.PEEK[])")
        elapsed = time.perf_counter() - start
        bodies = [item[1] for item in data if isinstance(item, tuple)]
        if typ != "OK" or len(bodies) != self.messages:
            raise RuntimeError(f"imaplib fetched {len(bodies)} of {self.messages}: {typ}")
        return elapsed, bodies

    def close(self) -> None:
        self.imap.logout()


def uidvalidity(port: int) -> int:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    imap.login(USER, PASSWORD)
    typ, data = imap.status("INBOX", "(UIDVALIDITY)")
    imap.logout()
    match = _UIDVALIDITY.search(data[0] if isinstance(data[0], bytes) else b"")
    if typ != "OK" or match is None:
        raise RuntimeError(f"STATUS failed: {data!r}")
    return int(match.group(1))


class Rounds:
    """Each side's times, and what the last round fetched (to check both got the same bytes)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.total = 0
        self.first = b""

    def add(self, elapsed: float, bodies: list[bytes]) -> None:
        self.times.append(elapsed)
        self.total, self.first = sum(len(b) for b in bodies), bodies[0]


async def run_rounds(url: str, peer: ImaplibPeer, port: int, ids: list[str], rounds: int,
                     server_pid: int) -> tuple[Rounds, Rounds, list[Cpu]]:
    """Time ``rounds`` imaplib fetches and getMessages, taking turns; also the CPU of each call."""
    theirs, ours = Rounds(), Rounds()
    cpu: list[Cpu] = []
    async with AsyncClient(url, timeout_s=120) as client:
        auth = {"type": "plain", "username": USER, "password": PASSWORD}
        await client.call("connect", {"host": "127.0.0.1", "port": port, "auth": auth,
                                      "ssl": False})

        async def get_messages() -> None:
            cpu_start = proc_cpu_s(server_pid), time.process_time()
            start = time.perf_counter()
            reply = await client.call("getMessages", {"account": USER, "ids": ids,
                                                      "properties": ["raw"]})
            elapsed = time.perf_counter() - start
            cpu.append((proc_cpu_s(server_pid) - cpu_start[0], time.process_time() - cpu_start[1]))
            raws = [m["raw"].encode() for m in reply["list"]]
            if len(raws) != len(ids):
                raise RuntimeError(f"getMessages returned {len(raws)} of {len(ids)}")
            ours.add(elapsed, raws)

        # The first round of each warms up (and opens the command connection): not counted.
        peer.fetch()
        await get_messages()
        ours.times.clear()
        cpu.clear()
        for n in range(rounds):
            if n % 2:
                await get_messages()
                theirs.add(*peer.fetch())
            else:
                theirs.add(*peer.fetch())
                await get_messages()
    return theirs, ours, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--message-bytes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    add_json_option(parser)
    args = parser.parse_args()
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with fake_imap(tmp / "cert.pem", initial_messages=args.messages,
                       body_pad_bytes=args.message_bytes) as imap, \
                switchboard_server(tmp / "data") as server:
            port = int(imap.info["port"])
            validity = uidvalidity(port)
            ids = [f"INBOX!{validity}?{uid}" for uid in range(1, args.messages + 1)]
            peer_imap = ImaplibPeer(port, args.messages)
            import uvloop

            theirs, ours_rounds, our_cpu = uvloop.run(run_rounds(
                f"ws://127.0.0.1:{server.info['port']}/workers", peer_imap, port, ids,
                args.rounds, server.pid))
            peer_imap.close()
    peer, peer_bytes, peer_first = theirs.times, theirs.total, theirs.first
    ours, our_bytes, our_first = ours_rounds.times, ours_rounds.total, ours_rounds.first
    if our_first != peer_first or our_bytes != peer_bytes:
        print(f"MISMATCH: imaplib {peer_bytes} bytes, getMessages {our_bytes} bytes",
              file=sys.stderr)
        raise SystemExit(1)
    peer_s, ours_s = statistics.median(peer), statistics.median(ours)
    mb = peer_bytes / 1e6
    print(f"fetch: {args.messages} messages, {mb:.1f} MB raw, median of {args.rounds} rounds; "
          f"{machine()}")
    print(f"  imaplib UID FETCH (BODY.PEEK[])     {peer_s * 1000:8.1f} ms  {mb / peer_s:7.1f} MB/s"
          f"  {args.messages / peer_s:8.0f} msg/s  (best {min(peer) * 1000:.1f} ms)")
    print(f"  Switchboard getMessages ['raw']     {ours_s * 1000:8.1f} ms  {mb / ours_s:7.1f} MB/s"
          f"  {args.messages / ours_s:8.0f} msg/s  (best {min(ours) * 1000:.1f} ms)")
    # The mean, not the median: /proc counts the server's CPU in clock ticks (10 ms).
    server_cpu_ms = statistics.fmean(c[0] for c in our_cpu) * 1000
    worker_cpu_ms = statistics.fmean(c[1] for c in our_cpu) * 1000
    print(f"  CPU per getMessages: server {server_cpu_ms:.1f} ms, worker {worker_cpu_ms:.1f} ms"
          f"  (mean of {args.rounds}; the server's counted in {1000 / CLOCK_TICKS_PER_S:.0f} ms "
          f"ticks)")
    ratio = peer_s / ours_s
    size = f"{args.messages} x {args.message_bytes / 1000:g} KB"
    write_json(args.json, "fetch", [row(
        f"getMessages raw, {size}", ours_s * 1000, "ms", floor=peer_s * 1000,
        floor_name="stdlib imaplib UID FETCH", vs=ratio, target=f">= {TARGET_RATIO:g}x",
        met=ratio >= TARGET_RATIO)], {
        "messages": args.messages, "mb": mb, "rounds": args.rounds,
        "imaplib_ms": peer_s * 1000, "imaplib_best_ms": min(peer) * 1000,
        "ours_ms": ours_s * 1000, "ours_best_ms": min(ours) * 1000,
        "server_cpu_ms": server_cpu_ms, "worker_cpu_ms": worker_cpu_ms})
    print(f"getMessages raw throughput vs imaplib: {ratio:.2f}x (target >= {TARGET_RATIO:.1f}x: "
          f"{'ok' if ratio >= TARGET_RATIO else 'MISSED'})")


if __name__ == "__main__":
    main()
