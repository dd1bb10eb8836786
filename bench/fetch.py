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

Raw bytes without JSON (issue 14 §4): the same messages through JMAP downloads
(``GET /jmap/download/{accountId}/{blobId}/{name}``, RFC 8620 §6.2), as a JMAP client gets
them once ``Email/get`` gave it the ``blobId``s. A client has no way to ask for many blobs at
once, so it does what an HTTP client does with many URLs: ``--download-parallel`` requests at a
time over as many kept-alive connections (``httpx``, HTTP/1.1), against the same one
``UID FETCH`` of imaplib. And one large message (``--large-message-bytes``, 10 MB by default, on
a second fake IMAP server), one download against imaplib's ``UID FETCH n (BODY.PEEK[])`` of it.
The downloads authenticate with the mail login (HTTP Basic); each side's rounds alternate as
above.

Targets (issue 14): ``getMessages`` >= 0.5x imaplib's throughput, as JSON; downloads >= 0.9x.
The last lines print the ratios; ``--json PATH`` writes the figures for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
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
from switchboard.jmap.ids import account_id, blob_id, email_id

PASSWORD = "secret"
USER = "fetch@bench.example"
LARGE_USER = "large@bench.example"
TARGET_RATIO = 0.5
DOWNLOAD_TARGET_RATIO = 0.9
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
Cpu = tuple[float, float]  # (server, worker) CPU seconds of one getMessages


class ImaplibPeer:
    """stdlib imaplib, logged in and SELECTed beforehand, fetching ``1:messages`` whole."""

    def __init__(self, port: int, messages: int, user: str = USER) -> None:
        self.messages = messages
        self.imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
        self.imap.login(user, PASSWORD)
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


def uidvalidity(port: int, user: str = USER) -> int:
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=60)
    imap.login(user, PASSWORD)
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


async def connect_account(url: str, port: int, user: str) -> None:
    """Add the account through a worker's ``connect`` (its HTTP Basic login then matches)."""
    async with AsyncClient(url, timeout_s=120) as client:
        auth = {"type": "plain", "username": user, "password": PASSWORD}
        await client.call("connect", {"host": "127.0.0.1", "port": port, "auth": auth,
                                      "ssl": False})


async def download_rounds(base_url: str, peer: ImaplibPeer, user: str, validity: int,
                          uids: list[int], rounds: int, parallel: int,
                          server_pid: int) -> tuple[Rounds, Rounds, list[Cpu]]:
    """Time ``rounds`` downloads of ``uids`` (``parallel`` at a time) against imaplib's fetch."""
    theirs, ours = Rounds(), Rounds()
    cpu: list[Cpu] = []
    account = account_id(user)
    # What Email/get gives a client as each message's blobId (the ids of plain mailbox names
    # are computed the same way; the time of that Email/get is not counted, like imaplib's
    # SELECT).
    paths = [f"/jmap/download/{account}/{blob_id(email_id('INBOX', validity, uid))}/{uid}.eml"
             for uid in uids]
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)
    async with httpx.AsyncClient(base_url=base_url, auth=httpx.BasicAuth(user, PASSWORD),
                                 limits=limits, timeout=120) as http:
        gate = asyncio.Semaphore(parallel)

        async def one(path: str) -> bytes:
            async with gate:
                response = await http.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
            return response.content

        async def download_all() -> None:
            cpu_start = proc_cpu_s(server_pid), time.process_time()
            start = time.perf_counter()
            bodies = await asyncio.gather(*(one(path) for path in paths))
            elapsed = time.perf_counter() - start
            cpu.append((proc_cpu_s(server_pid) - cpu_start[0], time.process_time() - cpu_start[1]))
            ours.add(elapsed, list(bodies))

        # One warm-up round each (and the connections opened), not counted.
        peer.fetch()
        await download_all()
        ours.times.clear()
        cpu.clear()
        for n in range(rounds):
            if n % 2:
                await download_all()
                theirs.add(*peer.fetch())
            else:
                theirs.add(*peer.fetch())
                await download_all()
    return theirs, ours, cpu


def same_bytes(what: str, theirs: Rounds, ours: Rounds) -> None:
    if ours.first != theirs.first or ours.total != theirs.total:
        print(f"MISMATCH ({what}): imaplib {theirs.total} bytes, ours {ours.total} bytes",
              file=sys.stderr)
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--message-bytes", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--download-rounds", type=int, default=3,
                        help="rounds of the downloads (0: no downloads)")
    parser.add_argument("--download-parallel", type=int, default=8,
                        help="downloads at a time, each on its kept-alive connection")
    parser.add_argument("--large-message-bytes", type=int, default=10_000_000,
                        help="the one large message downloaded (0: none)")
    add_json_option(parser)
    args = parser.parse_args()
    raise_fd_limit()
    downloads: list[tuple[str, Rounds, Rounds, list[Cpu]]] = []
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

            ws_url = f"ws://127.0.0.1:{server.info['port']}/workers"
            http_url = f"http://127.0.0.1:{server.info['port']}"
            theirs, ours_rounds, our_cpu = uvloop.run(run_rounds(
                ws_url, peer_imap, port, ids, args.rounds, server.pid))
            if args.download_rounds > 0:
                uids = list(range(1, args.messages + 1))
                downloads.append((
                    f"{args.messages} x {args.message_bytes / 1000:g} KB, "
                    f"{args.download_parallel} at a time",
                    *uvloop.run(download_rounds(
                        http_url, peer_imap, USER, validity, uids, args.download_rounds,
                        args.download_parallel, server.pid))))
            peer_imap.close()
            if args.download_rounds > 0 and args.large_message_bytes > 0:
                with fake_imap(tmp / "cert2.pem", initial_messages=1,
                               body_pad_bytes=args.large_message_bytes) as large:
                    large_port = int(large.info["port"])
                    uvloop.run(connect_account(ws_url, large_port, LARGE_USER))
                    large_peer = ImaplibPeer(large_port, 1, LARGE_USER)
                    downloads.append((
                        f"1 x {args.large_message_bytes / 1e6:g} MB",
                        *uvloop.run(download_rounds(
                            http_url, large_peer, LARGE_USER, uidvalidity(large_port, LARGE_USER),
                            [1], args.download_rounds, 1, server.pid))))
                    large_peer.close()
    peer, peer_bytes = theirs.times, theirs.total
    ours = ours_rounds.times
    same_bytes("getMessages", theirs, ours_rounds)
    for what, d_theirs, d_ours, _ in downloads:
        same_bytes(what, d_theirs, d_ours)
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
    rows = [row(
        f"getMessages raw, {size}", ours_s * 1000, "ms", floor=peer_s * 1000,
        floor_name="stdlib imaplib UID FETCH", vs=ratio, target=f">= {TARGET_RATIO:g}x",
        met=ratio >= TARGET_RATIO)]
    figures: dict[str, object] = {
        "messages": args.messages, "mb": mb, "rounds": args.rounds,
        "imaplib_ms": peer_s * 1000, "imaplib_best_ms": min(peer) * 1000,
        "ours_ms": ours_s * 1000, "ours_best_ms": min(ours) * 1000,
        "server_cpu_ms": server_cpu_ms, "worker_cpu_ms": worker_cpu_ms}
    verdicts: list[str] = []
    for what, d_theirs, d_ours, d_cpu in downloads:
        d_peer_s, d_ours_s = statistics.median(d_theirs.times), statistics.median(d_ours.times)
        d_mb = d_theirs.total / 1e6
        d_ratio = d_peer_s / d_ours_s
        print(f"downloads: {what}, {d_mb:.1f} MB raw, median of {args.download_rounds} rounds")
        print(f"  imaplib UID FETCH (BODY.PEEK[])     {d_peer_s * 1000:8.1f} ms  "
              f"{d_mb / d_peer_s:7.1f} MB/s  (best {min(d_theirs.times) * 1000:.1f} ms)")
        print(f"  Switchboard JMAP downloads          {d_ours_s * 1000:8.1f} ms  "
              f"{d_mb / d_ours_s:7.1f} MB/s  (best {min(d_ours.times) * 1000:.1f} ms)")
        d_server_ms = statistics.fmean(c[0] for c in d_cpu) * 1000
        d_client_ms = statistics.fmean(c[1] for c in d_cpu) * 1000
        print(f"  CPU per round: server {d_server_ms:.1f} ms, client {d_client_ms:.1f} ms")
        rows.append(row(
            f"raw download, {what}", d_ours_s * 1000, "ms", floor=d_peer_s * 1000,
            floor_name="stdlib imaplib UID FETCH", vs=d_ratio,
            target=f">= {DOWNLOAD_TARGET_RATIO:g}x", met=d_ratio >= DOWNLOAD_TARGET_RATIO))
        figures[f"download {what}"] = {
            "mb": d_mb, "imaplib_ms": d_peer_s * 1000, "ours_ms": d_ours_s * 1000,
            "server_cpu_ms": d_server_ms, "client_cpu_ms": d_client_ms}
        ok = "ok" if d_ratio >= DOWNLOAD_TARGET_RATIO else "MISSED"
        verdicts.append(f"raw download throughput vs imaplib, {what}: {d_ratio:.2f}x "
                        f"(target >= {DOWNLOAD_TARGET_RATIO:.1f}x: {ok})")
    write_json(args.json, "fetch", rows, figures)
    for verdict in verdicts:
        print(verdict)
    print(f"getMessages raw throughput vs imaplib: {ratio:.2f}x (target >= {TARGET_RATIO:.1f}x: "
          f"{'ok' if ratio >= TARGET_RATIO else 'MISSED'})")


if __name__ == "__main__":
    main()
